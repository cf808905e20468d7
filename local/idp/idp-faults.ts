import { z } from 'zod';
import type { IdpFaults } from './idp-types.ts';

export const DEFAULT_RATE_LIMIT_PER_SECOND = 40;

export function defaultFaults(rateLimitPerSecond = DEFAULT_RATE_LIMIT_PER_SECOND): IdpFaults {
  return {
    latencyMs: 0,
    jitterMs: 0,
    errorRate: 0,
    errorStatus: 503,
    dropAfterIssueRate: 0,
    forceInvalidGrant: false,
    rateLimitPerSecond,
  };
}

const probability = z.number().min(0).max(1);
const millis = z.number().int().min(0).max(600_000);

/** What POST /__sim/faults accepts: any subset of the faults, strictly typed (unknown keys are a 400). */
export const faultsPatchSchema = z
  .object({
    latencyMs: millis,
    jitterMs: millis,
    errorRate: probability,
    errorStatus: z.union([z.literal(500), z.literal(503)]),
    dropAfterIssueRate: probability,
    forceInvalidGrant: z.boolean(),
    rateLimitPerSecond: z.number().min(0),
  })
  .partial()
  .strict();

export function mergeFaults(current: IdpFaults, patch: Partial<IdpFaults>): IdpFaults {
  return { ...current, ...faultsPatchSchema.parse(patch) };
}

/** Delay for one admitted token request: fixed latency plus uniform jitter. */
export function faultDelayMs(faults: IdpFaults, random: () => number = Math.random): number {
  return faults.latencyMs + (faults.jitterMs > 0 ? Math.floor(random() * faults.jitterMs) : 0);
}

/**
 * IDCS-style token bucket: `ratePerSecond` tokens refill per second, burst capacity of one second's
 * worth. Rate 0 means unlimited.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private ratePerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = ratePerSecond;
    this.last = this.now();
  }

  /** A new rate starts with a full bucket, so a test that raises or lowers the limit gets a clean slate. */
  setRate(ratePerSecond: number): void {
    if (ratePerSecond === this.ratePerSecond) return;
    this.ratePerSecond = ratePerSecond;
    this.tokens = ratePerSecond;
    this.last = this.now();
  }

  /** Takes one token; returns 0 when admitted, otherwise the milliseconds until a token is available. */
  take(): number {
    if (this.ratePerSecond <= 0) return 0;
    const now = this.now();
    this.tokens = Math.min(this.ratePerSecond, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
  }
}
