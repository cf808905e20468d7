import type { HcmGoals, PlanGoal } from '#core/hcm/index.ts';
import type { GoalRecord } from '#core/source/index.ts';
import { protocolGuards } from '../protocol-guards.ts';
import type { GoalSnapshot } from './goal-snapshot.ts';
import type { AssigneeCache, Worker } from './plan-directory.ts';

/** Counts the calls one pass makes to the HCM port, for the chunk result and the run report. */
export function countingHcm(hcm: HcmGoals, counter: { calls: number }): HcmGoals {
  const count = <T>(p: () => Promise<T>): Promise<T> => {
    counter.calls += 1;
    return p();
  };
  const list = hcm.listPlanGoals?.bind(hcm);
  return {
    findGoals: (goalPlanId, query) => count(() => hcm.findGoals(goalPlanId, query)),
    ...(list ? { listPlanGoals: (goalPlanId, page) => count(() => list(goalPlanId, page)) } : {}),
    listPlanAssignees: (goalPlanId, page, personNumber) =>
      count(() => hcm.listPlanAssignees(goalPlanId, page, personNumber)),
    create: (goalPlanId, payload, guard) => count(() => hcm.create(goalPlanId, payload, guard)),
    update: (ref, patch, etag, guard) => count(() => hcm.update(ref, patch, etag, guard)),
  };
}

/** A goal's key in HCM: its plan (the collection it lives in), its worker and its name. */
export interface GoalKey {
  goalPlanId: number;
  personId: number;
  goalName: string;
}

export function matchesKey(goal: PlanGoal, key: GoalKey): boolean {
  return (
    goal.ref.goalPlanId === key.goalPlanId &&
    (goal.PersonId === undefined || goal.PersonId === key.personId) &&
    goal.GoalName === key.goalName
  );
}

/**
 * The goal to adopt when HCM already holds one or more for the key. The oldest wins (lowest GoalId):
 * if a duplicate ever slipped in, every run keeps converging on the same one.
 */
export function pickExisting(goals: PlanGoal[], key: GoalKey): PlanGoal | undefined {
  let best: PlanGoal | undefined;
  for (const goal of goals) {
    if (!matchesKey(goal, key)) continue;
    if (!best || goal.GoalId < best.GoalId) best = goal;
  }
  return best;
}

/**
 * Existing HCM goals and workers for the records of one chunk. Workers come from the plan's
 * assignees, one query per worker and plan, shared by all of that worker's records in the pass. Goals come from the plan-wide read's snapshot
 * when there is one; otherwise from finders on the plan's child collection, fetched lazily: a worker
 * with several records in a plan gets one finder for all of them (the worker's goals in that plan),
 * one with a single record the narrower natural-key finder (same one request, smaller answer).
 */
export class ExistingGoals {
  private readonly byWorker = new Map<string, Promise<PlanGoal[]>>();
  private readonly demand = new Map<string, number>();

  /** With a snapshot (the plan-wide read), records are looked up in it and no finder is sent. */
  constructor(
    private readonly hcm: HcmGoals,
    private readonly assignees: AssigneeCache,
    private readonly snapshot?: GoalSnapshot,
  ) {}

  /** Declares the records the pass will look up, so the cache knows which workers have several. */
  expect(records: Iterable<GoalRecord>): void {
    for (const r of records) {
      const k = workerKey(r);
      this.demand.set(k, (this.demand.get(k) ?? 0) + 1);
    }
  }

  /** The assignment the record's goal is created on (RecordRejectedError when there is no single one). */
  async worker(record: GoalRecord): Promise<Worker> {
    return (await this.assignees.get(record.goalPlanId, record.personNumber)).worker(record);
  }

  /**
   * After the goal the ledger pointed at answered 404: another goal of the natural key, if any. The
   * snapshot still lists the deleted goal when it went after the read, so that one is left out.
   */
  async findOtherThan(record: GoalRecord, goneGoalId: number): Promise<PlanGoal | undefined> {
    if (!this.snapshot) return this.findLive(record);
    return this.pick(
      record,
      this.snapshot.find(record).filter((g) => g.GoalId !== goneGoalId),
    );
  }

  /** Looks in HCM itself, never in the snapshot: for records the snapshot may not reflect. */
  async findLive(record: GoalRecord): Promise<PlanGoal | undefined> {
    const key = await this.keyOf(record);
    if (!key) return undefined;
    return pickExisting(
      await this.hcm.findGoals(record.goalPlanId, { personId: key.personId, goalName: key.goalName }),
      key,
    );
  }

  /**
   * The goal with this GoalId among the record's worker's goals in the plan, read from HCM itself
   * (content and ETag as they are now): what a PATCH decides from after an unclear write or a 412.
   */
  async readLive(record: GoalRecord, goalId: number): Promise<PlanGoal | undefined> {
    const key = await this.keyOf(record);
    if (!key) return undefined;
    const goals = await this.hcm.findGoals(record.goalPlanId, { personId: key.personId });
    return goals.find((g) => g.GoalId === goalId);
  }

  async find(record: GoalRecord): Promise<PlanGoal | undefined> {
    if (this.snapshot) {
      const listed = this.pick(record, this.snapshot.find(record));
      // An offset listing may have skipped the goal (a delete and an add between two pages): ask HCM.
      const absenceStands = this.snapshot.absenceIsEvidence || !protocolGuards.liveFinderAfterOffsetListing;
      return listed || absenceStands ? listed : this.findLive(record);
    }
    if ((this.demand.get(workerKey(record)) ?? 0) <= 1) return this.findLive(record);
    const key = await this.keyOf(record);
    if (!key) return undefined;
    const k = workerKey(record);
    let goals = this.byWorker.get(k);
    if (!goals) {
      goals = this.hcm.findGoals(record.goalPlanId, { personId: key.personId });
      this.byWorker.set(k, goals);
      // A failed prefetch must not poison the cache for the worker's other records.
      goals.catch(() => this.byWorker.delete(k));
    }
    return pickExisting(await goals, key);
  }

  /** Snapshot goals are keyed by person number already; the plan and name are matched again here. */
  private pick(record: GoalRecord, goals: PlanGoal[]): PlanGoal | undefined {
    let best: PlanGoal | undefined;
    for (const g of goals) {
      if (g.ref.goalPlanId !== record.goalPlanId || g.GoalName !== record.goalName) continue;
      if (!best || g.GoalId < best.GoalId) best = g;
    }
    return best;
  }

  /** The record's key in HCM; undefined when the worker is not on the plan (no goal of theirs can be found). */
  private async keyOf(record: GoalRecord): Promise<GoalKey | undefined> {
    const personId = (await this.assignees.get(record.goalPlanId, record.personNumber)).personId(
      record.personNumber,
    );
    return personId === undefined
      ? undefined
      : { goalPlanId: record.goalPlanId, personId, goalName: record.goalName };
  }
}

const workerKey = (r: GoalRecord) => `${r.personNumber}\u0000${r.goalPlanId}`;
