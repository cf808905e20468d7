/**
 * A pod of a given capacity (fault `podCapacityPerSecond`, 0 = off). Oracle publishes no HCM REST rate
 * limit and no 429 contract: an overloaded pod answers more slowly, then with a 503 or 504. Modelled
 * as one queue served at `capacity` requests per second: a request waits for the ones ahead of it
 * (its latency grows with the queue), and when its wait would exceed `maxQueueMs` the pod gives up on
 * it after that long and answers a slow 503 without Retry-After (it never entered the queue, so it
 * costs the pod nothing). Also counts what arrived in every sliding second (the peak is what a client
 * that cannot flood a pod must keep under the capacity).
 *
 * Independent of the client's code on purpose (a boundary test checks it): the two meet only at HTTP.
 */
export interface PodAdmission {
  /** How long the pod holds the request before it is served or refused. */
  delayMs: number;
  /** False: answer a 503 after delayMs. */
  served: boolean;
}

export interface PodStats {
  capacityPerSecond: number;
  arrived: number;
  served: number;
  refused: number;
  /** Most requests that arrived within any 1 s window. */
  peakPerSlidingSecond: number;
  /** Longest wait a served request had in the queue (ms). */
  maxQueueWaitMs: number;
}

export const POD_REFUSAL_MESSAGE = 'The service is temporarily unavailable. Try again later.';

export class PodCapacity {
  private nextFreeAt = Number.NEGATIVE_INFINITY;
  private readonly window: number[] = [];
  private counts = { arrived: 0, served: 0, refused: 0, peakPerSlidingSecond: 0, maxQueueWaitMs: 0 };
  private capacity = 0;

  constructor(private readonly clock: () => number = () => performance.now()) {}

  /** Admits one request at the pod's capacity; 0 serves everything at once (and counts nothing). */
  admit(capacityPerSecond: number, maxQueueMs: number): PodAdmission {
    if (capacityPerSecond <= 0) return { delayMs: 0, served: true };
    if (capacityPerSecond !== this.capacity) {
      // A new capacity starts with an empty queue and fresh counts.
      this.capacity = capacityPerSecond;
      this.nextFreeAt = Number.NEGATIVE_INFINITY;
      this.resetStats();
    }
    const now = this.clock();
    this.countArrival(now);
    const serviceMs = 1000 / capacityPerSecond;
    const doneAt = Math.max(now, this.nextFreeAt) + serviceMs;
    const waitMs = doneAt - now;
    if (waitMs - serviceMs > maxQueueMs) {
      this.counts.refused += 1;
      return { delayMs: maxQueueMs, served: false };
    }
    this.nextFreeAt = doneAt;
    this.counts.served += 1;
    this.counts.maxQueueWaitMs = Math.max(this.counts.maxQueueWaitMs, waitMs - serviceMs);
    return { delayMs: waitMs, served: true };
  }

  stats(): PodStats | undefined {
    if (this.capacity <= 0) return undefined;
    return { capacityPerSecond: this.capacity, ...this.counts };
  }

  resetStats(): void {
    this.window.length = 0;
    this.counts = { arrived: 0, served: 0, refused: 0, peakPerSlidingSecond: 0, maxQueueWaitMs: 0 };
  }

  private countArrival(now: number): void {
    this.counts.arrived += 1;
    this.window.push(now);
    while (this.window.length > 0 && this.window[0]! <= now - 1000) this.window.shift();
    this.counts.peakPerSlidingSecond = Math.max(this.counts.peakPerSlidingSecond, this.window.length);
  }
}
