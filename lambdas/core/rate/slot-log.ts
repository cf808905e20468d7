import { NoRateSlotError } from '../errors.ts';
import type { Clock } from '../ports.ts';
import { sleepOn } from '../retry.ts';

/**
 * A fleet-wide (or process-wide) request rate: resolves when one request may leave now. Throws
 * NoRateSlotError (nothing sent: a plain transient failure) when no slot is free by `latestStart`, the
 * last moment the request could still start.
 */
export interface FleetRateLimiter {
  acquire(latestStart: number): Promise<void>;
}

export const NO_RATE_LIMIT: FleetRateLimiter = { acquire: async () => undefined };

/**
 * The sliding-window log every limiter here keeps: `size` slots, reservation n takes the time
 * max(earliest, slot[n mod size] + windowMs). Any size + 1 reservations include two of the same
 * residue a whole window apart, so no window holds more than `size` of them. A rate that is not a
 * whole number keeps floor(rate) slots (at least 1) over a window stretched to slots / rate seconds.
 */
export function slotShape(ratePerSecond: number, guardMs: number): { size: number; windowMs: number } {
  const size = Math.max(1, Math.floor(ratePerSecond));
  return { size, windowMs: (1000 * size) / ratePerSecond + guardMs };
}

/** The next `count` send times of a log whose reservation counter is `n`. */
export function nextSlots(
  log: { n: number; slots: Record<number, number> },
  shape: { size: number; windowMs: number },
  earliest: number,
  count: number,
): number[] {
  return nextSlotsAcross(log.n, [{ shape, slots: log.slots }], earliest, count);
}

/**
 * The next `count` send times under several logs that share one reservation counter `n` (a per-second
 * and a per-minute limit): every reservation is written into each log, so each keeps its own spacing
 * and the time taken is the latest any of them allows.
 */
export function nextSlotsAcross(
  n: number,
  logs: ReadonlyArray<{ shape: { size: number; windowMs: number }; slots: Record<number, number> }>,
  earliest: number,
  count: number,
): number[] {
  const out: number[] = [];
  // This batch's own reservations, over the logs' (a batch larger than a log wraps onto itself).
  const taken = logs.map(() => new Map<number, number>());
  for (let j = 0; j < count; j++) {
    let at = earliest;
    logs.forEach(({ shape, slots }, k) => {
      const residue = (n + j) % shape.size;
      const before = taken[k]!.get(residue) ?? slots[residue] ?? Number.NEGATIVE_INFINITY;
      at = Math.max(at, before + shape.windowMs);
    });
    logs.forEach(({ shape }, k) => {
      taken[k]!.set((n + j) % shape.size, at);
    });
    out.push(at);
  }
  return out;
}

export function noSlot(what: string, latestStart: number, cause?: unknown): NoRateSlotError {
  return new NoRateSlotError(
    `${what}: no slot before ${new Date(latestStart).toISOString()}; the request was not sent`,
    undefined,
    cause === undefined ? undefined : { cause },
  );
}

/** How late past its slot a caller may still send (the DynamoDB limiter's guard / 2). */
const LATE_WAKE_MS = 50;

/**
 * The log in this process's memory: every caller that shares the object shares the rate (the local
 * runner's containers; a container's fail-soft pace when the fleet's store is out of reach).
 */
export class InProcessRateLimiter implements FleetRateLimiter {
  private readonly shape: { size: number; windowMs: number };
  private readonly log: { n: number; slots: Record<number, number> } = { n: 0, slots: {} };
  /** Requests let through, and slots given up by a late wake-up, for tests and reports. */
  admitted = 0;
  spent = 0;

  constructor(
    readonly ratePerSecond: number,
    private readonly clock: Clock,
    private readonly what = 'request rate',
    guardMs = 0,
  ) {
    this.shape = slotShape(ratePerSecond, guardMs);
  }

  async acquire(latestStart: number): Promise<void> {
    if (!(this.ratePerSecond > 0)) return;
    for (;;) {
      const [at] = nextSlots(this.log, this.shape, this.clock.now(), 1) as [number];
      if (at > latestStart) throw noSlot(`${this.what} ${this.ratePerSecond}/s`, latestStart);
      this.log.slots[this.log.n % this.shape.size] = at;
      this.log.n += 1;
      const wait = at - this.clock.now();
      if (wait > 0) await sleepOn(this.clock, wait);
      // A wake-up this late (a stalled event loop) would send together with the slots after it: the
      // slot is spent and the caller queues again, so a stall never turns into a burst.
      if (this.clock.now() - at <= LATE_WAKE_MS) break;
      this.spent += 1;
    }
    this.admitted += 1;
  }
}

/**
 * A limiter as a request ceiling of the HCM pacer: each request waits up to `maxWaitMs` for its slot,
 * then fails as not sent (NoRateSlotError), which the caller retries like any transient failure.
 */
export function ceilingOf(
  limiter: FleetRateLimiter,
  clock: Clock,
  maxWaitMs = 60_000,
): { acquire(): Promise<void> } {
  return { acquire: () => limiter.acquire(clock.now() + maxWaitMs) };
}
