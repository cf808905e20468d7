import { describe, expect, it } from 'vitest';
import { AdaptiveLimiter } from '../../lambdas/core/hcm/limiter.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('AdaptiveLimiter', () => {
  it('never runs more than `limit` tasks at once and runs them in arrival order', async () => {
    const limiter = new AdaptiveLimiter({ initial: 3, max: 3 });
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const releases: Array<() => void> = [];
    const tasks = Array.from({ length: 10 }, (_, i) =>
      limiter.run(async () => {
        started.push(i);
        running += 1;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running -= 1;
        return i;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1, 2]);
    expect(limiter.queued).toBe(7);
    while (releases.length > 0) {
      releases.shift()!();
      await tick();
      await tick();
    }
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(peak).toBe(3);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('halves on a throttle (once per cooldown), adds about one per window of successes', () => {
    let now = 0;
    const limiter = new AdaptiveLimiter({ initial: 16, min: 2, max: 20, cooldownMs: 100, now: () => now });
    limiter.onThrottle();
    expect(limiter.limit).toBe(8);
    limiter.onThrottle(); // same burst
    expect(limiter.limit).toBe(8);
    now += 150;
    limiter.onThrottle();
    expect(limiter.limit).toBe(4);
    now += 150;
    limiter.onThrottle();
    now += 150;
    limiter.onThrottle();
    expect(limiter.limit).toBe(2); // floor
    // +1/limit per success: 2 -> 2.5 -> 2.9 -> 3.24
    limiter.onSuccess();
    limiter.onSuccess();
    expect(limiter.limit).toBe(2);
    limiter.onSuccess();
    expect(limiter.limit).toBe(3);
    for (let i = 0; i < 200; i++) limiter.onSuccess();
    expect(limiter.limit).toBe(20); // ceiling
  });

  it('holds new work back for a Retry-After', async () => {
    const limiter = new AdaptiveLimiter({ initial: 4 });
    limiter.onThrottle(120);
    const t0 = performance.now();
    await limiter.run(async () => undefined);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
  });

  it('releases the slot when the task fails', async () => {
    const limiter = new AdaptiveLimiter({ initial: 1, max: 1 });
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(limiter.inFlight).toBe(0);
    await expect(limiter.run(async () => 'ok')).resolves.toBe('ok');
  });
});
