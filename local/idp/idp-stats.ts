import { IdpTimelineRecorder } from './idp-timeline.ts';
import type { IdpStats } from './idp-types.ts';

export function emptyStats(): IdpStats {
  return {
    tokenRequests: 0,
    byGrant: {},
    byStatus: {},
    accessTokensIssued: 0,
    refreshes: 0,
    reuseDetections: 0,
    revocations: 0,
    rateLimited: 0,
    rateLimitedPerMinute: 0,
    injectedErrors: 0,
    droppedResponses: 0,
    gatewayErrorsAfterIssue: 0,
    errors: {},
    grantsIssued: 0,
    revokeRequests: 0,
  };
}

/** Mutable counters behind `stats()`; callers always get a deep copy so they can diff snapshots. */
export class StatsRecorder {
  private current = emptyStats();
  private arrivals: number[] = [];
  /** Issued tokens and answers over time (the report's charts); reset with the counters. */
  readonly timeline = new IdpTimelineRecorder();

  get counters(): IdpStats {
    return this.current;
  }

  snapshot(): IdpStats {
    return structuredClone(this.current);
  }

  reset(): void {
    this.current = emptyStats();
    this.arrivals = [];
    this.timeline.reset();
  }

  /** When each token request arrived (epoch ms): rates are measured from these, not from sampled counts. */
  tokenRequestArrived(at: number): void {
    this.arrivals.push(at);
  }

  tokenRequestTimes(): number[] {
    return [...this.arrivals];
  }

  countGrant(grantType: string | undefined): void {
    bump(this.current.byGrant, grantType || 'unknown');
  }

  countStatus(status: number): void {
    bump(this.current.byStatus, String(status));
    this.timeline.answered(Date.now(), status);
  }

  countError(code: string): void {
    bump(this.current.errors, code);
  }
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

/**
 * The most requests in any window [t, t + windowMs) of the given arrival times: the rate an IdP that
 * counts per sliding second sees, with no sampling or bucket-boundary artefact.
 */
export function peakInWindow(times: readonly number[], windowMs = 1_000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while ((sorted[last] as number) - (sorted[first] as number) >= windowMs) first++;
    peak = Math.max(peak, last - first + 1);
  }
  return peak;
}
