/**
 * Reads a queue at the server from the latencies the client sees (TCP Vegas, Netflix's Gradient2). A
 * pod that gets more requests than it serves queues them: every answer then takes its service time
 * plus the queue's wait, so latency rises before any 503. Gradient2 compares a short-term latency with
 * a long-term average and acts only past a tolerance; Vegas reads the difference as the queue. Here the
 * short-term latency is the median of the last few answers: a queue moves every answer, a long tail
 * (a real pod's p99 is 5x its median) moves only a few, and the median ignores them. The long-term one
 * is a slow average of those medians (Gradient2's), so a pod that really got slower is relearnt in a
 * few hundred answers while the client has long reacted to a queue.
 *
 * The median of a few answers still wanders on a server whose latency is widely spread: at a real
 * pod's lognormal (median 600 ms, p99 3 s) the median of 6 is above twice the long-term value in ~2%
 * of answers and above 1.125x in ~40%, with no queue at all. Read as a queue, that ended the pacer's
 * slow start within its first dozen answers, held its growth on a tenth of them and cut it x0.85
 * every few seconds (realistic-latency fell from 86% to 55% of the rate limit). So every threshold is
 * at least the median's own noise (Jacobson's RTT variance in TCP's timeout): a running spread of the
 * log-latencies gives the median's spread, and a delay within `noiseZ` of it is no queue. A fast
 * server's spread is small, so there the tolerance and the floor still decide (pod-overload unchanged).
 */
export interface LatencySignalOptions {
  /** Answers whose median is the short-term latency (default 10). */
  window?: number;
  /** Weight of one short-term median in the long-term average (default 0.01). */
  longWeight?: number;
  /** A queue's delay (short - long) above this multiple of the long-term latency is overload (default 1). */
  tolerance?: number;
  /**
   * ... and above this many ms (default 50): jitter of a fast server, or of a client on a busy CPU, is
   * no queue (a queue that short costs a pod nothing).
   */
  floorMs?: number;
  /**
   * A delay is a queue only past this many standard deviations of the short-term median's own noise
   * (default 3.5): with the window's medians correlated, ~0.1% of a no-queue server's answers pass.
   */
  noiseZ?: number;
}

export type LatencyVerdict = 'grow' | 'hold' | 'overloaded';

export const LATENCY_SIGNAL_DEFAULTS = {
  window: 6,
  longWeight: 0.01,
  tolerance: 1,
  floorMs: 50,
  noiseZ: 3.5,
} as const;

/** The standard deviation of a sample median is ~1.25 x the sample's over sqrt(n) (sqrt(pi/2)). */
const MEDIAN_NOISE = Math.sqrt(Math.PI / 2);
/** Answers the spread is a plain mean over before it becomes a running average of longWeight. */
const SPREAD_WARMUP = 100;

export class LatencySignal {
  private readonly recent: number[] = [];
  private baselineMs: number | undefined;
  /** Running mean and variance of ln(latency): the server's spread, whatever its median. */
  private logMean = 0;
  private logVariance = 0;
  private samples = 0;
  private readonly o: Required<LatencySignalOptions>;

  constructor(o: LatencySignalOptions = {}) {
    this.o = { ...LATENCY_SIGNAL_DEFAULTS, ...o };
  }

  /** The median of the last `window` answers (ms), undefined before the window first fills. */
  get recentMs(): number | undefined {
    if (this.recent.length < this.o.window) return undefined;
    const sorted = [...this.recent].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  }

  /** The long-term latency (ms): what the server takes without a queue. */
  get noLoadMs(): number | undefined {
    return this.baselineMs;
  }

  /** How far the recent answers are above the long-term latency (ms): the queue's wait. */
  get queueDelayMs(): number {
    const recent = this.recentMs;
    return recent === undefined || this.baselineMs === undefined ? 0 : Math.max(0, recent - this.baselineMs);
  }

  observe(ms: number): void {
    this.observeSpread(ms);
    this.recent.push(Math.max(0, ms));
    if (this.recent.length > this.o.window) this.recent.shift();
    const recent = this.recentMs;
    if (recent === undefined) return;
    if (this.baselineMs === undefined) {
      this.baselineMs = recent;
      return;
    }
    // Up only a tenth as fast while a queue is suspected: a standing queue must not become the
    // "normal" latency (Gradient2's drift), yet a pod that really got slower is still relearnt.
    const weight =
      recent > this.baselineMs && this.verdict() !== 'grow' ? this.o.longWeight / 10 : this.o.longWeight;
    this.baselineMs += weight * (recent - this.baselineMs);
  }

  /**
   * `overloaded`: a queue's delay above the tolerance; `hold`: above half of it (no more rate until it
   * clears); `grow` otherwise.
   */
  verdict(): LatencyVerdict {
    const limit = this.limitMs();
    const delay = this.queueDelayMs;
    if (delay > limit) return 'overloaded';
    return delay > limit / 2 ? 'hold' : 'grow';
  }

  /**
   * The first sign of a queue, for leaving a slow start (HyStart's test: a delay above an eighth of
   * the no-load latency, and half the floor): growing 10%/s, a second's lag is a tenth too much.
   */
  queueing(): boolean {
    return this.queueDelayMs > Math.max(this.o.floorMs / 3, (this.baselineMs ?? 0) / 8, this.noiseMs() / 2);
  }

  /**
   * How far above the long-term latency the short-term median wanders with no queue (ms): noiseZ
   * standard deviations of a median of `window` answers, from the spread of the log-latencies.
   */
  noiseMs(): number {
    if (this.baselineMs === undefined) return 0;
    const medianSd = (MEDIAN_NOISE * this.spreadUpperBound()) / Math.sqrt(this.o.window);
    return this.baselineMs * (Math.exp(this.o.noiseZ * medianSd) - 1);
  }

  /**
   * The spread's 95% upper bound (chi-square, normal approximation): a dozen answers can look far less
   * spread than the server is, and an underestimate here reads the next slow median as a queue.
   */
  private spreadUpperBound(): number {
    // A running average of weight w remembers about 2 / w answers.
    const n = Math.min(this.samples, 2 / this.o.longWeight);
    return Math.sqrt(this.logVariance) * (1 + 1.645 / Math.sqrt(2 * Math.max(1, n - 1)));
  }

  private limitMs(): number {
    return Math.max(this.o.floorMs, this.o.tolerance * (this.baselineMs ?? 0), this.noiseMs());
  }

  /**
   * A plain mean for the first answers (a handful says little about a spread), then a running one that
   * follows the server as slowly as the long-term latency does. While the first sign of a queue shows,
   * nothing is learnt in the plain-mean phase and a tenth as fast after it: a queue must not widen the
   * very tolerance that would see it (a slow start that runs into a pod builds one within its first
   * hundred answers; learnt at 1/n, it let the pod-overload bench reach 49 in a second against 48).
   */
  private observeSpread(ms: number): void {
    const x = Math.log(Math.max(1, ms));
    const suspected = this.samples > 0 && this.queueing();
    const warmingUp = this.samples < SPREAD_WARMUP;
    if (suspected && warmingUp) return;
    this.samples += 1;
    if (this.samples === 1) {
      this.logMean = x;
      return;
    }
    const slow = suspected ? this.o.longWeight / 10 : this.o.longWeight;
    const weight = warmingUp ? 1 / this.samples : slow;
    const d = x - this.logMean;
    this.logMean += weight * d;
    this.logVariance = (1 - weight) * (this.logVariance + weight * d * d);
  }
}
