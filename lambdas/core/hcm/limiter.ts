import { LatencySignal, type LatencySignalOptions } from './latency-signal.ts';

/**
 * A fleet-wide request ceiling (the customer's requests per second for the whole stack): resolves when
 * one request may leave. Every request asks it after the pacer, right before it is sent.
 */
export interface RequestCeiling {
  acquire(): Promise<void>;
}

export interface AdaptiveLimiterOptions {
  /** Requests in flight at most, fixed. Left out: the adaptive window (minConcurrency..maxConcurrency). */
  concurrency?: number;
  /** The adaptive window's floor (default 16): what a fast server ever needs. */
  minConcurrency?: number;
  /** The adaptive window's ceiling (default 64): a bound on sockets and memory, whatever the latency. */
  maxConcurrency?: number;
  /**
   * Starting request rate, per second (default 5): ten containers starting at once send 50 req/s, not
   * 100, and the fleet ceiling (10 req/s per stack by default) bounds even that; the slow start finds
   * more in seconds.
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
   * Multiplicative decrease of the rate on an overload answer: 429, 503 or 504 (default 0.6). With n
   * containers sharing a limit L, each throttles about n x increasePerSecond / ((1 - decrease) x L / n)
   * times a second: the deeper cut makes overload answers rarer, and the server's queue drains in the dip.
   */
  decrease?: number;
  /**
   * Multiplicative decrease on a queue seen in the latency (default 0.85): gentler than an error's,
   * since it comes early, when the pod is only just over its capacity and nothing has failed yet.
   */
  latencyDecrease?: number;
  /**
   * The overload answers of one overload arrive together: those within this window after a decrease
   * are ignored, so one overload lowers the rate once, not once per request (default 1,000 ms). Those
   * of requests that left before the last decrease are ignored too (onOverload's `sentAt`): at a real
   * pod's latency (600 ms, p99 3 s) the answers of one overload keep coming for longer than a second.
   */
  cooldownMs?: number;
  /** How latency is read as a queue at the server (latency-signal.ts). */
  latency?: LatencySignalOptions;
  /** The fleet-wide ceiling every request also waits for (none: the pacer alone). */
  ceiling?: RequestCeiling;
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
  latencyDecrease: 0.85,
  cooldownMs: 1_000,
} as const;

/**
 * Where plan-sync's pacer starts: it reads alone, before any chunk container sends, so it may start at
 * what the default five chunk containers start at together (5 x initialRate). At 5 req/s its ~80 plan-wide
 * reads of a 5,000-goal first sync (a page per 500 assignees) took ~10 s of slow start.
 */
export const PLAN_READ_INITIAL_RATE = 25;

/**
 * In flight = rate x mean latency (Little's law) only on average: the window allows this much more, so
 * a run of slow answers does not stall the pacer, and the pacer (not the window) keeps deciding the rate.
 */
const WINDOW_HEADROOM = 1.5;
/** Weight of one latency sample in the running mean: ~20 requests of memory, enough to follow a change. */
const LATENCY_EWMA_WEIGHT = 0.05;
/**
 * After a cut for latency, another needs the queue to clear first (the signal back to `grow`) or its
 * delay to keep rising past this multiple of what it was at the cut: while the server drains the
 * queue the first cut built, answers stay slow for a while, and that is no new overload.
 */
const STILL_RISING = 1.25;

interface Waiter {
  resolve: () => void;
  /** It queued behind the pacer (not a pause): its success is evidence that more rate is usable. */
  paced: boolean;
}

/**
 * Paces one container's HCM requests so that it cannot flood a pod. Oracle publishes no HCM REST rate
 * limit and no 429 contract: an overloaded pod answers slower, then 503 or 504. So the pacer slows on
 * all of these: a 429, 503 or 504 answer (onOverload: x decrease, once per overload, with the
 * server's Retry-After as a pause of every request), and rising latency before any error (a Vegas /
 * CoDel reading of the latencies, latency-signal.ts: when even the fastest recent answers wait in a
 * queue longer than the tolerance, x latencyDecrease).
 * Otherwise it grows: a slow start (+10%/s) until the first cut, then +increasePerSecond req/s per
 * second of paced successes, only while the latency says the server has no queue. Several containers
 * converge to fair shares (additive increase, multiplicative decrease). Requests leave in FIFO order,
 * evenly spaced (1/rate apart, no burst), never more than the in-flight window at once, and each waits
 * for the fleet-wide ceiling (the customer's requests per second) when there is one.
 *
 * The window adapts (unless `concurrency` fixes it): to send `rate` requests per second at a mean
 * latency L, rate x L of them must be in flight (Little's law). On a slow server (a real pod answers in
 * ~600 ms with a tail of seconds) a fixed window of 16 would cap the client at 16 / L req/s. So the
 * window follows rate x mean latency x 1.5, between minConcurrency and maxConcurrency. `demand` is the
 * same number unclamped below, for callers that size their own pools (records in flight in a chunk).
 */
export class AdaptiveLimiter {
  private currentRate: number;
  private readonly fixedCap: number | undefined;
  private readonly minCap: number;
  private readonly maxCap: number;
  /** Running mean of request durations (ms); undefined until the first one ends. */
  private meanLatencyMs: number | undefined;
  private readonly signal: LatencySignal;
  private readonly ceiling: RequestCeiling | undefined;
  private readonly minRate: number;
  private readonly maxRate: number;
  private readonly increase: number;
  private readonly slowStartGrowth: number;
  private readonly decrease: number;
  private readonly latencyDecrease: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private inFlightCount = 0;
  private readonly waiters: Waiter[] = [];
  private nextSlotAt = Number.NEGATIVE_INFINITY;
  private pausedUntil = 0;
  private lastDecreaseAt = Number.NEGATIVE_INFINITY;
  /**
   * Until the first cut, or the first sign of a queue (HyStart's exit of TCP's slow start: the
   * latency rises before anything is lost, and growing by 10%/s into it would overshoot the pod).
   */
  private slowStart = true;
  /** The queue's delay at the last cut for latency; 0: the queue cleared since (a cut is armed). */
  private latencyAtCutMs = 0;
  private pacedReleases = 0;
  /** When requests left in the last second (after the ceiling): the rate actually in use. */
  private readonly sends: number[] = [];
  /**
   * The last request waited longer for the fleet ceiling than the pacer's own spacing: the ceiling,
   * not this rate, decides how fast this container sends, so the rate must not grow past what is
   * used (a cut from 500 req/s nobody sends would slow nothing), and a cut starts from what was sent.
   */
  private ceilingBound = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  /** Cuts by cause, for tests, the bench and the run report. */
  readonly cuts = { overload: 0, latency: 0 };

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
    this.latencyDecrease = o.latencyDecrease ?? d.latencyDecrease;
    this.cooldownMs = o.cooldownMs ?? d.cooldownMs;
    this.signal = new LatencySignal(o.latency);
    this.ceiling = o.ceiling;
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
   * Runs `fn` when the pacer, the concurrency cap and the fleet ceiling allow. `first` puts it at the
   * head of the queue: a retry of a throttled request has waited its turn already.
   */
  async run<T>(fn: () => Promise<T>, o: { first?: boolean } = {}): Promise<T> {
    await this.acquire(o.first === true);
    try {
      if (this.ceiling) {
        const asked = this.now();
        await this.ceiling.acquire();
        this.ceilingBound = this.now() - asked > 1000 / this.currentRate;
      }
      const started = this.now();
      this.noteSend(started);
      const answer = await fn();
      // Answers only: a timeout or a dropped connection says nothing about how fast the server
      // answers, and a run of timeouts must not open the window on a server that has stopped answering.
      this.observeLatency(this.now() - started, started);
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
   * A 429, 503 or 504: slow down (once per overload) and hold every request back for `pauseMs` (the
   * Retry-After, when the server sent one). `sentAt` (the pacer's clock when it let the request go): a
   * request released before the last decrease belongs to the rate that decrease already lowered.
   */
  onOverload(pauseMs?: number, sentAt?: number): void {
    const now = this.now();
    if (pauseMs !== undefined && pauseMs > 0) this.pausedUntil = Math.max(this.pausedUntil, now + pauseMs);
    // Successes of requests queued before the overload must not win the rate straight back.
    this.pacedReleases = 0;
    const sentBeforeDecrease = sentAt !== undefined && sentAt < this.lastDecreaseAt;
    if (now - this.lastDecreaseAt >= this.cooldownMs && !sentBeforeDecrease) {
      this.cut(this.decrease, now);
      this.cuts.overload += 1;
    }
    this.pump();
  }

  /**
   * A request the server accepted: per second's worth of paced successes, +increasePerSecond, or
   * +slowStartGrowth x rate (when more) before the first cut; nothing while the latency shows a queue
   * at the server or the rate is not what limits the sender.
   */
  onSuccess(): void {
    if (this.pacedReleases === 0) return;
    this.pacedReleases -= 1;
    if (this.signal.verdict() !== 'grow') {
      this.endSlowStart();
      return;
    }
    if (this.ceilingBound) return;
    const perSecond = this.slowStart
      ? Math.max(this.increase, this.slowStartGrowth * this.currentRate)
      : this.increase;
    this.currentRate = Math.min(this.maxRate, this.currentRate + perSecond / this.currentRate);
  }

  /**
   * The first queue seen while growing 10%/s: the latency shows it about a second late, so the last
   * second's growth was already past the pod's capacity and is given back.
   */
  private endSlowStart(): void {
    if (!this.slowStart) return;
    this.slowStart = false;
    this.currentRate = clamp(this.currentRate / (1 + this.slowStartGrowth), this.minRate, this.maxRate);
  }

  /** Lowers the rate by `factor`, from the rate actually in use when the ceiling held the sender lower. */
  private cut(factor: number, now: number): void {
    this.lastDecreaseAt = now;
    this.slowStart = false;
    const from = this.ceilingBound ? Math.min(this.currentRate, this.sentInLastSecond()) : this.currentRate;
    this.currentRate = clamp(from * factor, this.minRate, this.maxRate);
  }

  private observeLatency(ms: number, sentAt: number): void {
    this.meanLatencyMs =
      this.meanLatencyMs === undefined
        ? ms
        : this.meanLatencyMs + LATENCY_EWMA_WEIGHT * (ms - this.meanLatencyMs);
    this.signal.observe(ms);
    const verdict = this.signal.verdict();
    if (verdict === 'grow') this.latencyAtCutMs = 0;
    if (this.signal.queueing()) this.endSlowStart();
    if (verdict !== 'overloaded' || sentAt < this.lastDecreaseAt) return;
    const now = this.now();
    const delay = this.signal.queueDelayMs;
    if (now - this.lastDecreaseAt < this.cooldownMs) return;
    if (this.latencyAtCutMs > 0 && delay <= this.latencyAtCutMs * STILL_RISING) return;
    this.latencyAtCutMs = delay;
    this.pacedReleases = 0;
    this.cut(this.latencyDecrease, now);
    this.cuts.latency += 1;
  }

  private noteSend(at: number): void {
    this.sends.push(at);
    while (this.sends.length > 0 && this.sends[0]! <= at - 1000) this.sends.shift();
  }

  private sentInLastSecond(): number {
    const since = this.now() - 1000;
    while (this.sends.length > 0 && this.sends[0]! <= since) this.sends.shift();
    return this.sends.length;
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
      // Whole milliseconds, at least 1: a slot a fraction of a millisecond away must not re-arm a
      // timer that fires at the same clock reading forever (a scripted clock does not move by itself).
      Math.max(1, Math.ceil(at - this.now())),
    );
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
