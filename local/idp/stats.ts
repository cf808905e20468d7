import type { IdpStats } from './types.ts';

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
    injectedErrors: 0,
    droppedResponses: 0,
    errors: {},
    grantsIssued: 0,
    revokeRequests: 0,
  };
}

/** Mutable counters behind `stats()`; callers always get a deep copy so they can diff snapshots. */
export class StatsRecorder {
  private current = emptyStats();

  get counters(): IdpStats {
    return this.current;
  }

  snapshot(): IdpStats {
    return structuredClone(this.current);
  }

  reset(): void {
    this.current = emptyStats();
  }

  countGrant(grantType: string | undefined): void {
    bump(this.current.byGrant, grantType || 'unknown');
  }

  countStatus(status: number): void {
    bump(this.current.byStatus, String(status));
  }

  countError(code: string): void {
    bump(this.current.errors, code);
  }
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}
