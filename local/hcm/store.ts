import { createHash } from 'node:crypto';
import { planGoalKey, type SimGoal, topGoalKey } from './goal.ts';

/** One acknowledged change: the goal's new value (absent = deleted) and the GoalId sequence after it. */
export interface StoreChange {
  goalId: number;
  next: StoredGoal | undefined;
  nextGoalId: number;
}

/** First GoalId handed out; GoalPlanGoalId = GoalId + PLAN_GOAL_OFFSET keeps both deterministic. */
export const FIRST_GOAL_ID = 300_000_050_000_001;
const PLAN_GOAL_OFFSET = 10_000_000;

export interface StoredGoal {
  readonly goal: SimGoal;
  /** Bumped on every update; the ETag is derived from it. */
  readonly version: number;
}

/** What a create supplies: everything but the server-assigned ids and timestamps. */
export type NewGoal = Omit<SimGoal, 'GoalId' | 'GoalPlanGoalId' | 'CreationDate' | 'LastUpdateDate'>;

export const STORE_SCHEMA = 2;

export interface StoreSnapshot {
  schema: typeof STORE_SCHEMA;
  nextGoalId: number;
  goals: StoredGoal[];
}

export function etagOf(record: StoredGoal): string {
  const hash = createHash('sha1').update(`${record.goal.GoalId}:${record.version}`);
  return `"${hash.digest('hex').slice(0, 20)}"`;
}

/** The reconciliation key the duplicate counters are kept by: one goal name per worker per plan. */
export function naturalKey(personId: number, goalPlanId: number, goalName: string): string {
  return `${personId}\u0000${goalPlanId}\u0000${goalName}`;
}

const keyOf = (g: SimGoal) => naturalKey(g.PersonId, g.GoalPlanId, g.GoalName);

function addTo<K, V>(index: Map<K, Set<V>>, key: K, id: V): number {
  let set = index.get(key);
  if (!set) {
    set = new Set();
    index.set(key, set);
  }
  set.add(id);
  return set.size;
}

function removeFrom<K, V>(index: Map<K, Set<V>>, key: K, id: V): number {
  const set = index.get(key);
  if (!set) return 0;
  set.delete(id);
  if (set.size === 0) index.delete(key);
  return set.size;
}

interface Undo {
  goalId: number;
  previous: StoredGoal | undefined;
}

/**
 * In-memory goals keyed by GoalId, with the indexes the resources need (each resource's opaque key,
 * natural key, person, plan), so lookups stay O(1) at 50,000 goals. All mutations go through `put`,
 * which keeps indexes and duplicate counters right and journals the previous value while a
 * transaction (a batch request) is open.
 */
export class GoalStore {
  private readonly byGoalId = new Map<number, StoredGoal>();
  private readonly byPlanKey = new Map<string, number>();
  private readonly byTopKey = new Map<string, number>();
  private readonly byNaturalKey = new Map<string, Set<number>>();
  private readonly byPerson = new Map<number, Set<number>>();
  private readonly byPlan = new Map<number, Set<number>>();
  private nextGoalId = FIRST_GOAL_ID;
  private dupKeys = 0;
  private rev = 0;
  private journal: Undo[] | null = null;

  /** `onChange` runs synchronously inside every mutation: the simulator journals it before answering. */
  constructor(private readonly onChange: (change: StoreChange) => void = () => {}) {}

  get size(): number {
    return this.byGoalId.size;
  }
  /** Changes with every mutation (and every undo): what a cached listing is checked against. */
  get revision(): number {
    return this.rev;
  }
  /** Goals beyond the first for each natural key. */
  get duplicates(): number {
    return this.byGoalId.size - this.byNaturalKey.size;
  }
  /** Natural keys that have more than one goal. */
  get duplicateKeys(): number {
    return this.dupKeys;
  }

  get(goalId: number): StoredGoal | undefined {
    return this.byGoalId.get(goalId);
  }
  /** By the plan child's key (performanceGoalsUniqID of goalPlans/{id}/child/performanceGoals). */
  byPlanChildKey(key: string): StoredGoal | undefined {
    const id = this.byPlanKey.get(key);
    return id === undefined ? undefined : this.byGoalId.get(id);
  }
  /** By the top-level performanceGoals resource's key. */
  byTopLevelKey(key: string): StoredGoal | undefined {
    const id = this.byTopKey.get(key);
    return id === undefined ? undefined : this.byGoalId.get(id);
  }
  idsForNaturalKey(key: string): ReadonlySet<number> | undefined {
    return this.byNaturalKey.get(key);
  }
  idsForPerson(personId: number): ReadonlySet<number> | undefined {
    return this.byPerson.get(personId);
  }
  idsForPlan(goalPlanId: number): ReadonlySet<number> | undefined {
    return this.byPlan.get(goalPlanId);
  }
  all(): IterableIterator<StoredGoal> {
    return this.byGoalId.values();
  }

  create(fields: NewGoal, now: string): StoredGoal {
    const GoalId = this.nextGoalId++;
    const goal: SimGoal = {
      GoalId,
      GoalPlanGoalId: GoalId + PLAN_GOAL_OFFSET,
      ...fields,
      CreationDate: now,
      LastUpdateDate: now,
    };
    const record = { goal, version: 1 };
    this.put(GoalId, record);
    return record;
  }

  /** Replaces the goal's attributes (ids and CreationDate are kept) and bumps its version. */
  update(goalId: number, goal: SimGoal, now: string): StoredGoal {
    const current = this.byGoalId.get(goalId);
    if (!current) throw new Error(`no goal ${goalId}`);
    const record: StoredGoal = {
      goal: {
        ...goal,
        GoalId: current.goal.GoalId,
        GoalPlanGoalId: current.goal.GoalPlanGoalId,
        CreationDate: current.goal.CreationDate,
        LastUpdateDate: now,
      },
      version: current.version + 1,
    };
    this.put(goalId, record);
    return record;
  }

  delete(goalId: number): void {
    this.put(goalId, undefined);
  }

  /**
   * Runs `fn` all-or-none: if it throws, every change it made is undone (GoalId sequence included)
   * and the error is rethrown. JavaScript runs it without interleaving, so no other request sees
   * a half-applied batch.
   */
  transaction<T>(fn: () => T): T {
    if (this.journal) throw new Error('nested transaction');
    const journal: Undo[] = [];
    const sequence = this.nextGoalId;
    this.journal = journal;
    try {
      return fn();
    } catch (err) {
      this.journal = null;
      for (const undo of journal.reverse()) this.put(undo.goalId, undo.previous);
      this.nextGoalId = sequence;
      throw err;
    } finally {
      this.journal = null;
    }
  }

  snapshot(): StoreSnapshot {
    return { schema: STORE_SCHEMA, nextGoalId: this.nextGoalId, goals: [...this.byGoalId.values()] };
  }

  load(snapshot: StoreSnapshot): void {
    if (snapshot.schema !== STORE_SCHEMA) {
      throw new Error(
        `HCM simulator state schema ${String(snapshot.schema)} is from an older simulator (this one ` +
          `reads ${STORE_SCHEMA}: goals now carry Oracle's attribute names); delete the state directory`,
      );
    }
    for (const record of snapshot.goals) this.put(record.goal.GoalId, record, false);
    this.nextGoalId = Math.max(this.nextGoalId, snapshot.nextGoalId);
  }

  private put(goalId: number, next: StoredGoal | undefined, notify = true): void {
    const previous = this.byGoalId.get(goalId);
    this.rev++;
    this.journal?.push({ goalId, previous });
    if (previous) this.unindex(previous.goal);
    if (next) {
      this.byGoalId.set(goalId, next);
      this.index(next.goal);
    } else {
      this.byGoalId.delete(goalId);
    }
    if (notify) this.onChange({ goalId, next, nextGoalId: this.nextGoalId });
  }

  private index(goal: SimGoal): void {
    this.byPlanKey.set(planGoalKey(goal), goal.GoalId);
    this.byTopKey.set(topGoalKey(goal), goal.GoalId);
    if (addTo(this.byNaturalKey, keyOf(goal), goal.GoalId) === 2) this.dupKeys++;
    addTo(this.byPerson, goal.PersonId, goal.GoalId);
    addTo(this.byPlan, goal.GoalPlanId, goal.GoalId);
  }

  private unindex(goal: SimGoal): void {
    this.byPlanKey.delete(planGoalKey(goal));
    this.byTopKey.delete(topGoalKey(goal));
    if (removeFrom(this.byNaturalKey, keyOf(goal), goal.GoalId) === 1) this.dupKeys--;
    removeFrom(this.byPerson, goal.PersonId, goal.GoalId);
    removeFrom(this.byPlan, goal.GoalPlanId, goal.GoalId);
  }
}
