/**
 * Reads a queue at the server from the latencies the client sees (TCP Vegas, Netflix's Gradient2). A
 * pod that gets more requests than it serves queues them: every answer then takes its service time
 * plus the queue's wait, so latency rises before any 503. Gradient2 compares a short-term latency with
 * a long-term average and acts only past a tolerance; Vegas reads the difference as the queue. Here the
 * short-term latency is the median of the last few answers: a queue moves every answer, a long tail
 * (a real pod's p99 is 5x its median) moves only a few, and the median ignores them. The long-term one
 * is a slow average of those medians (Gradient2's), so a pod that really got slower is relearnt in a
 * few hundred answers while the client has long reacted to a queue.
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
}

export type LatencyVerdict = 'grow' | 'hold' | 'overloaded';

export const LATENCY_SIGNAL_DEFAULTS = {
  window: 6,
  longWeight: 0.01,
  tolerance: 1,
  floorMs: 50,
} as const;

export class LatencySignal {
  private readonly recent: number[] = [];
  private baselineMs: number | undefined;
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
    return this.queueDelayMs > Math.max(this.o.floorMs / 3, (this.baselineMs ?? 0) / 8);
  }

  private limitMs(): number {
    return Math.max(this.o.floorMs, this.o.tolerance * (this.baselineMs ?? 0));
  }
}
