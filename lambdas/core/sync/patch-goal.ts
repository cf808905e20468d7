import type { DoneAction, HcmIds, LedgerItem } from '#core/checkpoint/index.ts';
import { needsReconcile } from '#core/checkpoint/index.ts';
import type { GoalPayload, GoalRef, HcmGoals, ListedGoal, PlanGoal, WriteGuard } from '#core/hcm/index.ts';
import { diffGoal, patchBody } from '#core/hcm/index.ts';
import type { GoalRecord } from '#core/source/index.ts';
import { HcmRequestError } from '../errors.ts';
import { protocolGuards } from '../protocol-guards.ts';
import type { ExistingGoals } from './hcm-access.ts';

/** What a write did: its action, the goal as HCM answered, and a goal of an earlier identity left in HCM. */
export interface Written {
  action: DoneAction;
  goal: PlanGoal;
  replaced?: HcmIds;
}

export interface PatchContext {
  hcm: HcmGoals;
  existing: ExistingGoals;
}

/** Reads and PATCHes after a 412 before the record waits for a calmer goal (someone keeps editing it). */
const MAX_PRECONDITION_ROUNDS = 3;

const isPreconditionFailed = (err: unknown) => err instanceof HcmRequestError && err.status === 412;

/** A PATCH of ours left and nothing settled it: it may still land, carrying the If-Match it was sent with. */
export function mayLandLate(previous: LedgerItem | undefined): boolean {
  return previous?.patchStartedAt !== undefined;
}

export function refOf(ids: HcmIds): GoalRef {
  return { goalPlanId: ids.goalPlanId, path: ids.goalPath, uniqId: ids.performanceGoalsUniqID };
}

/**
 * PATCH of the goal the ledger points at, fenced by HCM's own check (invariant 7): every PATCH
 * carries the goal's ETag as If-Match, so a late PATCH can never overwrite content written after it.
 * The ETag is the ledger's (stored at the last commit) unless a write since may have landed (an
 * unclear PATCH or POST): then a read says which content HCM holds before anything is sent. A verify
 * pass that saw the goal drifted sends only the difference, with the listing's ETag. A 412 re-reads.
 */
export async function updateKnown(
  ctx: PatchContext,
  record: GoalRecord,
  known: HcmIds,
  previous: LedgerItem | undefined,
  desired: GoalPayload,
  guard: WriteGuard,
  drifted: ListedGoal | undefined,
): Promise<Written> {
  if (!protocolGuards.ifMatchOnEveryPatch) return updateKnownUnfenced(ctx, known, desired, guard, drifted);
  const patch = drifted ? diffGoal(drifted, desired) : null;
  if (drifted?.etag && patch && drifted.GoalId === known.hcmGoalId) {
    const sent = await patchOrPrecondition(ctx, drifted.ref, patch, drifted.etag, guard);
    if (sent) return sent;
  } else if (previous?.etag && !needsReconcile(previous)) {
    const sent = await patchOrPrecondition(ctx, refOf(known), patchBody(desired), previous.etag, guard);
    if (sent) return sent;
  }
  // No ETag stored (a commit before issue 25, or HCM gave none), an unclear write, or a 412: read.
  return settleFromRead(ctx, record, known.hcmGoalId, desired, guard, { fence: mayLandLate(previous) });
}

/**
 * A goal HCM already holds (found by natural key after an unclear POST or a crash, or read after a
 * 412): ours and current, it is adopted; older, it is PATCHed with the ETag just read, and a 412 reads
 * again (at most MAX_PRECONDITION_ROUNDS times, then HcmRequestError 412 fails the record).
 * `fence`: a PATCH of ours may still be in flight with the ETag this read shows (an unclear write), so
 * even content that is already ours is PATCHed once with If-Match: the goal's ETag moves on, and the
 * late PATCH can only meet a 412, never land over what the ledger is about to record.
 */
export async function settleFromRead(
  ctx: PatchContext,
  record: GoalRecord,
  goalId: number,
  desired: GoalPayload,
  guard: WriteGuard,
  o: { alreadyRead?: PlanGoal; fence?: boolean } = {},
): Promise<Written> {
  let current = o.alreadyRead;
  for (let round = 1; ; round++) {
    current ??= await ctx.existing.readLive(record, goalId);
    if (!current) throw new HcmRequestError(404, `goal ${goalId} is no longer in HCM`);
    const diff = diffGoal(current, desired);
    const fenced = protocolGuards.ifMatchOnEveryPatch;
    if (diff === null && !(o.fence && fenced && current.etag)) return { action: 'reconciled', goal: current };
    const etag = fenced ? current.etag : undefined;
    const sent = await patchOrPrecondition(ctx, current.ref, diff ?? patchBody(desired), etag, guard);
    if (sent) return diff === null ? { action: 'reconciled', goal: sent.goal } : sent;
    if (round >= MAX_PRECONDITION_ROUNDS)
      throw new HcmRequestError(
        412,
        `goal ${goalId} changed in HCM ${round} times while it was being updated`,
      );
    current = undefined;
  }
}

/** The PATCH's answer, or undefined when HCM refused it because the goal changed (412). */
async function patchOrPrecondition(
  ctx: PatchContext,
  ref: GoalRef,
  patch: Partial<GoalPayload>,
  etag: string | undefined,
  guard: WriteGuard,
): Promise<Written | undefined> {
  try {
    return { action: 'updated', goal: await ctx.hcm.update(ref, patch, etag, guard) };
  } catch (err) {
    if (isPreconditionFailed(err)) return undefined;
    throw err;
  }
}

/** Mutation O7 only: the pre-fix update, a PATCH without If-Match unless a verify listing gave one. */
async function updateKnownUnfenced(
  ctx: PatchContext,
  known: HcmIds,
  desired: GoalPayload,
  guard: WriteGuard,
  drifted: ListedGoal | undefined,
): Promise<Written> {
  const patch = drifted ? diffGoal(drifted, desired) : null;
  if (drifted && patch && drifted.GoalId === known.hcmGoalId) {
    const sent = await patchOrPrecondition(ctx, drifted.ref, patch, drifted.etag, guard);
    if (sent) return sent;
  }
  return {
    action: 'updated',
    goal: await ctx.hcm.update(refOf(known), patchBody(desired), undefined, guard),
  };
}
