import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InProcessRateLimiter } from '#core/rate/index.ts';
import { peakInWindow } from '../../local/idp/idp-stats.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const clock = { now: () => Date.now() };

describe('InProcessRateLimiter (the local ceiling and the fail-soft pace)', () => {
  it('30 callers at 10/s: never more than 10 in any second', async () => {
    const limiter = new InProcessRateLimiter(10, clock);
    const sent: number[] = [];
    const all = Array.from({ length: 30 }, () =>
      limiter.acquire(Date.now() + 60_000).then(() => sent.push(Date.now())),
    );
    await vi.advanceTimersByTimeAsync(10_000);
    await Promise.all(all);
    expect(sent).toHaveLength(30);
    expect(peakInWindow(sent, 1_000)).toBeLessThanOrEqual(10);
  });

  it('a stalled event loop does not release the waiting callers in one burst', async () => {
    // A scripted clock whose sleeps end only when the test moves it: a jump is a stall, after which
    // every sleep that came due meanwhile ends at once (what timers do after a blocked event loop).
    let now = 0;
    let sleepers: Array<{ until: number; wake: () => void }> = [];
    const scripted = {
      now: () => now,
      sleep: (ms: number) => new Promise<void>((wake) => sleepers.push({ until: now + ms, wake })),
    };
    const moveTo = async (t: number) => {
      now = t;
      const due = sleepers.filter((s) => s.until <= t);
      sleepers = sleepers.filter((s) => s.until > t);
      for (const s of due) s.wake();
      for (let i = 0; i < 20; i++) await Promise.resolve();
    };
    const limiter = new InProcessRateLimiter(10, scripted);
    const sent: number[] = [];
    const all = Array.from({ length: 30 }, () => limiter.acquire(60_000).then(() => sent.push(now)));
    await moveTo(0);
    // The stall: the second ten's slots (1.0 - 1.9 s) all came due meanwhile; the third ten's
    // (2.0 - 2.9 s) follow within the same second.
    await moveTo(2_500);
    for (let t = 2_500; sent.length < 30 && t < 20_000; t += 10) await moveTo(t);
    await Promise.all(all);
    expect(sent).toHaveLength(30);
    expect(peakInWindow(sent, 1_000)).toBeLessThanOrEqual(10);
    expect(limiter.spent).toBeGreaterThan(0);
  });

  it('a rate below 1/s keeps one slot over a window of 1/rate seconds', async () => {
    const limiter = new InProcessRateLimiter(0.5, clock);
    const sent: number[] = [];
    const all = Array.from({ length: 3 }, () =>
      limiter.acquire(Date.now() + 60_000).then(() => sent.push(Date.now())),
    );
    await vi.advanceTimersByTimeAsync(10_000);
    await Promise.all(all);
    expect(sent[1]! - sent[0]!).toBeGreaterThanOrEqual(2_000);
    expect(sent[2]! - sent[1]!).toBeGreaterThanOrEqual(2_000);
  });
});
