/** Shapes of the checkpoint items (DynamoDB attributes, minus pk/sk). */

export interface SourceLocation {
  uri: string;
  format: 'jsonl' | 'csv';
}

export type RunStatus =
  | 'planning'
  | 'running'
  | 'completed'
  | 'completed_with_failures'
  | 'failed'
  | 'needs_reauth';

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = [
  'completed',
  'completed_with_failures',
  'failed',
  'needs_reauth',
];

export interface RunTotals {
  totalRecords: number;
  validRecords: number;
  invalid: number;
  bytes: number;
}

/** Final per-run goal counts (the run report's `goals` block plus what was left undone). */
export interface GoalCounts {
  total: number;
  created: number;
  updated: number;
  unchanged: number;
  reconciled: number;
  invalid: number;
  failed: number;
  /** Valid records without a terminal state (a run that stopped early). */
  unsettled: number;
}

export interface RunItem {
  runId: string;
  status: RunStatus;
  source: SourceLocation;
  connectionId: string;
  chunkSize: number;
  chunkCount?: number;
  totals?: RunTotals;
  counts?: GoalCounts;
  /** How many times plan-sync started or resumed this run; failed records are retried once per attempt. */
  attempt: number;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  lastError?: { error: string; cause?: string };
  updatedAt: string;
  expiresAt: number;
}

export type RecordStatus = 'pending' | 'done' | 'failed';
export type DoneAction = 'created' | 'updated' | 'unchanged' | 'reconciled';

/** HCM identifiers of a goal: GoalId for people, performanceGoalsUniqID for PATCH. */
export interface HcmIds {
  hcmGoalId: number;
  performanceGoalsUniqID: string;
  goalPlanId: number;
}

export interface RecordItem {
  externalKey: string;
  status: RecordStatus;
  contentHash: string;
  chunkIndex?: number;
  /** Worker that holds the claim while the record is pending; removed on done/failed. */
  owner?: string;
  /** Epoch ms after which another worker may take the claim over. */
  claimExpiresAt?: number;
  attempts: number;
  /** Run attempt of the latest claim: a failure is retried by a later attempt, not by the same one. */
  runAttempt: number;
  /** The last write attempt may have committed in HCM without us seeing the answer. */
  ambiguous?: boolean;
  action?: DoneAction;
  hcmGoalId?: number;
  performanceGoalsUniqID?: string;
  goalPlanId?: number;
  reason?: string;
  retryable?: boolean;
  updatedAt: string;
}

export interface LedgerItem {
  externalKey: string;
  connectionId: string;
  contentHash: string;
  hcmGoalId: number;
  performanceGoalsUniqID: string;
  goalPlanId: number;
  lastRunId: string;
  syncedAt: string;
}

export interface InvalidRecordItem {
  line: number;
  key?: string;
  reason: string;
}

/** A chunk's state as its last pass saw it (all records of the chunk, not just that pass's). */
export interface ChunkSummary {
  index: number;
  /** Run attempt of the pass that wrote it: finish-sync trusts only the current attempt's snapshots. */
  attempt: number;
  status: 'complete' | 'partial';
  records: number;
  invalid: number;
  created: number;
  updated: number;
  unchanged: number;
  reconciled: number;
  failed: number;
  /** done + failed: only grows, so an older snapshot never overwrites a newer one. */
  settled: number;
  passes: number;
  updatedAt: string;
}
