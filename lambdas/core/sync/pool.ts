/**
 * Runs `work` over `items` with at most `concurrency` in flight. Before each item, `canStart` may stop
 * the intake (time budget, abort); items already started always finish. The first item always starts,
 * so a pass makes progress even when the budget is misconfigured tighter than one record.
 */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  canStart: () => boolean,
  work: (item: T) => Promise<void>,
): Promise<{ started: number }> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && (next === 0 || canStart())) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  const lanes = Math.max(1, Math.min(concurrency, items.length));
  await Promise.all(Array.from({ length: lanes }, worker));
  return { started: next };
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
