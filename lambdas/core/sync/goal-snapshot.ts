import type { GoalPlanAssignee, ListedGoal, NaturalKey } from '#core/hcm/index.ts';
import type { KnownAssignees } from './plan-directory.ts';

/**
 * What the plan-wide read (goal-index.ts) leaves for a chunk and how a chunk reads it back: the
 * index's shapes, where it is stored, and the chunk's snapshot of HCM at plan time.
 */

/** How a plan was read: by key (a goal cannot be skipped) or by offset (it can, see ExistingGoals). */
export type ListingMode = 'keyset' | 'offset';

/** What plan-sync leaves for the chunks of one run attempt (small: the slices hold the goals). */
export interface GoalIndexManifest {
  /** Epoch ms before the first page was asked for: a ledger commit after it is newer than the index. */
  readAt: number;
  /** Verify pass: chunks compare the goals the ledger says are written with this snapshot. */
  verify: boolean;
  pageSize: number;
  /**
   * How the plans were read (issue 25). `keyset`: a goal not listed was not in HCM at `readAt`. `offset`
   * (or absent: a manifest written before): a goal may have shifted out of the listing, so a record
   * not found in it gets a live finder before a POST.
   */
  listing?: ListingMode;
  /** Chunk indexes that have a slice; every other chunk's records had no goal in HCM at `readAt`. */
  chunks: number[];
  /** Plans whose assignees were read whole: a chunk's slice has its workers' rows on them. */
  assigneePlans?: number[];
  goals: number;
  requests: number;
}

/**
 * A listed goal with its worker's person number (from the plan's assignees: the plan child names the
 * worker by PersonId), so a chunk can match it to its records' natural keys.
 */
export type IndexedGoal = ListedGoal & { personNumber: string };

/** A worker's assignment row with the plan it was read from (the resource's rows need not name it). */
export type IndexedAssignee = GoalPlanAssignee & { goalPlanId: number };

/** What one chunk gets: the goals of its natural keys and its workers' rows on the plans read whole. */
export interface IndexSlice {
  goals: IndexedGoal[];
  assignees: IndexedAssignee[];
}

/** Where the index lives: next to the chunk manifest (S3 in AWS, the local object store on the laptop). */
export interface GoalIndexStore {
  /** Slices first, the manifest last: a manifest that exists describes a complete index. */
  write(
    runId: string,
    attempt: number,
    manifest: GoalIndexManifest,
    slices: Map<number, IndexSlice>,
  ): Promise<void>;
  readManifest(runId: string, attempt: number): Promise<GoalIndexManifest | undefined>;
  readSlice(runId: string, attempt: number, chunkIndex: number): Promise<IndexSlice>;
}

export const keyString = (k: NaturalKey) => `${k.personNumber}\u0000${k.goalPlanId}\u0000${k.goalName}`;

/** Adds listed goals to `into` under their natural key (several when HCM holds duplicates). */
export function groupByNaturalKey(goals: Iterable<IndexedGoal>, into: Map<string, IndexedGoal[]>): void {
  for (const g of goals) {
    const k = keyString({ personNumber: g.personNumber, goalPlanId: g.ref.goalPlanId, goalName: g.GoalName });
    const same = into.get(k);
    if (same) same.push(g);
    else into.set(k, [g]);
  }
}

const workerKey = (goalPlanId: number, personNumber: string) => `${goalPlanId}\u0000${personNumber}`;

/** A chunk's view of HCM at plan time. `find` answers for the chunk's natural keys only. */
export class GoalSnapshot implements KnownAssignees {
  private readonly byKey = new Map<string, IndexedGoal[]>();
  private readonly byId = new Map<number, IndexedGoal>();
  private readonly workers = new Map<string, GoalPlanAssignee[]>();
  private readonly assigneePlans: Set<number>;

  /**
   * `absenceIsEvidence`: the listing could not skip a goal (read by key, or in one page), so a natural
   * key it does not hold had no goal at `readAt`; otherwise a record not found gets a live finder.
   */
  constructor(
    goals: IndexedGoal[],
    readonly readAt: number,
    readonly verify: boolean,
    readonly absenceIsEvidence = true,
    assignees: IndexedAssignee[] = [],
    assigneePlans: number[] = [],
  ) {
    groupByNaturalKey(goals, this.byKey);
    for (const g of goals) this.byId.set(g.GoalId, g);
    this.assigneePlans = new Set(assigneePlans);
    for (const a of assignees) {
      const { goalPlanId, ...row } = a;
      const k = workerKey(goalPlanId, a.PersonNumber);
      this.workers.set(k, [...(this.workers.get(k) ?? []), row]);
    }
  }

  /** The worker's rows as plan-sync read them; undefined for a plan it did not read whole. */
  rows(goalPlanId: number, personNumber: string): GoalPlanAssignee[] | undefined {
    if (!this.assigneePlans.has(goalPlanId)) return undefined;
    return this.workers.get(workerKey(goalPlanId, personNumber)) ?? [];
  }

  find(key: NaturalKey): IndexedGoal[] {
    return this.byKey.get(keyString(key)) ?? [];
  }

  /** The listed goal with this GoalId, if the chunk's slice has it. */
  goal(goalId: number): IndexedGoal | undefined {
    return this.byId.get(goalId);
  }
}

/** The snapshot for one chunk, or undefined when the run has no complete index (finders then). */
export async function loadSnapshot(
  store: GoalIndexStore | undefined,
  runId: string,
  attempt: number,
  chunkIndex: number,
): Promise<GoalSnapshot | undefined> {
  if (!store) return undefined;
  const manifest = await store.readManifest(runId, attempt);
  if (!manifest) return undefined;
  const slice = manifest.chunks.includes(chunkIndex)
    ? await store.readSlice(runId, attempt, chunkIndex)
    : { goals: [], assignees: [] };
  return new GoalSnapshot(
    slice.goals,
    manifest.readAt,
    manifest.verify,
    manifest.listing === 'keyset',
    slice.assignees,
    manifest.assigneePlans,
  );
}
