/**
 * Runs `work` over `items` with at most `concurrency` in flight; a function is asked again before each
 * start, so the window can follow the HCM latency while the pool runs. Before each item, `canStart` may
 * stop the intake (time budget, abort); items already started always finish. The first item always
 * starts, so a pass makes progress even when the budget is misconfigured tighter than one record.
 * A `work` that throws stops the intake; the first error is thrown once the started items settled.
 */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number | (() => number),
  canStart: () => boolean,
  work: (item: T) => Promise<void>,
): Promise<{ started: number }> {
  const limit = typeof concurrency === 'function' ? concurrency : () => concurrency;
  let next = 0;
  let active = 0;
  let failed: { error: unknown } | undefined;
  return new Promise((resolve, reject) => {
    const pump = (): void => {
      while (
        failed === undefined &&
        next < items.length &&
        active < Math.max(1, limit()) &&
        (next === 0 || canStart())
      ) {
        const item = items[next++] as T;
        active += 1;
        work(item).then(settle, (error: unknown) => {
          failed ??= { error };
          settle();
        });
      }
      if (active > 0) return;
      if (failed) reject(failed.error);
      else resolve({ started: next });
    };
    const settle = (): void => {
      active -= 1;
      pump();
    };
    pump();
  });
}

/**
 * When to stop taking new records: once the remaining invocation time drops below a margin of
 * max(floor, 3 x p99 of the record times seen so far). The p99 term grows the margin on a slow HCM
 * (retries, Retry-After) so an in-flight record still finishes before Lambda's hard timeout.
 */
export class TimeBudget {
  private readonly samples: number[] = [];

  constructor(
    private readonly remainingTimeMs: () => number,
    private readonly floorMs: number,
    private readonly window = 200,
  ) {}

  observe(durationMs: number): void {
    this.samples.push(durationMs);
    if (this.samples.length > this.window) this.samples.shift();
  }

  p99(): number {
    if (this.samples.length === 0) return 0;
    const sorted = [...this.samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? 0;
  }

  marginMs(): number {
    return Math.max(this.floorMs, 3 * this.p99());
  }

  canStart(): boolean {
    return this.remainingTimeMs() > this.marginMs();
  }
}
