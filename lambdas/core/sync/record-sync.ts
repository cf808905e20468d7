import type { RecordStore } from '../checkpoint/record-store.ts';
import type { DoneAction, HcmIds, LedgerItem } from '../checkpoint/types.ts';
import { CheckpointConflictError, HcmRequestError, InvalidRecordError, TransientError } from '../errors.ts';
import { type HcmGoals, isAmbiguousWrite } from '../hcm/client.ts';
import { diffGoal, naturalKeyOf, toHcmPayload } from '../hcm/mapping.ts';
import type { HcmGoal, HcmGoalPayload } from '../hcm/oracle.ts';
import type { GoalRecord } from '../source/schema.ts';
import { type ExistingGoals, pickExisting } from './hcm-access.ts';

export interface RecordSyncContext {
  hcm: HcmGoals;
  records: RecordStore;
  existing: ExistingGoals;
  owner: string;
  runAttempt: number;
  chunkIndex: number;
  claimTtlMs: number;
  /** POSTs whose outcome stayed unknown (each followed by a finder) before the record is left for later. */
  maxCreateAttempts: number;
}

export type RecordOutcome =
  | { kind: 'done'; action: DoneAction }
  | { kind: 'alreadyDone'; action?: DoneAction }
  | { kind: 'failed'; reason: string }
  | { kind: 'contended'; claimExpiresAt?: number };

/** HCM answers that concern this one record: it is marked failed and the run goes on. */
function isRecordLevel(err: unknown): err is HcmRequestError | InvalidRecordError {
  if (err instanceof InvalidRecordError) return true;
  // 401 after the client's own re-auth retry, or a 5xx, is about the connection, not the record.
  return err instanceof HcmRequestError && err.status >= 400 && err.status < 500 && err.status !== 401;
}

function idsOf(goal: HcmGoal, fallbackPlanId: number): HcmIds {
  return {
    hcmGoalId: goal.GoalId,
    performanceGoalsUniqID: goal.performanceGoalsUniqID,
    goalPlanId: goal.GoalPlanId ?? fallbackPlanId,
  };
}

/**
 * Syncs one record that needs an HCM write (invariant 7): claim + durable `pending` intent first, then
 * PATCH by the ledger's ids, or adopt/update a goal HCM already has for the natural key, or create.
 * A record that was pending before (crash) or whose last POST was ambiguous is reconciled with a fresh
 * natural-key finder before anything is created. Ledger first, then `done`: a crash in between leaves
 * a pending record whose ledger already matches, which the next pass settles as unchanged.
 */
export async function syncRecord(
  ctx: RecordSyncContext,
  record: GoalRecord,
  contentHash: string,
  ledger?: LedgerItem,
): Promise<RecordOutcome> {
  const key = record.externalKey;
  const claim = await ctx.records.claim({
    externalKey: key,
    contentHash,
    chunkIndex: ctx.chunkIndex,
    runAttempt: ctx.runAttempt,
    owner: ctx.owner,
    claimTtlMs: ctx.claimTtlMs,
  });
  if (!claim.claimed) {
    if (claim.reason === 'done') return { kind: 'alreadyDone', action: claim.current?.action };
    return { kind: 'contended', claimExpiresAt: claim.current?.claimExpiresAt };
  }
  const previous = claim.previous;
  const reconcileFirst = previous?.status === 'pending' || previous?.ambiguous === true;
  try {
    const { action, goal } = await write(ctx, record, ledger, reconcileFirst);
    const ids = idsOf(goal, record.goalPlanId);
    await ctx.records.putLedger(key, contentHash, ids);
    await ctx.records.complete(key, ctx.owner, action, ids);
    return { kind: 'done', action };
  } catch (err) {
    if (err instanceof CheckpointConflictError) return { kind: 'contended' };
    if (!isRecordLevel(err)) throw err;
    await ctx.records.fail(key, ctx.owner, err.message, false);
    return { kind: 'failed', reason: err.message };
  }
}

async function write(
  ctx: RecordSyncContext,
  record: GoalRecord,
  ledger: LedgerItem | undefined,
  reconcileFirst: boolean,
): Promise<{ action: DoneAction; goal: HcmGoal }> {
  const desired = toHcmPayload(record);
  if (ledger) {
    try {
      // Known goal and changed content: a PATCH is idempotent, so a resumed pending record needs no finder.
      const goal = await ctx.hcm.update(ledger.goalPlanId, ledger.performanceGoalsUniqID, desired);
      return { action: 'updated', goal };
    } catch (err) {
      // Deleted in HCM since the last sync: fall through to find-or-create by natural key.
      if (!(err instanceof HcmRequestError && err.status === 404)) throw err;
    }
  }
  const natural = naturalKeyOf(record);
  const found = reconcileFirst
    ? pickExisting(await ctx.hcm.findByNaturalKey(natural), natural)
    : await ctx.existing.find(record);
  if (found) return adopt(ctx, record.goalPlanId, found, desired);
  return createOnce(ctx, record, desired);
}

/** HCM already has the goal (committed by us before a crash, or created elsewhere): update only if it differs. */
async function adopt(
  ctx: RecordSyncContext,
  goalPlanId: number,
  found: HcmGoal,
  desired: HcmGoalPayload,
): Promise<{ action: DoneAction; goal: HcmGoal }> {
  const patch = diffGoal(found, desired);
  if (patch === null) return { action: 'reconciled', goal: found };
  const goal = await ctx.hcm.update(found.GoalPlanId ?? goalPlanId, found.performanceGoalsUniqID, patch);
  return { action: 'updated', goal };
}

/** POST, and after an answer that may hide a commit, look before posting again. */
async function createOnce(
  ctx: RecordSyncContext,
  record: GoalRecord,
  desired: HcmGoalPayload,
): Promise<{ action: DoneAction; goal: HcmGoal }> {
  const natural = naturalKeyOf(record);
  for (let attempt = 1; attempt <= ctx.maxCreateAttempts; attempt++) {
    try {
      return { action: 'created', goal: await ctx.hcm.create(record.goalPlanId, desired) };
    } catch (err) {
      if (!isAmbiguousWrite(err)) throw err;
      // Durable before the finder: if we die now, the next worker still knows to look first.
      if (attempt === 1) await ctx.records.markAmbiguous(record.externalKey, ctx.owner);
      const found = pickExisting(await ctx.hcm.findByNaturalKey(natural), natural);
      if (found) return adopt(ctx, record.goalPlanId, found, desired);
    }
  }
  throw new TransientError(
    `create of ${record.externalKey} stayed ambiguous after ${ctx.maxCreateAttempts} attempts; it will be reconciled on retry`,
  );
}
