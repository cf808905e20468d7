import type { DoneAction, VerifyFinding } from '#core/checkpoint/index.ts';
import type { RecordOutcome } from './write-goal.ts';

/** What one pass over a chunk did. Every record of the chunk lands in exactly one of the first ten. */
export interface ChunkCounts {
  created: number;
  updated: number;
  unchanged: number;
  reconciled: number;
  /** Done before this pass (earlier pass, attempt or crash): skipped without an HCM call. */
  alreadyDone: number;
  invalid: number;
  /** Failed in this pass (HCM refused the record: 4xx other than 401). */
  failed: number;
  /** Failed earlier in this run attempt: skipped, retried only by a later attempt (a resume). */
  alreadyFailed: number;
  /**
   * Ended `unsettled` (in this pass or an earlier one of this attempt): a write no read has shown yet.
   * Not failed and not written again; the next run looks for the goal first.
   */
  unsettled: number;
  /** Not settled by this pass: time budget ran out, another worker holds the claim, or the pass aborted. */
  remaining: number;
  /** Of `remaining`: writes whose outcome was unclear; they wait to be visible, then are reconciled. */
  unclearWrites: number;
  /** Calls this pass made to the HCM port (finders + writes); the client's own retries are not in here. */
  hcmRequests: number;
  /**
   * Verify pass only (not part of the nine above): goals the ledger calls written that the plan-time
   * listing did not show (deleted or renamed in HCM), that it showed with other content, and how many
   * of those this pass wrote back (created again or corrected).
   */
  verifyMissing: number;
  verifyDrifted: number;
  verifyRepaired: number;
}

export function emptyCounts(): ChunkCounts {
  return {
    created: 0,
    updated: 0,
    unchanged: 0,
    reconciled: 0,
    alreadyDone: 0,
    invalid: 0,
    failed: 0,
    alreadyFailed: 0,
    unsettled: 0,
    remaining: 0,
    unclearWrites: 0,
    hcmRequests: 0,
    verifyMissing: 0,
    verifyDrifted: 0,
    verifyRepaired: 0,
  };
}

export function addCounts(a: ChunkCounts, b: ChunkCounts): ChunkCounts {
  const out = emptyCounts();
  // `?? 0`: a count object written before a field existed (a stored result) still adds up.
  for (const key of Object.keys(out) as Array<keyof ChunkCounts>) out[key] = (a[key] ?? 0) + (b[key] ?? 0);
  return out;
}

/** Counts one record's outcome in this pass's counts. */
export function tally(counts: ChunkCounts, outcome: RecordOutcome): void {
  if (outcome.kind === 'done') counts[outcome.action] += 1;
  else if (outcome.kind === 'alreadyDone') counts.alreadyDone += 1;
  else if (outcome.kind === 'failed') counts.failed += 1;
  else if (outcome.kind === 'unsettled') counts.unsettled += 1;
  else {
    counts.remaining += 1;
    if (outcome.unclear) counts.unclearWrites += 1;
  }
}

/** This pass's verify findings (syncRecord classifies them: it knows whether a PATCH found the goal). */
export function tallyVerify(counts: ChunkCounts, outcome: RecordOutcome): void {
  if (outcome.kind === 'waiting' || !outcome.finding) return;
  if (outcome.finding === 'drifted') counts.verifyDrifted += 1;
  else counts.verifyMissing += 1;
  if (outcome.kind === 'done') counts.verifyRepaired += 1;
}

/** A settled record as the chunk's snapshot counts it: its action, and the verify finding it settled. */
export interface Settled {
  action: DoneAction | 'failed' | 'unsettled' | undefined;
  finding?: VerifyFinding;
}

export function settledOf(outcome: Exclude<RecordOutcome, { kind: 'waiting' }>): Settled {
  const action = outcome.kind === 'failed' || outcome.kind === 'unsettled' ? outcome.kind : outcome.action;
  return outcome.finding ? { action, finding: outcome.finding } : { action };
}
