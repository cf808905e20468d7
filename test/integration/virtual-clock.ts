import type { Clock } from '../../lambdas/core/ports.ts';

/**
 * A clock whose sleeps take no real time, for code that also does real I/O (dynalite): every few real
 * milliseconds, when a sleep is pending, virtual time jumps to the earliest one and wakes it. Real calls
 * keep their real latency, which only moves virtual time as far as a sleep that came due meanwhile.
 * Call timeouts (`timeout`) stay real, so a slow machine does not abort a call by a jump.
 */
export function virtualClock(start = Date.now()): { clock: Clock; stop(): void } {
  let now = start;
  const sleepers: Array<{ at: number; wake(): void }> = [];
  const tick = setInterval(() => {
    if (sleepers.length === 0) return;
    sleepers.sort((a, b) => a.at - b.at);
    const next = sleepers.shift()!;
    now = Math.max(now, next.at);
    next.wake();
  }, 2);
  return {
    clock: {
      now: () => now,
      sleep: (ms) =>
        ms <= 0 ? Promise.resolve() : new Promise<void>((wake) => sleepers.push({ at: now + ms, wake })),
    },
    stop: () => clearInterval(tick),
  };
}
