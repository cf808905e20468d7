import type { GoalLedger, HdlPartStore, RecordStore } from '#core/checkpoint/index.ts';
import type { HcmGoals, PlanGoal } from '#core/hcm/index.ts';
import { GOAL_PLAN_GOAL_SUFFIX, type HdlDataSets } from '#core/hdl/index.ts';
import type { IndexObjects } from './goal-index-objects.ts';
import { type HdlPartRecord, type HdlRun, hdlObjectKey } from './hdl-build.ts';
import { parsePeople, planGoalKey, planPeopleName, readPlanGoals } from './hdl-plan-read.ts';
import { readPlanAssignees } from './plan-directory.ts';
import { runPool } from './pool.ts';

export interface HdlOutcomeDeps {
  parts: HdlPartStore;
  objects: IndexObjects;
  dataSets: HdlDataSets;
  records: RecordStore;
  ledger: GoalLedger;
  hcm: HcmGoals;
  /** The claim owner of this invocation (the ledger commit is made under a claim, as REST's is). */
  owner: string;
}

export interface HdlOutcomeTotals {
  loaded: number;
  failed: number;
  unsettled: number;
}

/** The word a record gets when its write's outcome could not be established (issue 25's `unsettled`). */
export const UNSETTLED = 'unsettled';

/**
 * Settles every record of every loaded part (issue 24 item 2): a line the data set's messages name is
 * `failed` with Oracle's message (a later run of the same records resends it); a loaded goal is found
 * by the plan-wide read (worker + name) and committed to the ledger with its GoalId, self link and our
 * source key, as `created` or `updated`, so the REST Map settles it without an HCM call and verify
 * and later REST updates work; a line neither failed nor found is `unsettled` (REC# status of issue 25:
 * counted in goals.unsettled, never written again by this run, looked at again by the next).
 */
export async function recordHdlOutcomes(
  run: HdlRun,
  deps: HdlOutcomeDeps,
  options: { sourceSystemOwner: string; concurrency?: number },
): Promise<HdlOutcomeTotals> {
  const totals: HdlOutcomeTotals = { loaded: 0, failed: 0, unsettled: 0 };
  const listings = new Map<number, Map<string, PlanGoal>>();
  for (const part of await deps.parts.list(run.runId)) {
    if (part.status === 'recorded') {
      totals.loaded += part.loaded ?? 0;
      totals.failed += part.failed ?? 0;
      totals.unsettled += part.unsettled ?? 0;
      continue;
    }
    if (part.status !== 'loaded' || part.requestId === undefined) continue;
    const body = await deps.objects.get(hdlObjectKey(run.runId, part.name, 'json'));
    const list: HdlPartRecord[] = body ? JSON.parse(body) : [];
    const failedBy = new Map<string, string>();
    for (const m of await deps.dataSets.messages(part.requestId)) {
      const key = m.sourceSystemId.endsWith(GOAL_PLAN_GOAL_SUFFIX)
        ? m.sourceSystemId.slice(0, -GOAL_PLAN_GOAL_SUFFIX.length)
        : m.sourceSystemId;
      const line = m.fileLine !== undefined ? ` (line ${m.fileLine})` : '';
      failedBy.set(key, [failedBy.get(key), `${m.component}${line}: ${m.text}`].filter(Boolean).join('; '));
    }
    let listing = listings.get(part.goalPlanId);
    if (!listing) {
      // The build step's read of the plan's workers; read again only if it is missing.
      const people = await deps.objects.get(hdlObjectKey(run.runId, planPeopleName(part.goalPlanId), 'json'));
      const assignees = people
        ? parsePeople(people)
        : await readPlanAssignees(
            (id, page, person) => deps.hcm.listPlanAssignees(id, page, person),
            part.goalPlanId,
          );
      listing = await readPlanGoals(deps.hcm, part.goalPlanId, assignees);
      listings.set(part.goalPlanId, listing);
    }
    const found = listing;
    const counts = { loaded: 0, failed: 0, unsettled: 0 };
    await runPool(
      list,
      options.concurrency ?? 16,
      () => true,
      async (r) => {
        const progress = { contentHash: r.contentHash, chunkIndex: r.chunkIndex, runAttempt: run.attempt };
        const failure = failedBy.get(r.externalKey);
        if (failure !== undefined) {
          counts.failed += 1;
          await deps.records.fail(
            r.externalKey,
            progress,
            `HDL data set ${part.requestId}: ${failure}`,
            false,
          );
          return;
        }
        const goal = found.get(planGoalKey(r.personNumber, r.goalName));
        const claim = goal ? await deps.ledger.claim(r.externalKey, deps.owner) : undefined;
        if (!goal || !claim?.claimed) {
          counts.unsettled += 1;
          const why = goal
            ? 'another writer holds the record'
            : 'the data set reports no error for it, yet the plan-wide read does not list the goal';
          await deps.records.unsettle(r.externalKey, progress, `HDL data set ${part.requestId}: ${why}`);
          return;
        }
        await deps.ledger.commit(r.externalKey, deps.owner, {
          contentHash: r.contentHash,
          ids: {
            hcmGoalId: goal.GoalId,
            performanceGoalsUniqID: goal.ref.uniqId,
            goalPlanId: goal.ref.goalPlanId,
            goalPath: goal.ref.path,
          },
          personNumber: r.personNumber,
          action: r.update ? 'updated' : 'created',
          // The listing's ETag: a later REST update of this goal sends it as If-Match.
          ...(goal.etag ? { etag: goal.etag } : {}),
          sourceSystemOwner: options.sourceSystemOwner,
        });
        counts.loaded += 1;
      },
    );
    await deps.parts.update(run.runId, part.part, { status: 'recorded', ...counts });
    totals.loaded += counts.loaded;
    totals.failed += counts.failed;
    totals.unsettled += counts.unsettled;
  }
  return totals;
}
