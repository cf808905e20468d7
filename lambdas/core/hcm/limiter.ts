export interface AdaptiveLimiterOptions {
  /** Requests in flight at most: a fixed cap that protects a slow server (default 16). */
  concurrency?: number;
  /** Starting request rate, per second (default 10). */
  initialRate?: number;
  /** Floor of the rate, per second (default 0.5). */
  minRate?: number;
  /** Ceiling of the rate, per second (default 500). */
  maxRate?: number;
  /**
   * Additive increase: requests/s gained per second of sending at the full rate (default 0.5). Only
   * successes of requests that had to wait for the pacer count: a rate nobody uses proves nothing.
   */
  increasePerSecond?: number;
  /** Multiplicative decrease of the rate on a throttle (default 0.7). */
  decrease?: number;
  /**
   * The 429s of one overload arrive together: throttles within this window after a decrease are
   * ignored, so one overload lowers the rate once, not once per request (default 1,000 ms).
   */
  cooldownMs?: number;
  now?: () => number;
}

export const LIMITER_DEFAULTS = {
  concurrency: 16,
  initialRate: 10,
  minRate: 0.5,
  maxRate: 500,
  increasePerSecond: 0.25,
  decrease: 0.7,
  cooldownMs: 1_000,
} as const;

interface Waiter {
  resolve: () => void;
  /** It queued behind the pacer (not a pause): its success is evidence that more rate is usable. */
  paced: boolean;
}

/**
 * Paces one client's HCM requests. A server rate limit (HCM answers 429 per OAuth client) counts
 * requests per second, not requests in flight: at 20-50 ms latency even one request in flight is
 * ~30 req/s, so a concurrency limit cannot settle under the limit. This is AIMD on the request
 * rate (as TCP congestion control, with the rate as the window): +increasePerSecond req/s per second
 * of paced successes, x decrease per throttle (once per cooldown). Several containers sharing one
 * client's limit converge to fair shares of it. A throttle's Retry-After pauses the whole pacer, so
 * one 429 does not turn into a burst of them. Requests leave in FIFO order, evenly spaced
 * (1/rate apart, no burst), and never more than `concurrency` at once.
 */
export class AdaptiveLimiter {
  private currentRate: number;
  private readonly cap: number;
  private readonly minRate: number;
  private readonly maxRate: number;
  private readonly increase: number;
  private readonly decrease: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private inFlightCount = 0;
  private readonly waiters: Waiter[] = [];
  private nextSlotAt = Number.NEGATIVE_INFINITY;
  private pausedUntil = 0;
  private lastDecreaseAt = Number.NEGATIVE_INFINITY;
  private pacedReleases = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(o: AdaptiveLimiterOptions = {}) {
    const d = LIMITER_DEFAULTS;
    this.cap = Math.max(1, Math.floor(o.concurrency ?? d.concurrency));
    this.minRate = Math.max(0.01, o.minRate ?? d.minRate);
    this.maxRate = Math.max(this.minRate, o.maxRate ?? d.maxRate);
    this.currentRate = clamp(o.initialRate ?? d.initialRate, this.minRate, this.maxRate);
    this.increase = o.increasePerSecond ?? d.increasePerSecond;
    this.decrease = o.decrease ?? d.decrease;
    this.cooldownMs = o.cooldownMs ?? d.cooldownMs;
    this.now = o.now ?? Date.now;
  }

  /** Requests per second the pacer lets through now. */
  get rate(): number {
    return this.currentRate;
  }

  /** Requests allowed in flight at once. */
  get limit(): number {
    return this.cap;
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  get queued(): number {
    return this.waiters.length;
  }

  /** Milliseconds the pacer still holds every request back for a Retry-After (0 when not paused). */
  get pausedForMs(): number {
    return Math.max(0, this.pausedUntil - this.now());
  }

  /**
   * Runs `fn` when the pacer and the concurrency cap allow. `first` puts it at the head of the queue:
   * a retry of a throttled request has waited its turn already.
   */
  async run<T>(fn: () => Promise<T>, o: { first?: boolean } = {}): Promise<T> {
    await this.acquire(o.first === true);
    try {
      return await fn();
    } finally {
      this.inFlightCount -= 1;
      this.pump();
    }
  }

  /** A 429: slow down (once per cooldown) and hold every request back for `pauseMs` (its Retry-After). */
  onThrottle(pauseMs?: number): void {
    const now = this.now();
    if (pauseMs !== undefined && pauseMs > 0) this.pausedUntil = Math.max(this.pausedUntil, now + pauseMs);
    // Successes of requests queued before the overload must not win the rate straight back.
    this.pacedReleases = 0;
    if (now - this.lastDecreaseAt >= this.cooldownMs) {
      this.lastDecreaseAt = now;
      this.currentRate = Math.max(this.minRate, this.currentRate * this.decrease);
    }
    this.pump();
  }

  /** A request the server accepted: +increasePerSecond per second's worth of paced successes. */
  onSuccess(): void {
    if (this.pacedReleases === 0) return;
    this.pacedReleases -= 1;
    this.currentRate = Math.min(this.maxRate, this.currentRate + this.increase / this.currentRate);
  }

  private acquire(first: boolean): Promise<void> {
    const now = this.now();
    const paced = this.pausedUntil <= now && (this.waiters.length > 0 || this.nextSlotAt > now);
    return new Promise<void>((resolve) => {
      const waiter = { resolve, paced };
      if (first) this.waiters.unshift(waiter);
      else this.waiters.push(waiter);
      this.pump();
    });
  }

  /** Releases waiters whose slot has come; otherwise arms one timer for the next slot. */
  private pump(): void {
    while (this.waiters.length > 0 && this.inFlightCount < this.cap) {
      const now = this.now();
      const at = Math.max(this.nextSlotAt, this.pausedUntil);
      if (at > now) {
        this.arm(at);
        return;
      }
      this.nextSlotAt = now + 1000 / this.currentRate;
      this.inFlightCount += 1;
      const waiter = this.waiters.shift()!;
      if (waiter.paced) this.pacedReleases += 1;
      waiter.resolve();
    }
  }

  private arm(at: number): void {
    // One timer at a time; an earlier one stays (pump re-checks and re-arms when it fires).
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(0, at - this.now()),
    );
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
