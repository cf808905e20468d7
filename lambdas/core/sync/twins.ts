import type { LedgerItem, TwinEntry } from '#core/checkpoint/index.ts';
import type { ListedGoal } from '#core/hcm/index.ts';
import type { GoalRecord } from '#core/source/index.ts';
import { HcmRequestError } from '../errors.ts';
import type { GoalSnapshot } from './goal-snapshot.ts';

/**
 * Two (or more) goals of one natural key that this system made itself: the ledger counts two POSTs of
 * the record, so the first one Oracle committed after the settle horizon (invariant 7). `keep` is the
 * oldest (lowest GoalId), the one every run adopts (hcm-access.ts pickExisting); `younger` is what
 * `goal-sync twins --remove` deletes, on a person's word only.
 */
export type Twin = TwinEntry;
type TwinGoal = Twin['keep'];

/** How many twins a chunk summary keeps by name; the count is always exact. */
export const TWINS_KEPT_PER_CHUNK = 100;

const goalOf = (g: ListedGoal): TwinGoal => ({
  goalId: g.GoalId,
  ref: { goalPlanId: g.ref.goalPlanId, path: g.ref.path, uniqId: g.ref.uniqId },
  ...(g.etag ? { etag: g.etag } : {}),
});

/**
 * The chunk's twins, from the plan-wide listing and the ledger. A second goal of a key whose ledger
 * shows one POST (or none) is not ours to call a twin: a person or another tool made it, and the run
 * goes on adopting the oldest as before.
 */
export function findTwins(
  records: readonly GoalRecord[],
  ledgerOf: (externalKey: string) => LedgerItem | undefined,
  snapshot: GoalSnapshot | undefined,
): Twin[] {
  if (!snapshot) return [];
  const twins: Twin[] = [];
  for (const record of records) {
    const postsSent = ledgerOf(record.externalKey)?.postsSent ?? 0;
    if (postsSent < 2) continue;
    const goals = snapshot
      .find(record)
      .filter((g) => g.ref.goalPlanId === record.goalPlanId && g.GoalName === record.goalName)
      .sort((a, b) => a.GoalId - b.GoalId);
    const [keep, ...younger] = goals;
    if (!keep || younger.length === 0) continue;
    twins.push({
      externalKey: record.externalKey,
      keep: goalOf(keep),
      younger: younger.map(goalOf),
      postsSent,
    });
  }
  return twins;
}

/** Where a run's twins are kept (chunk summaries of its current attempt). */
export interface TwinSource {
  listChunkSummaries(runId: string): Promise<Array<{ attempt: number; twinList?: Twin[] }>>;
}

/** The run's twins as its last attempt's chunk summaries name them (the latest attempt wins). */
export async function listTwins(chunks: TwinSource, runId: string): Promise<Twin[]> {
  const summaries = await chunks.listChunkSummaries(runId);
  const attempt = Math.max(0, ...summaries.map((s) => s.attempt));
  return summaries.filter((s) => s.attempt === attempt).flatMap((s) => s.twinList ?? []);
}

export interface TwinRemoval {
  externalKey: string;
  goalId: number;
  outcome: 'deleted' | 'gone' | 'refused';
  reason?: string;
}

/**
 * Deletes the younger goal(s) of each twin, each with the ETag it was listed with: one edited since
 * is `refused` (HCM answered 412) and left for a person to look at. Never called by a run.
 */
export async function removeYounger(
  hcm: { remove(ref: ListedGoal['ref'], etag?: string): Promise<'deleted' | 'gone'> },
  twins: readonly Twin[],
): Promise<TwinRemoval[]> {
  const out: TwinRemoval[] = [];
  for (const twin of twins) {
    for (const goal of twin.younger) {
      try {
        const outcome = await hcm.remove(goal.ref, goal.etag);
        out.push({ externalKey: twin.externalKey, goalId: goal.goalId, outcome });
      } catch (err) {
        if (!(err instanceof HcmRequestError) || err.status !== 412) throw err;
        const reason = 'changed in HCM since the run listed it (412): look at it before removing';
        out.push({ externalKey: twin.externalKey, goalId: goal.goalId, outcome: 'refused', reason });
      }
    }
  }
  return out;
}
