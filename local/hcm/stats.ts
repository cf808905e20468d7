import type { PodStats } from './pod-capacity.ts';
import type { OpTally } from './resources.ts';

export interface HcmStats {
  /** API requests under /hcmRestApi (the /__sim test surface is not counted). */
  requests: { total: number; byMethod: Record<string, number>; byStatus: Record<string, number> };
  reads: number;
  creates: number;
  updates: number;
  deletes: number;
  batches: number;
  goalsStored: number;
  /** Goals beyond the first for each PersonNumber + GoalPlanId + GoalName. */
  duplicates: number;
  /** Natural keys that have more than one goal. */
  duplicateKeys: number;
  unauthorized: number;
  throttled: number;
  serverErrors: number;
  droppedAfterCommit: number;
  /** Writes answered 504 at once and applied later (hcm.lateCommitRate). */
  lateCommits: number;
  /** Of those, still waiting to be applied. */
  lateCommitsPending: number;
  tokenAgeRejections: number;
  /** The pod-capacity model's counts (hcm.podCapacityPerSecond), when it is on. */
  pod?: PodStats;
}

/** Request and operation counters; goal-derived numbers are read from the store at snapshot time. */
export class SimCounters {
  private total = 0;
  private byMethod: Record<string, number> = {};
  private byStatus: Record<string, number> = {};
  private ops: OpTally & { batches: number } = { reads: 0, creates: 0, updates: 0, deletes: 0, batches: 0 };
  private unauthorized = 0;
  private throttled = 0;
  private serverErrors = 0;
  droppedAfterCommit = 0;
  lateCommits = 0;
  lateCommitsPending = 0;
  tokenAgeRejections = 0;

  request(method: string): void {
    this.total++;
    this.byMethod[method] = (this.byMethod[method] ?? 0) + 1;
  }

  response(status: number): void {
    this.byStatus[String(status)] = (this.byStatus[String(status)] ?? 0) + 1;
    if (status === 401) this.unauthorized++;
    else if (status === 429) this.throttled++;
    else if (status >= 500) this.serverErrors++;
  }

  batch(): void {
    this.ops.batches++;
  }

  apply(tally: OpTally): void {
    this.ops.reads += tally.reads;
    this.ops.creates += tally.creates;
    this.ops.updates += tally.updates;
    this.ops.deletes += tally.deletes;
  }

  snapshot(goals: { goalsStored: number; duplicates: number; duplicateKeys: number }): HcmStats {
    return {
      requests: { total: this.total, byMethod: { ...this.byMethod }, byStatus: { ...this.byStatus } },
      ...this.ops,
      ...goals,
      unauthorized: this.unauthorized,
      throttled: this.throttled,
      serverErrors: this.serverErrors,
      droppedAfterCommit: this.droppedAfterCommit,
      lateCommits: this.lateCommits,
      lateCommitsPending: this.lateCommitsPending,
      tokenAgeRejections: this.tokenAgeRejections,
    };
  }

  reset(): void {
    this.total = 0;
    this.byMethod = {};
    this.byStatus = {};
    this.ops = { reads: 0, creates: 0, updates: 0, deletes: 0, batches: 0 };
    this.unauthorized = 0;
    this.throttled = 0;
    this.serverErrors = 0;
    this.droppedAfterCommit = 0;
    this.lateCommits = 0;
    this.tokenAgeRejections = 0;
  }
}
