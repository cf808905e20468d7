import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AdaptiveLimiter } from '#core/hcm/index.ts';
import { runPool } from '#core/sync/index.ts';

// Fake timers fake Date.now too, the limiter's default clock: latencies are exactly what the tasks take.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Runs n tasks of `ms` each through the limiter and returns the most that were in flight at once. */
async function drive(limiter: AdaptiveLimiter, n: number, ms: number): Promise<number> {
  let running = 0;
  let peak = 0;
  const tasks = Array.from({ length: n }, () =>
    limiter.run(async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, ms));
      running -= 1;
    }),
  );
  await vi.advanceTimersByTimeAsync(n * ms + 60_000);
  await Promise.all(tasks);
  return peak;
}

describe('AdaptiveLimiter: the in-flight window follows rate x latency', () => {
  it('a slow server: the window grows past the floor to rate x mean latency x 1.5, and the pacer sets the pace', async () => {
    const limiter = new AdaptiveLimiter({ initialRate: 40, maxRate: 40 });
    expect(limiter.demand).toBe(0);
    expect(limiter.limit).toBe(16);
    const peak = await drive(limiter, 400, 1_000);
    expect(limiter.latencyMs).toBeCloseTo(1_000, 0);
    // 40 req/s x 1 s x 1.5 = 60.
    expect(limiter.demand).toBe(60);
    expect(limiter.limit).toBe(60);
    // 40 req/s at 1 s each needs 40 in flight: the old fixed 16 would have capped it at 16 req/s.
    expect(peak).toBeGreaterThanOrEqual(40);
    expect(peak).toBeLessThanOrEqual(41);
  });

  it('shrinks with the rate on a 429 and stays within minConcurrency..maxConcurrency', async () => {
    const limiter = new AdaptiveLimiter({ initialRate: 40, maxRate: 40, maxConcurrency: 50 });
    await drive(limiter, 100, 1_000);
    expect(limiter.limit).toBe(50);
    limiter.onOverload();
    // 24 req/s x 1 s x 1.5 = 36.
    expect(limiter.rate).toBeCloseTo(24, 5);
    expect(limiter.limit).toBe(36);
    const fast = new AdaptiveLimiter({ initialRate: 10 });
    await drive(fast, 20, 30);
    // 10 x 0.03 x 1.5 = 0.45 -> demand 1, window at its floor.
    expect(fast.demand).toBe(1);
    expect(fast.limit).toBe(16);
  });

  it('failed requests (timeouts, dropped connections) are not latency samples', async () => {
    const limiter = new AdaptiveLimiter({ initialRate: 40, maxRate: 40 });
    await drive(limiter, 40, 100);
    const failing = limiter.run(async () => {
      await new Promise((r) => setTimeout(r, 10_000));
      throw new Error('timeout');
    });
    const settled = failing.catch(() => 'failed');
    await vi.advanceTimersByTimeAsync(11_000);
    expect(await settled).toBe('failed');
    expect(limiter.latencyMs).toBeCloseTo(100, 0);
    expect(limiter.demand).toBe(6);
  });

  it('a fixed `concurrency` is never exceeded, however slow the server', async () => {
    const limiter = new AdaptiveLimiter({ concurrency: 4, initialRate: 40, maxRate: 40 });
    expect(await drive(limiter, 40, 1_000)).toBe(4);
    expect(limiter.limit).toBe(4);
    expect(limiter.demand).toBe(4);
  });
});

describe('runPool with a window that changes', () => {
  it('asks the window again before each start', async () => {
    let window = 2;
    let running = 0;
    const peaks: number[] = [];
    const pool = runPool(
      Array.from({ length: 30 }, (_, i) => i),
      () => window,
      () => true,
      async (i) => {
        running += 1;
        peaks[i] = running;
        if (i === 5) window = 10;
        await new Promise((r) => setTimeout(r, 100));
        running -= 1;
      },
    );
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await pool).toEqual({ started: 30 });
    expect(Math.max(...peaks.slice(0, 5))).toBe(2);
    expect(Math.max(...peaks)).toBe(10);
  });

  it('a failing item stops the intake; the error comes after the started items settled', async () => {
    const finished: number[] = [];
    const pool = runPool(
      [0, 1, 2, 3, 4, 5],
      2,
      () => true,
      async (i) => {
        await new Promise((r) => setTimeout(r, i === 1 ? 10 : 100));
        if (i === 1) throw new Error('boom');
        finished.push(i);
      },
    );
    const settled = pool.then(
      () => 'resolved',
      (e: Error) => e.message,
    );
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await settled).toBe('boom');
    // Item 0 was in flight when 1 failed: it finished; 2.. were never started.
    expect(finished).toEqual([0]);
  });
});
