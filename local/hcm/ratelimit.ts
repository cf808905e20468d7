/**
 * Token bucket per client (keyed by the access token's client_id): `rate` tokens per second, burst
 * = rate. Oracle publishes no HCM REST limit; 50/s per client is the simulator's default and
 * configurable through the rateLimitPerSecond fault.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private rate = 0;

  constructor(private readonly clock: () => number = () => performance.now()) {}

  /** Returns 0 when the request may go ahead, else the seconds to wait (integer >= 1, for Retry-After). */
  take(clientId: string, ratePerSecond: number): number {
    if (ratePerSecond <= 0) return 0;
    if (ratePerSecond !== this.rate) {
      // A new limit starts every client with a full bucket of the new size.
      this.buckets.clear();
      this.rate = ratePerSecond;
    }
    const now = this.clock();
    const capacity = Math.max(1, ratePerSecond);
    const bucket = this.buckets.get(clientId) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * ratePerSecond);
    bucket.at = now;
    this.buckets.set(clientId, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerSecond));
  }
}
