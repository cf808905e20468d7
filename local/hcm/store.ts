import { createHash } from 'node:crypto';
import type { HcmGoal } from '#core/hcm/index.ts';

/** One acknowledged change: the goal's new value (absent = deleted) and the GoalId sequence after it. */
export interface StoreChange {
  uniqId: string;
  next: StoredGoal | undefined;
  nextGoalId: number;
}

/** First GoalId handed out; GoalPlanGoalId = GoalId + PLAN_GOAL_OFFSET keeps both deterministic. */
export const FIRST_GOAL_ID = 300_000_050_000_001;
const PLAN_GOAL_OFFSET = 10_000_000;

export interface StoredGoal {
  readonly goal: HcmGoal;
  /** Bumped on every update; the ETag is derived from it. */
  readonly version: number;
}

/** What a create supplies: everything but the server-assigned keys and timestamps. */
export type NewGoal = Omit<
  HcmGoal,
  'performanceGoalsUniqID' | 'GoalId' | 'GoalPlanGoalId' | 'CreationDate' | 'LastUpdateDate'
>;

export interface StoreSnapshot {
  schema: 1;
  nextGoalId: number;
  goals: StoredGoal[];
}

/** Oracle's item key is an opaque hash of GoalId + GoalPlanGoalId; clients must find it by query. */
export function uniqIdFor(goalId: number, goalPlanGoalId: number): string {
  return createHash('sha256').update(`${goalId}:${goalPlanGoalId}`).digest('hex').slice(0, 40).toUpperCase();
}

export function etagOf(record: StoredGoal): string {
  const hash = createHash('sha1').update(`${record.goal.performanceGoalsUniqID}:${record.version}`);
  return `"${hash.digest('hex').slice(0, 20)}"`;
}

/** The reconciliation key the pipeline can query; the duplicate counters are kept per this key. */
export function naturalKey(personNumber: string, goalPlanId: number, goalName: string): string {
  return `${personNumber}\u0000${goalPlanId}\u0000${goalName}`;
}

const keyOf = (g: HcmGoal) => naturalKey(g.PersonNumber, g.GoalPlanId, g.GoalName);

function addTo<K>(index: Map<K, Set<string>>, key: K, uniqId: string): number {
  let set = index.get(key);
  if (!set) {
    set = new Set();
    index.set(key, set);
  }
  set.add(uniqId);
  return set.size;
}

function removeFrom<K>(index: Map<K, Set<string>>, key: K, uniqId: string): number {
  const set = index.get(key);
  if (!set) return 0;
  set.delete(uniqId);
  if (set.size === 0) index.delete(key);
  return set.size;
}

interface Undo {
  uniqId: string;
  previous: StoredGoal | undefined;
}

/**
 * In-memory goals with the indexes the finders need (uniqId, GoalId, natural key, person, plan), so
 * lookups stay O(1) at 50,000 goals. All mutations go through `put`, which keeps indexes and duplicate
 * counters right and journals the previous value while a transaction (a batch request) is open.
 */
export class GoalStore {
  private readonly byUniq = new Map<string, StoredGoal>();
  private readonly byGoalId = new Map<number, string>();
  private readonly byNaturalKey = new Map<string, Set<string>>();
  private readonly byPerson = new Map<string, Set<string>>();
  private readonly byPlan = new Map<number, Set<string>>();
  private nextGoalId = FIRST_GOAL_ID;
  private dupKeys = 0;
  private journal: Undo[] | null = null;

  /** `onChange` runs synchronously inside every mutation: the simulator journals it before answering. */
  constructor(private readonly onChange: (change: StoreChange) => void = () => {}) {}

  get size(): number {
    return this.byUniq.size;
  }
  /** Goals beyond the first for each natural key. */
  get duplicates(): number {
    return this.byUniq.size - this.byNaturalKey.size;
  }
  /** Natural keys that have more than one goal. */
  get duplicateKeys(): number {
    return this.dupKeys;
  }

  get(uniqId: string): StoredGoal | undefined {
    return this.byUniq.get(uniqId);
  }
  uniqIdOfGoal(goalId: number): string | undefined {
    return this.byGoalId.get(goalId);
  }
  idsForNaturalKey(key: string): ReadonlySet<string> | undefined {
    return this.byNaturalKey.get(key);
  }
  idsForPerson(personNumber: string): ReadonlySet<string> | undefined {
    return this.byPerson.get(personNumber);
  }
  idsForPlan(goalPlanId: number): ReadonlySet<string> | undefined {
    return this.byPlan.get(goalPlanId);
  }
  all(): IterableIterator<StoredGoal> {
    return this.byUniq.values();
  }

  create(fields: NewGoal, now: string): StoredGoal {
    const GoalId = this.nextGoalId++;
    const GoalPlanGoalId = GoalId + PLAN_GOAL_OFFSET;
    const goal: HcmGoal = {
      GoalId,
      ...fields,
      GoalPlanGoalId,
      CreationDate: now,
      LastUpdateDate: now,
      performanceGoalsUniqID: uniqIdFor(GoalId, GoalPlanGoalId),
    };
    const record = { goal, version: 1 };
    this.put(goal.performanceGoalsUniqID, record);
    return record;
  }

  /** Replaces the goal's attributes (keys and CreationDate are kept) and bumps its version. */
  update(uniqId: string, goal: HcmGoal, now: string): StoredGoal {
    const current = this.byUniq.get(uniqId);
    if (!current) throw new Error(`no goal ${uniqId}`);
    const record: StoredGoal = {
      goal: {
        ...goal,
        GoalId: current.goal.GoalId,
        GoalPlanGoalId: current.goal.GoalPlanGoalId,
        performanceGoalsUniqID: uniqId,
        CreationDate: current.goal.CreationDate,
        LastUpdateDate: now,
      },
      version: current.version + 1,
    };
    this.put(uniqId, record);
    return record;
  }

  delete(uniqId: string): void {
    this.put(uniqId, undefined);
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
      for (const undo of journal.reverse()) this.put(undo.uniqId, undo.previous);
      this.nextGoalId = sequence;
      throw err;
    } finally {
      this.journal = null;
    }
  }

  snapshot(): StoreSnapshot {
    return { schema: 1, nextGoalId: this.nextGoalId, goals: [...this.byUniq.values()] };
  }

  load(snapshot: StoreSnapshot): void {
    if (snapshot.schema !== 1)
      throw new Error(`unknown HCM simulator state schema ${String(snapshot.schema)}`);
    for (const record of snapshot.goals) this.put(record.goal.performanceGoalsUniqID, record, false);
    this.nextGoalId = Math.max(this.nextGoalId, snapshot.nextGoalId);
  }

  private put(uniqId: string, next: StoredGoal | undefined, notify = true): void {
    const previous = this.byUniq.get(uniqId);
    this.journal?.push({ uniqId, previous });
    if (previous) this.unindex(uniqId, previous.goal);
    if (next) {
      this.byUniq.set(uniqId, next);
      this.index(uniqId, next.goal);
    } else {
      this.byUniq.delete(uniqId);
    }
    if (notify) this.onChange({ uniqId, next, nextGoalId: this.nextGoalId });
  }

  private index(uniqId: string, goal: HcmGoal): void {
    this.byGoalId.set(goal.GoalId, uniqId);
    if (addTo(this.byNaturalKey, keyOf(goal), uniqId) === 2) this.dupKeys++;
    addTo(this.byPerson, goal.PersonNumber, uniqId);
    addTo(this.byPlan, goal.GoalPlanId, uniqId);
  }

  private unindex(uniqId: string, goal: HcmGoal): void {
    this.byGoalId.delete(goal.GoalId);
    if (removeFrom(this.byNaturalKey, keyOf(goal), uniqId) === 1) this.dupKeys--;
    removeFrom(this.byPerson, goal.PersonNumber, uniqId);
    removeFrom(this.byPlan, goal.GoalPlanId, uniqId);
  }
}
