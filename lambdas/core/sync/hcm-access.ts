import type { HcmGoal, HcmGoals } from '#core/hcm/index.ts';
import { type NaturalKey, naturalKeyOf } from '#core/hcm/index.ts';
import type { GoalRecord } from '#core/source/index.ts';
import type { GoalSnapshot } from './goal-index.ts';

/** Counts the calls one pass makes to the HCM port, for the chunk result and the run report. */
export function countingHcm(hcm: HcmGoals, counter: { calls: number }): HcmGoals {
  const count = <T>(p: () => Promise<T>): Promise<T> => {
    counter.calls += 1;
    return p();
  };
  const list = hcm.listPlanGoals?.bind(hcm);
  return {
    findByNaturalKey: (k) => count(() => hcm.findByNaturalKey(k)),
    findByPerson: (personNumber, goalPlanId) => count(() => hcm.findByPerson(personNumber, goalPlanId)),
    ...(list ? { listPlanGoals: (goalPlanId, page) => count(() => list(goalPlanId, page)) } : {}),
    create: (goalPlanId, payload, guard) => count(() => hcm.create(goalPlanId, payload, guard)),
    update: (goalPlanId, uniqId, patch, etag, guard) =>
      count(() => hcm.update(goalPlanId, uniqId, patch, etag, guard)),
  };
}

export function matchesKey(goal: HcmGoal, key: NaturalKey): boolean {
  return (
    goal.PersonNumber === key.personNumber &&
    goal.GoalPlanId === key.goalPlanId &&
    goal.GoalName === key.goalName
  );
}

/**
 * The goal to adopt when HCM already holds one or more for the natural key. The oldest wins (lowest
 * GoalId): if a duplicate ever slipped in, every run keeps converging on the same one.
 */
export function pickExisting(goals: HcmGoal[], key: NaturalKey): HcmGoal | undefined {
  let best: HcmGoal | undefined;
  for (const goal of goals) {
    if (!matchesKey(goal, key)) continue;
    if (!best || goal.GoalId < best.GoalId) best = goal;
  }
  return best;
}

/**
 * Existing HCM goals for the records of one chunk, fetched lazily once per person: the source groups
 * goals by person, so one findByPerson replaces several natural-key finders, and a person whose goals
 * span several plans costs one finder for all of them (the q= finder needs no plan). A person with a
 * single record to write gets the narrower natural-key finder instead (same one request, smaller
 * answer); one with several records in one plan gets the person + plan finder.
 */
export class ExistingGoals {
  private readonly byPerson = new Map<string, Promise<HcmGoal[]>>();
  private readonly demand = new Map<string, { records: number; plans: Set<number> }>();

  /** With a snapshot (the plan-wide read), records are looked up in it and no finder is sent. */
  constructor(
    private readonly hcm: HcmGoals,
    private readonly snapshot?: GoalSnapshot,
  ) {}

  /** Declares the records the pass will look up, so the cache knows which persons have several. */
  expect(records: Iterable<GoalRecord>): void {
    for (const r of records) {
      const entry = this.demand.get(r.personNumber) ?? { records: 0, plans: new Set<number>() };
      entry.records += 1;
      entry.plans.add(r.goalPlanId);
      this.demand.set(r.personNumber, entry);
    }
  }

  /**
   * After the goal the ledger pointed at answered 404: another goal of the natural key, if any. The
   * snapshot still lists the deleted goal when it went after the read, so that one is left out.
   */
  async findOtherThan(record: GoalRecord, goneGoalId: number): Promise<HcmGoal | undefined> {
    if (!this.snapshot) return this.findLive(record);
    const natural = naturalKeyOf(record);
    return pickExisting(
      this.snapshot.find(natural).filter((g) => g.GoalId !== goneGoalId),
      natural,
    );
  }

  /** Looks in HCM itself, never in the snapshot: for records the snapshot may not reflect. */
  async findLive(record: GoalRecord): Promise<HcmGoal | undefined> {
    const natural = naturalKeyOf(record);
    return pickExisting(await this.hcm.findByNaturalKey(natural), natural);
  }

  async find(record: GoalRecord): Promise<HcmGoal | undefined> {
    const natural = naturalKeyOf(record);
    if (this.snapshot) return pickExisting(this.snapshot.find(natural), natural);
    const demand = this.demand.get(record.personNumber);
    if (!demand || demand.records <= 1) return this.findLive(record);
    let goals = this.byPerson.get(record.personNumber);
    if (!goals) {
      const onlyPlan = demand.plans.size === 1 ? record.goalPlanId : undefined;
      goals = this.hcm.findByPerson(record.personNumber, onlyPlan);
      this.byPerson.set(record.personNumber, goals);
      // A failed prefetch must not poison the cache for the person's other records.
      goals.catch(() => this.byPerson.delete(record.personNumber));
    }
    // pickExisting matches the plan too: a person-wide answer holds the other plans' goals.
    return pickExisting(await goals, natural);
  }
}
