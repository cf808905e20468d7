import type { GoalLedger, RecordStore } from '#core/checkpoint/index.ts';
import {
  committedIds,
  type DoneAction,
  type HcmIds,
  type LedgerItem,
  needsReconcile,
  type VerifyFinding,
} from '#core/checkpoint/index.ts';
import type {
  GoalMapping,
  GoalPayload,
  HcmGoals,
  ListedGoal,
  PlanGoal,
  WriteGuard,
} from '#core/hcm/index.ts';
import { toGoalPayload } from '#core/hcm/index.ts';
import type { GoalRecord } from '#core/source/index.ts';
import {
  CheckpointConflictError,
  ClaimLostError,
  ConnectionRecoveringError,
  HcmRequestError,
  InvalidRecordError,
  isAmbiguousWrite,
  UnsettledWriteError,
} from '../errors.ts';
import type { Clock } from '../ports.ts';
import { protocolGuards } from '../protocol-guards.ts';
import type { ExistingGoals } from './hcm-access.ts';
import { mayLandLate, settleFromRead, updateKnown, type Written } from './patch-goal.ts';

export interface RecordSyncContext {
  hcm: HcmGoals;
  records: RecordStore;
  ledger: GoalLedger;
  existing: ExistingGoals;
  owner: string;
  runId: string;
  runAttempt: number;
  chunkIndex: number;
  /** Writes in a row whose outcome stayed unknown before the record is failed for this attempt. */
  maxUnclearWrites: number;
  clock: Clock;
  /** The operator's status / category / percent codes (mapping-config.ts). */
  mapping?: GoalMapping;
}

/** `finding`: a verify finding this outcome settled (written back when done, not when failed). */
export type RecordOutcome =
  | { kind: 'done'; action: DoneAction; replaced?: HcmIds; finding?: VerifyFinding }
  | { kind: 'alreadyDone'; action?: DoneAction; finding?: VerifyFinding }
  | { kind: 'failed'; reason: string; finding?: VerifyFinding }
  /** A write may have reached HCM and no read has shown it: not failed, not written again this run. */
  | { kind: 'unsettled'; reason: string; finding?: VerifyFinding }
  /** Not writable now (another claim, or a write not visible yet): try again after `until` (epoch ms). */
  | { kind: 'waiting'; until: number; unclear?: boolean };

/**
 * A verify pass's finding for a goal the ledger calls written: `listed` is the goal as the plan-time
 * listing showed it with other content (drifted); absent, the listing did not show it (missing).
 */
export interface VerifyHint {
  listed?: ListedGoal;
  /** When the listing was read: a ledger commit after it is newer evidence than the listing. */
  readAt: number;
}

/**
 * Answers that concern this one record: it is marked failed and the run goes on. A mapping or worker
 * problem (RecordRejectedError), a 4xx, or a 500 with o:errorDetails (a business rule: HCM looked at
 * the record and refused it).
 */
function isRecordLevel(err: unknown): err is HcmRequestError | InvalidRecordError {
  if (err instanceof InvalidRecordError) return true;
  if (!(err instanceof HcmRequestError)) return false;
  // 401 after the client's own re-auth retry, or another 5xx, is about the connection, not the record.
  return err.businessRule || (err.status >= 400 && err.status < 500 && err.status !== 401);
}

/** What the ledger keeps of a goal: its GoalId for people, and the self link update and repair use. */
function idsOf(goal: PlanGoal): HcmIds {
  return {
    hcmGoalId: goal.GoalId,
    performanceGoalsUniqID: goal.ref.uniqId,
    goalPlanId: goal.ref.goalPlanId,
    goalPath: goal.ref.path,
  };
}

/**
 * Syncs one record that needs an HCM write (docs/invariants.md, invariant 7). Claim on the ledger
 * item first; every request that writes renews and checks that claim right before it is sent; the
 * confirmed write is committed to the ledger in one write that requires the claim. A write whose
 * outcome is unclear is never repeated in the same pass: the record waits until a late commit would
 * be visible, and the next claimant looks for the goal before creating it.
 */
export async function syncRecord(
  ctx: RecordSyncContext,
  record: GoalRecord,
  contentHash: string,
  verify?: VerifyHint,
): Promise<RecordOutcome> {
  const key = record.externalKey;
  const claim = await ctx.ledger.claim(key, ctx.owner);
  if (!claim.claimed) return { kind: 'waiting', until: claim.until };
  const previous = claim.previous;
  const progress = { contentHash, chunkIndex: ctx.chunkIndex, runAttempt: ctx.runAttempt };

  const settledIds = committedIds(previous);
  // A verify finding stands only against a commit the listing saw; one made since is newer evidence.
  const syncedAt = previous?.syncedAt ? Date.parse(previous.syncedAt) : 0;
  const recheck = verify !== undefined && syncedAt < verify.readAt;
  if (settledIds && previous?.contentHash === contentHash && !needsReconcile(previous) && !recheck) {
    // Committed by an overlapping invocation or run since this pass read its snapshot.
    await ctx.ledger.release(key, ctx.owner, false);
    const ours = previous.lastRunId === ctx.runId;
    const action: DoneAction = ours ? (previous.lastAction ?? 'unchanged') : 'unchanged';
    await ctx.records.complete(key, { ...progress, action, ids: settledIds });
    return ours ? { kind: 'alreadyDone', action } : { kind: 'done', action };
  }

  // Set once a request of this call has left (the guard runs with the token in hand, right before the send).
  let wrote = false;
  // The method of the last request that left: an unclear POST counts as a create that may have landed.
  let sent: 'POST' | 'PATCH' | undefined;
  const guardFor =
    (method: 'POST' | 'PATCH'): WriteGuard =>
    async () => {
      if (protocolGuards.claimCheckedBeforeWrite) {
        try {
          await ctx.ledger.beginWrite(key, ctx.owner, method);
        } catch (err) {
          // The renewal came too late to send after it: nothing left, so the marks it set go back.
          if (err instanceof ClaimLostError && !wrote && protocolGuards.markOnlyWhenSent)
            await ctx.ledger.releaseUnsent(key, ctx.owner, previous);
          throw err;
        }
      }
      wrote = true;
      sent = method;
    };
  // Not listed, but a PATCH of the goal the ledger points at succeeded: it was renamed or moved in
  // HCM, which is drift after all.
  const findingOf = (action?: DoneAction): VerifyFinding | undefined =>
    !recheck ? undefined : verify.listed || action === 'updated' ? 'drifted' : 'missing';
  try {
    const result = await write(ctx, record, previous, guardFor, recheck ? verify?.listed : undefined);
    const ids = idsOf(result.goal);
    await ctx.ledger.commit(key, ctx.owner, {
      contentHash,
      ids,
      personNumber: record.personNumber,
      action: result.action,
      ...(result.goal.etag ? { etag: result.goal.etag } : {}),
    });
    const finding = findingOf(result.action);
    await ctx.records.complete(
      key,
      { ...progress, action: result.action, ids, ...(finding ? { verifyFinding: finding } : {}) },
      result.replaced,
    );
    return {
      kind: 'done',
      action: result.action,
      ...(result.replaced ? { replaced: result.replaced } : {}),
      ...(finding ? { finding } : {}),
    };
  } catch (err) {
    if (err instanceof ClaimLostError || err instanceof CheckpointConflictError) {
      return { kind: 'waiting', until: ctx.clock.now() + 1_000 };
    }
    const finding = findingOf();
    const failedProgress = finding ? { ...progress, verifyFinding: finding } : progress;
    if (err instanceof UnsettledWriteError) {
      // The ledger keeps the POST's marks: the next run reads again before anything else.
      await ctx.records.unsettle(key, failedProgress, err.message);
      await ctx.ledger.release(key, ctx.owner, false);
      return { kind: 'unsettled', reason: err.message, ...(finding ? { finding } : {}) };
    }
    if (isRecordLevel(err)) {
      await ctx.records.fail(key, failedProgress, err.message, false);
      // HCM refused the write outright: nothing of it can commit later.
      await ctx.ledger.release(key, ctx.owner, true);
      return { kind: 'failed', reason: err.message, ...(finding ? { finding } : {}) };
    }
    if (err instanceof ConnectionRecoveringError && err.notSent) {
      // No request of this call left: the claim goes back with the marks it found.
      await ctx.ledger.releaseUnsent(key, ctx.owner, previous);
      throw err;
    }
    if (wrote || isAmbiguousWrite(err)) {
      const { visibleAfter, unclearWrites } = await ctx.ledger.markUnclear(key, ctx.owner, sent === 'POST');
      if (unclearWrites >= ctx.maxUnclearWrites) {
        // Not failed: one of these writes may have landed. The ledger keeps the marks; the next run looks.
        const reason = `the outcome of ${unclearWrites} writes in a row stayed unknown; the next run looks for the goal first`;
        await ctx.records.unsettle(key, failedProgress, reason);
        return { kind: 'unsettled', reason, ...(finding ? { finding } : {}) };
      }
      if (isAmbiguousWrite(err)) return { kind: 'waiting', until: visibleAfter, unclear: true };
      throw err;
    }
    await ctx.ledger.release(key, ctx.owner, false);
    throw err;
  }
}

async function write(
  ctx: RecordSyncContext,
  record: GoalRecord,
  previous: LedgerItem | undefined,
  guardFor: (method: 'POST' | 'PATCH') => WriteGuard,
  drifted?: ListedGoal,
): Promise<Written> {
  const guard = guardFor('PATCH');
  // An unmappable value fails the record here, before any request.
  const desired = toGoalPayload(record, ctx.mapping);
  const known = committedIds(previous);
  // A goal's person and plan cannot be patched: a record that moved needs a goal of its own.
  const moved =
    known !== undefined &&
    (known.goalPlanId !== record.goalPlanId ||
      (previous?.personNumber !== undefined && previous.personNumber !== record.personNumber));
  let deleted = false;
  if (known && !moved) {
    try {
      // Known goal and changed content: a PATCH cannot create a goal, so it needs no finder.
      return await updateKnown(ctx, record, known, previous, desired, guard, drifted);
    } catch (err) {
      // Deleted in HCM since the last sync: fall through to find-or-create by natural key.
      if (!(err instanceof HcmRequestError && err.status === 404)) throw err;
      deleted = true;
    }
  }
  // A write of ours may have committed after the plan-time index (or a chunk's prefetch) was read:
  // ask HCM itself (invariant 7, window O5). A goal that just answered 404 is left out of the index.
  const found =
    needsReconcile(previous) && protocolGuards.liveLookupAfterWriteTrace
      ? await ctx.existing.findLive(record)
      : deleted && known
        ? await ctx.existing.findOtherThan(record, known.hcmGoalId)
        : await ctx.existing.find(record);
  const replaced = moved ? known : undefined;
  if (found)
    return {
      ...(await settleFromRead(ctx, record, found.GoalId, desired, guard, {
        alreadyRead: found,
        fence: mayLandLate(previous),
      })),
      ...(replaced ? { replaced } : {}),
    };
  refuseSecondPost(ctx, record, previous);
  // A new goal names its worker's assignment on the plan (RecordRejectedError when there is no single one).
  const worker = await ctx.existing.worker(record);
  const payload: GoalPayload = { ...desired, PersonId: worker.personId, AssignmentId: worker.assignmentId };
  const post = guardFor('POST');
  const goal = protocolGuards.noRepeatAfterUnclearWrite
    ? await ctx.hcm.create(record.goalPlanId, payload, post)
    : await createOnceUnguarded(ctx, record, payload, post);
  return { action: 'created', goal, ...(replaced ? { replaced } : {}) };
}

/**
 * No goal seen, and a POST of ours that no commit or refusal settled may still land: not a second one
 * before the settle horizon has passed since it left (the record ends `unsettled`). The visibility
 * wait only decides when to look, never that the goal is not coming.
 */
function refuseSecondPost(
  ctx: RecordSyncContext,
  record: GoalRecord,
  previous: LedgerItem | undefined,
): void {
  const sentAt = previous?.postStartedAt;
  if (!protocolGuards.noPostWhileUnclear || sentAt === undefined) return;
  const horizon = ctx.ledger.settleHorizonMs;
  if (ctx.clock.now() >= sentAt + horizon) return;
  throw new UnsettledWriteError(
    `a POST of ${record.externalKey} sent at ${new Date(sentAt).toISOString()} may still land and no read has shown its goal; not POSTing again before ${new Date(sentAt + horizon).toISOString()}`,
  );
}

/** Mutation O1 only: the pre-fix `createOnce`, which looked right after an unclear POST and posted again. */
async function createOnceUnguarded(
  ctx: RecordSyncContext,
  record: GoalRecord,
  payload: GoalPayload,
  guard: WriteGuard,
): Promise<PlanGoal> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.hcm.create(record.goalPlanId, payload, guard);
    } catch (err) {
      if (!isAmbiguousWrite(err) || attempt >= 3) throw err;
      const found = await ctx.existing.findLive(record);
      if (found) return found;
    }
  }
}
