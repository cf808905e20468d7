export interface AdaptiveLimiterOptions {
  /** Requests in flight at most, fixed. Left out: the adaptive window (minConcurrency..maxConcurrency). */
  concurrency?: number;
  /** The adaptive window's floor (default 16): what a fast server ever needs. */
  minConcurrency?: number;
  /** The adaptive window's ceiling (default 64): a bound on sockets and memory, whatever the latency. */
  maxConcurrency?: number;
  /**
   * Starting request rate, per second (default 5): ten containers starting at once send 50 req/s, not
   * 100, so a run does not open with a storm of 429s; the slow start finds more in seconds.
   */
  initialRate?: number;
  /** Floor of the rate, per second (default 0.5). */
  minRate?: number;
  /** Ceiling of the rate, per second (default 500). */
  maxRate?: number;
  /**
   * Additive increase: requests/s gained per second of sending at the full rate (default 0.25). Only
   * successes of requests that had to wait for the pacer count: a rate nobody uses proves nothing.
   */
  increasePerSecond?: number;
  /**
   * Before the first throttle, the rate grows by this share of itself per second of paced sending
   * (default 0.1, +10%/s): with no limit known yet, a lone client gets from 5 to 50 req/s in ~25 s,
   * not in 3 minutes of additive increase.
   */
  slowStartGrowth?: number;
  /**
   * Multiplicative decrease of the rate on a throttle (default 0.6). With n containers sharing a limit
   * L, each throttles about n x increasePerSecond / ((1 - decrease) x L / n) times a second: the deeper
   * cut makes 429s rarer, and the limit's bucket absorbs the deeper dip.
   */
  decrease?: number;
  /**
   * The 429s of one overload arrive together: throttles within this window after a decrease are
   * ignored, so one overload lowers the rate once, not once per request (default 1,000 ms). Throttles
   * of requests that left before the last decrease are ignored too (onThrottle's `sentAt`): at a
   * real pod's latency (600 ms, p99 3 s) the 429s of one overload keep coming for longer than a second.
   */
  cooldownMs?: number;
  now?: () => number;
}

export const LIMITER_DEFAULTS = {
  minConcurrency: 16,
  maxConcurrency: 64,
  initialRate: 5,
  minRate: 0.5,
  maxRate: 500,
  increasePerSecond: 0.25,
  slowStartGrowth: 0.1,
  decrease: 0.6,
  cooldownMs: 1_000,
} as const;

/**
 * In flight = rate x mean latency (Little's law) only on average: the window allows this much more, so
 * a run of slow answers does not stall the pacer, and the pacer (not the window) keeps deciding the rate.
 */
const WINDOW_HEADROOM = 1.5;
/** Weight of one latency sample in the running mean: ~20 requests of memory, enough to follow a change. */
const LATENCY_EWMA_WEIGHT = 0.05;

interface Waiter {
  resolve: () => void;
  /** It queued behind the pacer (not a pause): its success is evidence that more rate is usable. */
  paced: boolean;
}

/**
 * Paces one client's HCM requests. A server rate limit (HCM answers 429 per OAuth client) counts
 * requests per second, not requests in flight: at 20-50 ms latency even one request in flight is
 * ~30 req/s, so a concurrency limit cannot settle under the limit. This is AIMD on the request
 * rate (as TCP congestion control, with the rate as the window): a slow start (+10%/s) until the
 * first throttle, then +increasePerSecond req/s per second of paced successes, x decrease per throttle
 * (once per cooldown). Every 429 is a request that wrote no goal: the deep decrease (x0.6) and the
 * gentle start keep ten containers on a 50 req/s limit at ~1.7% of requests throttled (x0.7 from
 * 10 req/s: ~2.4%), and the limit's bucket absorbs the deeper dips. Several containers sharing one
 * client's limit converge to fair shares of it. A throttle's Retry-After pauses the whole pacer, so
 * one 429 does not turn into a burst of them. Requests leave in FIFO order, evenly spaced
 * (1/rate apart, no burst), and never more than the in-flight window at once.
 *
 * The window adapts (unless `concurrency` fixes it): to send `rate` requests per second at a mean
 * latency L, rate x L of them must be in flight (Little's law). On a slow server (a real pod answers in
 * ~600 ms with a tail of seconds) a fixed window of 16 would cap the client at 16 / L req/s, far below
 * a 50 req/s limit, and the rate limit would never be what binds. So the window follows
 * rate x mean latency x 1.5, between minConcurrency and maxConcurrency: it grows as the pacer's rate
 * grows, and shrinks with it on a 429 (the rate's multiplicative decrease). `demand` is the same
 * number unclamped below, for callers that size their own pools (records in flight in a chunk).
 */
export class AdaptiveLimiter {
  private currentRate: number;
  private readonly fixedCap: number | undefined;
  private readonly minCap: number;
  private readonly maxCap: number;
  /** Running mean of request durations (ms); undefined until the first one ends. */
  private meanLatencyMs: number | undefined;
  private readonly minRate: number;
  private readonly maxRate: number;
  private readonly increase: number;
  private readonly slowStartGrowth: number;
  private readonly decrease: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private inFlightCount = 0;
  private readonly waiters: Waiter[] = [];
  private nextSlotAt = Number.NEGATIVE_INFINITY;
  private pausedUntil = 0;
  /** -Infinity until the first decrease: until then the pacer is in its slow start. */
  private lastDecreaseAt = Number.NEGATIVE_INFINITY;
  private pacedReleases = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Number.POSITIVE_INFINITY;

  constructor(o: AdaptiveLimiterOptions = {}) {
    const d = LIMITER_DEFAULTS;
    this.fixedCap = o.concurrency === undefined ? undefined : Math.max(1, Math.floor(o.concurrency));
    this.minCap = Math.max(1, Math.floor(o.minConcurrency ?? d.minConcurrency));
    this.maxCap = Math.max(this.minCap, Math.floor(o.maxConcurrency ?? d.maxConcurrency));
    this.minRate = Math.max(0.01, o.minRate ?? d.minRate);
    this.maxRate = Math.max(this.minRate, o.maxRate ?? d.maxRate);
    this.currentRate = clamp(o.initialRate ?? d.initialRate, this.minRate, this.maxRate);
    this.increase = o.increasePerSecond ?? d.increasePerSecond;
    this.slowStartGrowth = o.slowStartGrowth ?? d.slowStartGrowth;
    this.decrease = o.decrease ?? d.decrease;
    this.cooldownMs = o.cooldownMs ?? d.cooldownMs;
    this.now = o.now ?? Date.now;
  }

  /** Requests per second the pacer lets through now. */
  get rate(): number {
    return this.currentRate;
  }

  /** Requests allowed in flight at once: the fixed cap, or the adaptive window. */
  get limit(): number {
    return this.fixedCap ?? clamp(this.demand, this.minCap, this.maxCap);
  }

  /**
   * Requests that must be in flight to send at the current rate with the latency seen so far (with
   * headroom), at most maxConcurrency: 0 before any request has ended.
   */
  get demand(): number {
    if (this.meanLatencyMs === undefined) return 0;
    const wanted = Math.ceil(this.currentRate * (this.meanLatencyMs / 1000) * WINDOW_HEADROOM);
    return Math.min(this.fixedCap ?? this.maxCap, wanted);
  }

  /** Mean duration of the requests seen so far (ms), undefined before the first. */
  get latencyMs(): number | undefined {
    return this.meanLatencyMs;
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
    const started = this.now();
    try {
      const answer = await fn();
      // Answers only: a timeout or a dropped connection says nothing about how fast the server
      // answers, and a run of timeouts must not open the window on a server that has stopped answering.
      this.observeLatency(this.now() - started);
      return answer;
    } finally {
      this.inFlightCount -= 1;
      this.pump();
    }
  }

  /** The pacer's clock (Date.now unless injected): what `sentAt` is measured on. */
  clock(): number {
    return this.now();
  }

  /**
   * A 429: slow down (once per overload) and hold every request back for `pauseMs` (its Retry-After).
   * `sentAt` (the pacer's clock when it let the throttled request go): a request released before the
   * last decrease belongs to the rate that decrease already lowered, so it lowers nothing again.
   */
  onThrottle(pauseMs?: number, sentAt?: number): void {
    const now = this.now();
    if (pauseMs !== undefined && pauseMs > 0) this.pausedUntil = Math.max(this.pausedUntil, now + pauseMs);
    // Successes of requests queued before the overload must not win the rate straight back.
    this.pacedReleases = 0;
    const sentBeforeDecrease = sentAt !== undefined && sentAt < this.lastDecreaseAt;
    if (now - this.lastDecreaseAt >= this.cooldownMs && !sentBeforeDecrease) {
      this.lastDecreaseAt = now;
      this.currentRate = Math.max(this.minRate, this.currentRate * this.decrease);
    }
    this.pump();
  }

  /**
   * A request the server accepted: per second's worth of paced successes, +increasePerSecond, or
   * +slowStartGrowth x rate (when more) before the first throttle.
   */
  onSuccess(): void {
    if (this.pacedReleases === 0) return;
    this.pacedReleases -= 1;
    const slowStart = this.lastDecreaseAt === Number.NEGATIVE_INFINITY;
    const perSecond = slowStart
      ? Math.max(this.increase, this.slowStartGrowth * this.currentRate)
      : this.increase;
    this.currentRate = Math.min(this.maxRate, this.currentRate + perSecond / this.currentRate);
  }

  private observeLatency(ms: number): void {
    this.meanLatencyMs =
      this.meanLatencyMs === undefined
        ? ms
        : this.meanLatencyMs + LATENCY_EWMA_WEIGHT * (ms - this.meanLatencyMs);
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
    while (this.waiters.length > 0 && this.inFlightCount < this.limit) {
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
