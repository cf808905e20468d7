/**
 * Counts events per whole second and key, keeping at most `maxSeconds` seconds (the oldest go first):
 * a simulator that serves a day-long run holds a bounded number of small buckets, never one entry per
 * request.
 */
export class PerSecondCounts {
  private readonly seconds = new Map<number, Map<string, number>>();
  private evicted = 0;

  constructor(private readonly maxSeconds = DEFAULT_MAX_SECONDS) {
    if (!Number.isSafeInteger(maxSeconds) || maxSeconds < 1) throw new RangeError('maxSeconds must be >= 1');
  }

  add(atMs: number, key: string, n = 1): void {
    const second = Math.floor(atMs / 1000);
    let bucket = this.seconds.get(second);
    if (!bucket) {
      bucket = new Map();
      this.seconds.set(second, bucket);
      // Map order is insertion order, and seconds arrive (almost) in time order: the first is the oldest.
      while (this.seconds.size > this.maxSeconds) {
        const oldest = this.seconds.keys().next().value as number;
        this.seconds.delete(oldest);
        this.evicted++;
      }
    }
    bucket.set(key, (bucket.get(key) ?? 0) + n);
  }

  /** Every (second, key, count), oldest second first. */
  entries(): Array<{ second: number; key: string; n: number }> {
    const out: Array<{ second: number; key: string; n: number }> = [];
    for (const second of [...this.seconds.keys()].sort((a, b) => a - b)) {
      for (const [key, n] of this.seconds.get(second)!) out.push({ second, key, n });
    }
    return out;
  }

  /** Seconds dropped to stay within maxSeconds. */
  get droppedSeconds(): number {
    return this.evicted;
  }

  clear(): void {
    this.seconds.clear();
    this.evicted = 0;
  }
}

/** Keeps the last `max` items: what happened most recently is what a report of the current run shows. */
export class Ring<T> {
  private items: T[] = [];
  private evicted = 0;

  constructor(private readonly max = DEFAULT_MAX_ITEMS) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('max must be >= 1');
  }

  push(item: T): void {
    this.items.push(item);
    // Drop in batches so a full ring costs O(1) per push on average, not an array shift each time.
    if (this.items.length >= this.max * 2) this.trim();
  }

  values(): T[] {
    this.trim();
    return [...this.items];
  }

  get dropped(): number {
    this.trim();
    return this.evicted;
  }

  clear(): void {
    this.items = [];
    this.evicted = 0;
  }

  private trim(): void {
    const extra = this.items.length - this.max;
    if (extra > 0) {
      this.items = this.items.slice(extra);
      this.evicted += extra;
    }
  }
}

/** Six hours of seconds: longer than any bench row (scale-200k takes ~25 minutes). */
export const DEFAULT_MAX_SECONDS = 6 * 3600;
/** Issued tokens kept: a 2 s token for six hours is 10,800. */
export const DEFAULT_MAX_ITEMS = 20_000;
