/** Shapes of the checkpoint items (DynamoDB attributes, minus pk/sk). */
import type { SourceVersion } from '#core/source/index.ts';

export interface SourceLocation {
  uri: string;
  format: 'jsonl' | 'csv';
  /** The version pinned at plan time (invariant 8). */
  version?: SourceVersion;
  /** What the execution said the bytes are (SourceRef.encoding); a resume reads them the same way. */
  encoding?: string;
  delimiter?: ',' | ';' | '\t';
}

export type RunStatus =
  | 'planning'
  | 'running'
  /**
   * Not terminal: the execution's REST deadline passed with records still pending, and a new execution
   * of the same run continues from the ledger (sync/continuation.ts). No sync.completed/failed yet.
   */
  | 'continuing'
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

export interface RunContinuation {
  /** Valid records with no terminal state when the run was handed over. */
  pending: number;
  /** The executions the run has taken so far (1 + continuations), counting the one it was handed to. */
  executions: number;
  /** The execution the run was handed to. */
  executionName: string;
  at: string;
}

export interface RunTotals {
  totalRecords: number;
  validRecords: number;
  invalid: number;
  bytes: number;
}

/** A goal of a twin pair as the listing showed it: its self link, and its ETag for an If-Match DELETE. */
export interface TwinGoal {
  goalId: number;
  ref: { goalPlanId: number; path: string; uniqId: string };
  etag?: string;
}

/** A twin as a chunk summary keeps it (sync/twins.ts Twin): the goal every run adopts and the younger. */
export interface TwinEntry {
  externalKey: string;
  keep: TwinGoal;
  younger: TwinGoal[];
  postsSent: number;
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
  /**
   * Valid records this run could not settle: a write whose outcome no read has shown yet (status
   * `unsettled`, settled by the next run), or no terminal state at all (a run that stopped early).
   */
  unsettled: number;
  /**
   * A verify run only: goals the ledger called written that HCM no longer held (missing) or held with
   * other content (drifted), and how many of them were written back.
   */
  verify?: VerifyCounts;
  /**
   * Natural keys for which HCM holds two goals that this system both POSTed (absent: none). Reported,
   * never removed by a run: `goal-sync twins --run-id ID --remove` deletes the younger on a person's word.
   */
  twins?: number;
}

export interface VerifyCounts {
  missing: number;
  drifted: number;
  repaired: number;
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
  /** The current attempt is a verify pass (set when it is planned). */
  verify?: boolean;
  /**
   * The current attempt's REST duration estimate (sync/run-estimate.ts RunEstimate; kept opaque here,
   * since checkpoint imports nothing of sync): finish-sync copies it into the report and the event.
   */
  estimate?: Readonly<Record<string, unknown>>;
  /** The execution that planned the current attempt. */
  executionArn?: string;
  /**
   * The latest hand-over to a new execution: how many records were still pending then (a continuation
   * that settled none of them is not continued again) and how many executions the run has taken.
   */
  continuation?: RunContinuation;
  startedAt: string;
  finishedAt?: string;
  durationMs?: number;
  lastError?: { error: string; cause?: string };
  updatedAt: string;
  expiresAt: number;
}

/**
 * `unsettled`: a write of this record may have reached HCM and no read has shown it yet; the run cannot
 * say which, so it neither writes again nor calls the record failed. The next run looks first.
 */
export type RecordStatus = 'pending' | 'done' | 'failed' | 'unsettled';
export type DoneAction = 'created' | 'updated' | 'unchanged' | 'reconciled';

/**
 * HCM identifiers of a goal: GoalId for people; the path of the goal's self link (and its last
 * segment, performanceGoalsUniqID) for PATCH, as HCM gave them, never built from ids.
 */
export interface HcmIds {
  hcmGoalId: number;
  performanceGoalsUniqID: string;
  goalPlanId: number;
  goalPath: string;
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
  goalPath?: string;
  reason?: string;
  retryable?: boolean;
  /** The goal the ledger pointed at before the record's person or plan changed (left in place in HCM). */
  replacedGoal?: HcmIds;
  /** A verify pass settled it from a finding: HCM had lost the goal, or held other content. */
  verifyFinding?: VerifyFinding;
  updatedAt: string;
}

export type VerifyFinding = 'missing' | 'drifted';

/**
 * The ledger item of one (connection, external key): what HCM holds for it once a write was
 * confirmed, and the claim every writer of that record must hold (docs/invariants.md, invariant 7).
 * It is shared by every run and attempt of the connection, so overlapping invocations, resumes and
 * runs all contend on this one item, and the commit is one conditional write on it.
 */
export interface LedgerItem {
  externalKey: string;
  connectionId: string;
  /** Set by a confirmed write (commit); absent on an item that only ever held a claim. */
  contentHash?: string;
  hcmGoalId?: number;
  performanceGoalsUniqID?: string;
  goalPlanId?: number;
  /** The goal's self link path (issue 23); a commit of an older version has none. */
  goalPath?: string;
  /** Identity of the goal the ids point at: a record whose person or plan changed needs a new goal. */
  personNumber?: string;
  lastRunId?: string;
  lastAction?: DoneAction;
  syncedAt?: string;
  /** Invocation that holds the claim, its run and until when (epoch ms). */
  claimOwner?: string;
  claimRunId?: string;
  claimExpiresAt?: number;
  /** A write request was started (epoch ms) and its outcome is not settled yet. */
  writeStartedAt?: number;
  /** Nobody claims the record before this (epoch ms): a write that may still commit must be visible first. */
  visibleAfter?: number;
  /** The last write's outcome is unknown (timeout, 5xx, reset): reconcile with a finder before any create. */
  ambiguous?: boolean;
  /** How many writes in a row ended unclear. */
  unclearWrites?: number;
  /**
   * The goal was loaded through HCM Data Loader under this SourceSystemOwner (the record's external key
   * is its SourceSystemId): a later HDL load may MERGE it. Absent: HCM holds no source key of ours.
   */
  hdlSourceOwner?: string;
  /**
   * A POST left at this time (epoch ms) and no commit or refusal settled it: until a read sees the goal,
   * the record is not created again before the settle horizon has passed (it ends `unsettled`).
   */
  postStartedAt?: number;
  /**
   * Creates of this record that reached HCM or may have, ever (a POST or load committed as `created`,
   * or a POST whose outcome stayed unclear; every commit keeps it): two or more, and HCM holding two
   * goals of the key, makes them twins of ours (sync/twins.ts).
   */
  postsSent?: number;
  /** A PATCH left at this time (epoch ms) and no commit settled it: it may land late with its If-Match. */
  patchStartedAt?: number;
  /** The goal's ETag as HCM answered the last committed write: the If-Match of the next PATCH. */
  etag?: string;
  /** The highest run generation that claimed the item (invariant 10): older passes may not claim it. */
  runGeneration?: number;
}

/**
 * The HCM ids a committed ledger item holds, or undefined when none was committed yet. A commit
 * without the goal's self link path (made before issue 23, when keys were read from bodies) counts as
 * none: the record is looked up by natural key and adopted, which stores the link.
 */
export function committedIds(ledger: LedgerItem | undefined): HcmIds | undefined {
  if (!ledger || ledger.hcmGoalId === undefined || ledger.performanceGoalsUniqID === undefined)
    return undefined;
  if (ledger.goalPlanId === undefined || ledger.goalPath === undefined) return undefined;
  return {
    hcmGoalId: ledger.hcmGoalId,
    performanceGoalsUniqID: ledger.performanceGoalsUniqID,
    goalPlanId: ledger.goalPlanId,
    goalPath: ledger.goalPath,
  };
}

/** A write may have happened that no one confirmed: the next writer looks (finder) before creating. */
export function needsReconcile(ledger: LedgerItem | undefined): boolean {
  return (
    ledger?.writeStartedAt !== undefined || ledger?.ambiguous === true || ledger?.postStartedAt !== undefined
  );
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
  /** Records this run could not settle (absent on snapshots written before the status existed). */
  unsettled?: number;
  /** done + failed + unsettled: only grows, so an older snapshot never overwrites a newer one. */
  settled: number;
  /** Keys with twins of ours in HCM (sync/twins.ts), and the first of them by name (absent: none). */
  twins?: number;
  twinList?: TwinEntry[];
  /** Of the settled records, those a verify finding settled (absent on snapshots of other runs). */
  verifyMissing?: number;
  verifyDrifted?: number;
  verifyRepaired?: number;
  passes: number;
  updatedAt: string;
}
