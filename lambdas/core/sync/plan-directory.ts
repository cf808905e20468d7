import type { AssigneesPage, GoalPlanAssignee, PlanGoalsQuery } from '#core/hcm/index.ts';
import type { GoalRecord } from '#core/source/index.ts';
import { RecordRejectedError } from '../errors.ts';
import { runPool } from './pool.ts';

/** Assignees per page: Oracle publishes no cap for the resource; 500 is the common ADF one. */
export const ASSIGNEES_PAGE_SIZE = 500;

type ListAssignees = (
  goalPlanId: number,
  page: PlanGoalsQuery,
  personNumber?: string,
) => Promise<AssigneesPage>;

/** The worker assignment a goal is created on. */
export interface Worker {
  personId: number;
  assignmentId: number;
}

/**
 * Who is assigned to one goal plan (`goalPlanAssignees`, read in bulk: one request per 500
 * assignments, not one per goal): person number -> the worker's assignments on the plan. A worker
 * not on the plan, or with several assignments on it and none named, is a record error: Oracle
 * stores the assignment with the goal and a guess would put the goal on the wrong one.
 */
export class PlanAssignees {
  private readonly byPerson = new Map<string, GoalPlanAssignee[]>();

  constructor(
    readonly goalPlanId: number,
    assignees: Iterable<GoalPlanAssignee>,
  ) {
    for (const a of assignees) {
      const list = this.byPerson.get(a.PersonNumber) ?? [];
      if (!list.some((b) => b.AssignmentId === a.AssignmentId)) list.push(a);
      this.byPerson.set(a.PersonNumber, list);
    }
  }

  /** PersonId -> person number of every worker on the plan. */
  personNumbers(): Map<number, string> {
    const out = new Map<number, string>();
    for (const [personNumber, list] of this.byPerson) for (const a of list) out.set(a.PersonId, personNumber);
    return out;
  }

  /** The worker's rows on the plan (none when not on it). */
  rowsOf(personNumber: string): GoalPlanAssignee[] {
    return this.byPerson.get(personNumber) ?? [];
  }

  /** The worker's PersonId when they are on the plan (for finders and matching), else undefined. */
  personId(personNumber: string): number | undefined {
    return this.byPerson.get(personNumber)?.[0]?.PersonId;
  }

  /** The assignment the record's goal belongs to, or RecordRejectedError saying what is wrong. */
  worker(record: Pick<GoalRecord, 'personNumber' | 'assignmentNumber'>): Worker {
    const a = this.assignee(record);
    return { personId: a.PersonId, assignmentId: a.AssignmentId };
  }

  /** The plan assignee row the record's goal belongs to (HDL names its AssignmentNumber), or RecordRejectedError. */
  assignee(record: Pick<GoalRecord, 'personNumber' | 'assignmentNumber'>): GoalPlanAssignee {
    const plan = this.goalPlanId;
    const mine = this.byPerson.get(record.personNumber) ?? [];
    const numbers = mine.map((a) => a.AssignmentNumber ?? `AssignmentId ${a.AssignmentId}`).join(', ');
    if (mine.length === 0)
      throw new RecordRejectedError(
        `worker ${record.personNumber} is not assigned to goal plan ${plan} (not among its goalPlanAssignees): assign the plan to the worker in HCM, or correct personNumber / goalPlanId`,
      );
    if (record.assignmentNumber !== undefined) {
      const named = mine.find((a) => a.AssignmentNumber === record.assignmentNumber);
      if (!named)
        throw new RecordRejectedError(
          `assignmentNumber ${record.assignmentNumber} is not an assignment of worker ${record.personNumber} on goal plan ${plan} (theirs: ${numbers})`,
        );
      return named;
    }
    if (mine.length > 1)
      throw new RecordRejectedError(
        `worker ${record.personNumber} has ${mine.length} assignments on goal plan ${plan} (${numbers}): name one in assignmentNumber`,
      );
    return mine[0]!;
  }
}

/** How a plan's assignees are read: pages in flight after the first, and a cap on pages. */
export interface ReadAssigneesOptions {
  pageSize?: number;
  /** Pages in flight at once once the first page told the total (the goal listing uses 4). */
  concurrency?: number;
  /**
   * Read only when the first page's totalResults says the plan needs at most this many pages
   * (undefined: always read all). plan-sync asks for a plan's assignees only when that costs fewer
   * requests than one query per worker would.
   */
  maxPages?: number;
}

/**
 * Every assignee of a plan: the first page asks for totalResults, the pages it announces go out
 * together, and the end is a short page (hasMore is not relied on, as for the goal listing). A
 * listing that changes while read can skip a worker: that worker is then looked up on its own by the
 * chunk (AssigneeCache), never written on a guess. Undefined when `maxPages` says the plan is too big.
 */
export async function readPlanAssignees(
  list: ListAssignees,
  goalPlanId: number,
  counter?: { requests: number },
  options?: Omit<ReadAssigneesOptions, 'maxPages'>,
): Promise<PlanAssignees>;
export async function readPlanAssignees(
  list: ListAssignees,
  goalPlanId: number,
  counter: { requests: number },
  options: ReadAssigneesOptions,
): Promise<PlanAssignees | undefined>;
export async function readPlanAssignees(
  list: ListAssignees,
  goalPlanId: number,
  counter: { requests: number } = { requests: 0 },
  options: ReadAssigneesOptions = {},
): Promise<PlanAssignees | undefined> {
  const pageSize = options.pageSize ?? ASSIGNEES_PAGE_SIZE;
  counter.requests += 1;
  const first = await list(goalPlanId, { offset: 0, limit: pageSize, totalResults: true });
  const size = first.read;
  const total = first.totalResults;
  if (options.maxPages !== undefined) {
    // Without a count the cost is unknown: the chunks' per-worker queries are the bounded choice.
    if (total === undefined || (size > 0 && Math.ceil(total / size) > options.maxPages)) return undefined;
  }
  const all: GoalPlanAssignee[] = [...first.items];
  // The server may cap `limit` below what was asked: offsets move by what a page held.
  let done = size === 0 || !first.hasMore;
  let offset = size;
  while (!done) {
    // Every page the count announced, `concurrency` in flight as one pool rather than in rounds: a
    // round waits for its slowest page, and at a real pod's tail (p99 3 s) that was most of the read.
    const announced = Math.max(1, Math.ceil(((total ?? 0) - offset) / size));
    const offsets = Array.from({ length: announced }, (_, i) => offset + i * size);
    const pages: AssigneesPage[] = [];
    await runPool(
      offsets.map((off, i) => ({ off, i })),
      options.concurrency ?? 4,
      () => true,
      async ({ off, i }) => {
        counter.requests += 1;
        pages[i] = await list(goalPlanId, { offset: off, limit: size });
      },
    );
    for (const page of pages) {
      all.push(...page.items);
      if (page.read < size || !page.hasMore) done = true;
    }
    offset += announced * size;
  }
  return new PlanAssignees(goalPlanId, all);
}

/** One worker's rows on one plan (q=GoalPlanId and PersonNumber), every page of them. */
async function readWorker(
  list: ListAssignees,
  goalPlanId: number,
  personNumber: string,
  counter: { requests: number },
): Promise<PlanAssignees> {
  const all: GoalPlanAssignee[] = [];
  for (let offset = 0; ; ) {
    counter.requests += 1;
    const page = await list(goalPlanId, { offset, limit: ASSIGNEES_PAGE_SIZE }, personNumber);
    all.push(...page.items);
    if (!page.hasMore || page.read === 0) break;
    offset += page.read;
  }
  return new PlanAssignees(goalPlanId, all);
}

/** The assignee rows plan-sync read for a chunk's workers (the goal index's slice). */
export interface KnownAssignees {
  /** The worker's rows, or undefined when plan-sync did not read that plan (or did not see the worker). */
  rows(goalPlanId: number, personNumber: string): GoalPlanAssignee[] | undefined;
}

/**
 * A chunk's workers. Those plan-sync read with their plan (the goal index's slice, one request per
 * 500 assignees per run) cost nothing here; the others get one `goalPlanAssignees` query per worker
 * and plan (q=GoalPlanId and PersonNumber), shared by all of the worker's records in the pass: a
 * small run, a plan too big to read whole, or a worker the plan-time read did not see (assigned
 * since, or skipped by a listing that changed) is asked about live.
 */
export class AssigneeCache {
  private readonly workers = new Map<string, Promise<PlanAssignees>>();

  constructor(
    private readonly list: ListAssignees,
    private readonly counter: { requests: number } = { requests: 0 },
    private readonly known?: KnownAssignees,
  ) {}

  get(goalPlanId: number, personNumber: string): Promise<PlanAssignees> {
    const key = `${goalPlanId}\u0000${personNumber}`;
    let found = this.workers.get(key);
    if (!found) {
      const rows = this.known?.rows(goalPlanId, personNumber);
      found =
        rows && rows.length > 0
          ? Promise.resolve(new PlanAssignees(goalPlanId, rows))
          : readWorker(this.list, goalPlanId, personNumber, this.counter);
      this.workers.set(key, found);
      // A failed read must not poison the cache for the worker's other records.
      found.catch(() => this.workers.delete(key));
    }
    return found;
  }
}
