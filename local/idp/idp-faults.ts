import { z } from 'zod';
import type { IdpFaults } from './idp-types.ts';

/** IDCS "Token Mgmt" limits for an Oracle Apps identity domain (sku/api-rate-limiting.htm). */
export const DEFAULT_RATE_LIMIT_PER_SECOND = 40;
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 1000;

export function defaultFaults(
  rateLimitPerSecond = DEFAULT_RATE_LIMIT_PER_SECOND,
  rateLimitPerMinute = DEFAULT_RATE_LIMIT_PER_MINUTE,
): IdpFaults {
  return {
    latencyMs: 0,
    jitterMs: 0,
    errorRate: 0,
    errorStatus: 503,
    dropAfterIssueRate: 0,
    gatewayErrorAfterIssueRate: 0,
    forceInvalidGrant: false,
    rateLimitPerSecond,
    rateLimitPerMinute,
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
    gatewayErrorAfterIssueRate: probability,
    forceInvalidGrant: z.boolean(),
    rateLimitPerSecond: z.number().min(0),
    rateLimitPerMinute: z.number().int().min(0),
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

const WINDOW_MS = 60_000;

/**
 * At most `limit` admitted requests in any 60-second window (a sliding log: IDCS does not say whether
 * its minute is fixed or sliding, and sliding is the stricter reading). 0 means unlimited.
 */
export class SlidingMinute {
  /** Admission times, oldest first; never longer than the limit. */
  private admitted: number[] = [];

  constructor(
    private limit: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A new limit starts an empty window, like TokenBucket.setRate. */
  setLimit(limit: number): void {
    if (limit === this.limit) return;
    this.limit = limit;
    this.admitted = [];
  }

  /** 0 if a request would be admitted now, otherwise the milliseconds until the oldest one leaves. */
  waitMs(): number {
    if (this.limit <= 0) return 0;
    const now = this.now();
    while (this.admitted.length && now - (this.admitted[0] as number) >= WINDOW_MS) this.admitted.shift();
    if (this.admitted.length < this.limit) return 0;
    return Math.max(1, Math.ceil((this.admitted[0] as number) + WINDOW_MS - now));
  }

  /** Counts an admitted request (after every other limit admitted it too, so a 429 costs nothing here). */
  admit(): void {
    if (this.limit > 0) this.admitted.push(this.now());
  }
}
