import { sleep } from '../retry.ts';

export interface AdaptiveLimiterOptions {
  /** Starting concurrency (default 4). */
  initial?: number;
  min?: number;
  /** Default 32. */
  max?: number;
  /** Multiplicative decrease factor on a throttle (default 0.5). */
  decrease?: number;
  /**
   * A burst of 429s from one overload should halve the limit once, not once per request: throttles
   * within this window after a decrease are ignored (default 250 ms).
   */
  cooldownMs?: number;
  now?: () => number;
}

/**
 * AIMD concurrency limiter (as TCP congestion control): each success adds 1/limit (so +1 per full
 * window), each throttle halves the limit. Workers sharing one server converge to its rate limit
 * instead of hammering it. A Retry-After given to onThrottle also holds back new requests until then.
 */
export class AdaptiveLimiter {
  private current: number;
  private readonly min: number;
  private readonly max: number;
  private readonly decrease: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private inFlightCount = 0;
  private readonly waiters: Array<() => void> = [];
  private lastDecreaseAt = Number.NEGATIVE_INFINITY;
  private pausedUntil = 0;

  constructor(o: AdaptiveLimiterOptions = {}) {
    this.min = Math.max(1, o.min ?? 1);
    this.max = Math.max(this.min, o.max ?? 32);
    this.current = clamp(o.initial ?? 4, this.min, this.max);
    this.decrease = o.decrease ?? 0.5;
    this.cooldownMs = o.cooldownMs ?? 250;
    this.now = o.now ?? Date.now;
  }

  /** Whole number of requests allowed in flight. */
  get limit(): number {
    return Math.floor(this.current);
  }

  get inFlight(): number {
    return this.inFlightCount;
  }

  get queued(): number {
    return this.waiters.length;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  onThrottle(retryAfterMs?: number): void {
    const now = this.now();
    if (retryAfterMs !== undefined && retryAfterMs > 0) {
      this.pausedUntil = Math.max(this.pausedUntil, now + retryAfterMs);
    }
    if (now - this.lastDecreaseAt < this.cooldownMs) return;
    this.lastDecreaseAt = now;
    this.current = Math.max(this.min, this.current * this.decrease);
  }

  onSuccess(): void {
    const before = this.limit;
    this.current = Math.min(this.max, this.current + 1 / Math.max(1, this.current));
    if (this.limit > before) this.pump();
  }

  private async acquire(): Promise<void> {
    await this.waitOutPause();
    if (this.waiters.length === 0 && this.inFlightCount < this.limit) {
      this.inFlightCount += 1;
      return;
    }
    // FIFO: pump() hands the slot over (counted already), so a newcomer cannot overtake a waiter.
    await new Promise<void>((resolve) => this.waiters.push(resolve));
    await this.waitOutPause();
  }

  private async waitOutPause(): Promise<void> {
    for (let pause = this.pausedUntil - this.now(); pause > 0; pause = this.pausedUntil - this.now()) {
      await sleep(pause);
    }
  }

  private release(): void {
    this.inFlightCount -= 1;
    this.pump();
  }

  private pump(): void {
    while (this.waiters.length > 0 && this.inFlightCount < this.limit) {
      this.inFlightCount += 1;
      this.waiters.shift()!();
    }
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
