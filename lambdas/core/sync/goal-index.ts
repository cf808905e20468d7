import type { HcmGoals, ListedGoal, NaturalKey, PlanGoalsPage } from '#core/hcm/index.ts';
import { naturalKeyOf } from '#core/hcm/index.ts';
import type { ChunkRef, GoalSource } from '#core/source/index.ts';
import { ReauthRequiredError, TransientError } from '../errors.ts';
import {
  type GoalIndexManifest,
  type GoalIndexStore,
  groupByNaturalKey,
  type IndexedGoal,
  type IndexSlice,
  keyString,
  type ListingMode,
} from './goal-snapshot.ts';
import type { PlanAssignees } from './plan-directory.ts';
import { runPool } from './pool.ts';
import { readRunAssignees } from './run-assignees.ts';

/**
 * The plan-wide read (issue 15, docs/hcm-client.md): after the run lease is held, plan-sync pages
 * through each goal plan's goals once and leaves, per chunk, the goals whose natural key a record of
 * that chunk has. A chunk then looks existing goals up in its slice instead of sending finders. The
 * index is a snapshot: it is trusted only for records whose ledger shows no write that may still be
 * in flight (write-goal.ts asks HCM live for those, invariant 7). The same read takes each plan's
 * assignees in bulk when that costs fewer requests than one query per worker, and leaves each chunk
 * its workers' rows (plan-directory.ts AssigneeCache asks live only for workers it does not have).
 */

export const GOAL_INDEX_DEFAULTS = {
  /** Oracle publishes no per-resource maximum; 500 is the ADF cap we assume (the simulator's too). */
  pageSize: 500,
  /** Below this many valid records a run keeps the per-person finders (the read costs >= 1 request per plan). */
  minRecords: 500,
  /** Pages in flight at once after the first one (which tells the total). */
  concurrency: 4,
  /**
   * Assignee pages in flight at once, over all plans: a first sync of 5,000 goals reads ~80 pages,
   * and at a real pod's latency (600 ms, p99 3 s) 4 at a time, plan after plan, kept plan-sync reading
   * for half a minute at ~3 req/s. 32 is what plan-sync's pacer lets go in flight at its starting rate
   * and that latency (25 req/s x 0.76 s x 1.5): its rate decides, not this.
   */
  assigneeConcurrency: 32,
  /** Slices written at once. */
  writeConcurrency: 8,
} as const;

export type GoalIndexOptions = Partial<Record<keyof typeof GOAL_INDEX_DEFAULTS, number>>;

/** The reason plan-sync gives for skipping the read of an input it is about to reject. */
export const INPUT_REJECTED = 'input rejected';
/** Not built for an HDL run: its build and record steps read each plan themselves. */
export const HDL_READS_PLANS = 'HDL write path: the HDL steps read the plans';

/** What the plan step reports about the read (part of plan-sync's output and the run report). */
export interface GoalIndexSummary {
  built: boolean;
  /** Why no index was built (the chunks then use the per-person finders). */
  reason?: string;
  goals: number;
  requests: number;
  chunksWithGoals: number;
  /** Plans whose assignees were read whole (their workers cost the chunks no request). */
  assigneePlans?: number;
}

export interface BuildIndexInput {
  runId: string;
  attempt: number;
  chunks: ChunkRef[];
  goalPlanIds: number[];
  validRecords: number;
  verify: boolean;
}

export interface BuildIndexDeps {
  hcm: HcmGoals;
  source: GoalSource;
  store: GoalIndexStore;
  now: () => number;
}

/** The summary of a run that uses the per-person finders instead of an index. */
export function noIndex(reason: string, requests = 0): GoalIndexSummary {
  return { built: false, reason, goals: 0, requests, chunksWithGoals: 0 };
}

/** The error's name only: a message may carry a URL or HCM's answer, which the plan output must not. */
const errorName = (err: unknown) => (err instanceof Error ? err.name : 'error');

/** Raised when the listing is not consistent with itself; the run then falls back to finders. */
class IncompleteListing extends Error {}

/**
 * Reads every goal of the run's plans and writes the per-chunk slices. Returns `built: false` (and
 * writes nothing) for small runs, a port without the listing, or a listing that did not add up; a
 * verify run has no fallback and throws instead (verify-run callers check `built`).
 */
export async function buildGoalIndex(
  input: BuildIndexInput,
  deps: BuildIndexDeps,
  options: GoalIndexOptions = {},
): Promise<GoalIndexSummary> {
  const o = { ...GOAL_INDEX_DEFAULTS, ...options };
  const list = deps.hcm.listPlanGoals?.bind(deps.hcm);
  if (!list) return noIndex('the HCM port has no plan listing');
  if (!input.verify && input.validRecords < o.minRecords)
    return noIndex(`${input.validRecords} records: below ${o.minRecords}, finders are cheaper`);

  const readAt = deps.now();
  const counter = { requests: 0 };
  const byKey = new Map<string, IndexedGoal[]>();
  const directories = new Map<number, PlanAssignees>();
  let goals = 0;
  // Offset as soon as one plan was read by offset: the chunks then do not trust a goal's absence.
  let listing: ListingMode = 'keyset';
  // The source first: which natural keys each chunk has, and how many workers each plan's records name.
  const demand = await readChunkKeys(input.chunks, deps.source);
  const runWorkers = workersOf(demand);
  try {
    for (const planId of input.goalPlanIds) {
      const { goals: listed, mode } = await readPlan(list, planId, o, counter);
      if (mode === 'offset') listing = 'offset';
      goals += listed.length;
      // Goals that do not name their worker's PersonNumber need the assignees of the run's workers to
      // say whose PersonId it is (another worker's goal is no record's concern, and is left out).
      const needed = listed.length > 0 && !listed.every((g) => typeof g.PersonNumber === 'string');
      const directory = needed
        ? await readRunAssignees(deps.hcm, planId, runWorkers.get(planId) ?? [], counter, {
            concurrency: o.assigneeConcurrency,
          })
        : undefined;
      if (directory) directories.set(planId, directory);
      groupByNaturalKey(withPersonNumbers(listed, directory?.personNumbers() ?? new Map(), planId), byKey);
    }
    // Only a create needs its worker's assignment: the workers with a goal to create are read here
    // (IN lists of 200, or the plan whole when cheaper: run-assignees.ts), never more requests than
    // the chunks' one query per worker would cost.
    const creating = workersOf(demand, (key) => !byKey.has(keyString(key)));
    // The plans at once: one plan's pages must not wait for the slowest page of another.
    const toRead = input.goalPlanIds.filter(
      // One worker costs one query either way: not worth the first page that tells the plan's size.
      (planId) => !directories.has(planId) && (creating.get(planId)?.size ?? 0) > 1,
    );
    const perPlan = Math.max(1, Math.floor(o.assigneeConcurrency / Math.max(1, toRead.length)));
    const read = await Promise.all(
      toRead.map((planId) =>
        readRunAssignees(deps.hcm, planId, creating.get(planId)!, counter, {
          concurrency: perPlan,
          maxPagesWithoutIn: creating.get(planId)!.size,
        }),
      ),
    );
    for (const directory of read) if (directory) directories.set(directory.goalPlanId, directory);
  } catch (err) {
    // For a sync the index only saves requests: a listing that failed (HCM or the broker busy, a
    // timeout) leaves the chunks to their finders. A dead grant stops the run here as it would there.
    if (!input.verify && !(err instanceof ReauthRequiredError)) {
      return noIndex(
        err instanceof IncompleteListing ? err.message : `listing failed: ${errorName(err)}`,
        counter.requests,
      );
    }
    if (!(err instanceof IncompleteListing)) throw err;
    // A verify pass has no fallback; the plan may be quiet on the state machine's retry.
    throw new TransientError(`verify: ${err.message}`);
  }

  const slices = new Map<number, IndexSlice>();
  let chunksWithGoals = 0;
  for (const [chunkIndex, keys] of demand.byChunk) {
    const slice: IndexSlice = { goals: [], assignees: [] };
    const seen = new Set<string>();
    for (const key of keys) {
      slice.goals.push(...(byKey.get(keyString(key)) ?? []));
      const worker = `${key.goalPlanId}\u0000${key.personNumber}`;
      const directory = directories.get(key.goalPlanId);
      if (!directory || seen.has(worker)) continue;
      seen.add(worker);
      for (const row of directory.rowsOf(key.personNumber))
        slice.assignees.push({ ...row, goalPlanId: key.goalPlanId });
    }
    if (slice.goals.length > 0) chunksWithGoals += 1;
    if (slice.goals.length > 0 || slice.assignees.length > 0) slices.set(chunkIndex, slice);
  }
  const manifest: GoalIndexManifest = {
    readAt,
    verify: input.verify,
    pageSize: o.pageSize,
    listing,
    chunks: [...slices.keys()],
    assigneePlans: [...directories.keys()],
    goals,
    requests: counter.requests,
  };
  await deps.store.write(input.runId, input.attempt, manifest, slices);
  return { built: true, goals, requests: counter.requests, chunksWithGoals, assigneePlans: directories.size };
}

/** What the chunks ask of the index: each chunk's natural keys. */
interface ChunkDemand {
  byChunk: Map<number, NaturalKey[]>;
}

/** The workers the run's records name, per plan (those of the records `keep` accepts). */
function workersOf(
  demand: ChunkDemand,
  keep: (key: NaturalKey) => boolean = () => true,
): Map<number, Set<string>> {
  const out = new Map<number, Set<string>>();
  for (const keys of demand.byChunk.values()) {
    for (const key of keys) {
      if (!keep(key)) continue;
      const workers = out.get(key.goalPlanId) ?? new Set<string>();
      workers.add(key.personNumber);
      out.set(key.goalPlanId, workers);
    }
  }
  return out;
}

/** One pass over the source (valid records only) before HCM is read. */
async function readChunkKeys(chunks: ChunkRef[], source: GoalSource): Promise<ChunkDemand> {
  const demand: ChunkDemand = { byChunk: new Map() };
  for (const chunk of chunks) {
    const keys: NaturalKey[] = [];
    for await (const entry of source.readChunk(chunk)) {
      if (!('record' in entry)) continue;
      keys.push(naturalKeyOf(entry.record));
    }
    demand.byChunk.set(chunk.index, keys);
  }
  return demand;
}

/**
 * The listed goals with their worker's person number. A goal without PersonId cannot be matched to a
 * record, so the listing is not used (finders then); one whose worker is no longer on the plan is left
 * out (no record of this run can create or adopt it: that worker's records fail as not assigned).
 */
function withPersonNumbers(
  listed: ListedGoal[],
  personNumbers: Map<number, string>,
  planId: number,
): IndexedGoal[] {
  const out: IndexedGoal[] = [];
  for (const g of listed) {
    if (typeof g.PersonNumber === 'string') {
      out.push({ ...g, personNumber: g.PersonNumber });
      continue;
    }
    if (typeof g.PersonId !== 'number')
      throw new IncompleteListing(`plan ${planId}: goal ${g.GoalId} was listed without PersonId`);
    const personNumber = personNumbers.get(g.PersonId);
    if (personNumber !== undefined) out.push({ ...g, personNumber });
  }
  return out;
}

type Lister = (
  goalPlanId: number,
  page: { offset: number; limit: number; totalResults?: boolean; keyset?: { after?: number } },
) => Promise<PlanGoalsPage>;

/** A page that is not in ascending GoalId order above `after`: the pod did not honour the keyset. */
function keysetHonoured(items: ListedGoal[], after: number): boolean {
  let last = after;
  for (const g of items) {
    if (!(g.GoalId > last)) return false;
    last = g.GoalId;
  }
  return true;
}

/**
 * Every goal of one plan by key (issue 25): `orderBy=GoalId:asc`, then `q=GoalId > last` until a short
 * page. A delete or an add between two pages cannot shift a goal out of the listing, so the listing need
 * not add up to totalResults. Undefined when the pod does not honour it (order or filter ignored): the
 * caller reads by offset instead. Pages go out one at a time (each names the last one's end).
 */
async function readPlanByKey(
  list: Lister,
  goalPlanId: number,
  o: Record<keyof typeof GOAL_INDEX_DEFAULTS, number>,
  counter: { requests: number },
): Promise<ListedGoal[] | undefined> {
  const goals: ListedGoal[] = [];
  let after: number | undefined;
  let size = o.pageSize;
  for (;;) {
    counter.requests += 1;
    const page = await list(goalPlanId, {
      offset: 0,
      limit: size,
      keyset: after === undefined ? {} : { after },
    });
    if (!keysetHonoured(page.items, after ?? Number.NEGATIVE_INFINITY)) return undefined;
    goals.push(...page.items);
    // The first page shows the page size the server really uses (it may cap `limit`).
    if (after === undefined && page.items.length > 0 && page.items.length < size && page.hasMore)
      size = page.items.length;
    if (page.items.length === 0 || (page.items.length < size && !page.hasMore)) return goals;
    after = page.items.at(-1)!.GoalId;
  }
}

/** Every goal of one plan: by key where the pod supports it, else by offset (which must add up). */
async function readPlan(
  list: Lister,
  goalPlanId: number,
  o: Record<keyof typeof GOAL_INDEX_DEFAULTS, number>,
  counter: { requests: number },
): Promise<{ goals: ListedGoal[]; mode: ListingMode }> {
  const byKey = await readPlanByKey(list, goalPlanId, o, counter);
  if (byKey) return { goals: byKey, mode: 'keyset' };
  return { goals: await readPlanByOffset(list, goalPlanId, o, counter), mode: 'offset' };
}

/**
 * Every goal of one plan. The first page shows the page size the server really uses (it may cap
 * `limit` below what was asked) and, with totalResults, how many pages to ask for at once. The end is
 * a short page, not hasMore or totalResults (both reported unreliable with offsets). Offsets over a
 * collection that changes meanwhile can skip or repeat items, so the listing must add up: no goal
 * twice, and as many as totalResults said; otherwise it is discarded (docs/hcm-client.md). Even then a
 * delete and an add between two pages can shift a goal out of both with the count intact, so a goal's
 * absence from an offset listing is not evidence (GoalSnapshot.absenceIsEvidence).
 */
async function readPlanByOffset(
  list: Lister,
  goalPlanId: number,
  o: Record<keyof typeof GOAL_INDEX_DEFAULTS, number>,
  counter: { requests: number },
): Promise<ListedGoal[]> {
  counter.requests += 1;
  const first = await list(goalPlanId, { offset: 0, limit: o.pageSize, totalResults: true });
  const pages: ListedGoal[][] = [first.items];
  const size = first.items.length;
  let done = size === 0 || (size < o.pageSize && !first.hasMore);
  let offset = size;
  while (!done) {
    // Pages that totalResults says exist go out together; past it (or without it), one at a time.
    const expected = first.totalResults ?? 0;
    const ahead = Math.max(1, Math.min(o.concurrency, Math.ceil((expected - offset) / size)));
    const offsets = Array.from({ length: ahead }, (_, i) => offset + i * size);
    const batch = new Map<number, ListedGoal[]>();
    await runPool(
      offsets,
      ahead,
      () => true,
      async (off) => {
        counter.requests += 1;
        batch.set(off, (await list(goalPlanId, { offset: off, limit: size })).items);
      },
    );
    for (const off of offsets) {
      const items = batch.get(off) ?? [];
      pages.push(items);
      if (items.length < size) done = true;
    }
    offset += ahead * size;
  }
  const unique = new Map<number, ListedGoal>();
  let listed = 0;
  for (const page of pages) {
    for (const g of page) {
      unique.set(g.GoalId, g);
      listed += 1;
    }
  }
  const total = first.totalResults;
  if (unique.size !== listed || (total !== undefined && unique.size !== total)) {
    throw new IncompleteListing(
      `plan ${goalPlanId}: listed ${listed} goals (${unique.size} distinct), totalResults said ${total ?? 'nothing'}: the plan changed while it was read`,
    );
  }
  return [...unique.values()];
}
