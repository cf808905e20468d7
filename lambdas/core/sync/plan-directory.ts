import type { AssigneesPage, GoalPlanAssignee, PlanGoalsQuery } from '#core/hcm/index.ts';
import type { GoalRecord } from '#core/source/index.ts';
import { RecordRejectedError } from '../errors.ts';

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

/**
 * Every assignee of a plan: pages until a short one (hasMore is not relied on, as for the goal
 * listing). A listing that changes while read can skip a worker: that worker's records then fail as
 * "not assigned" for this pass and are retried by the next run, never written on a guess.
 */
export async function readPlanAssignees(
  list: ListAssignees,
  goalPlanId: number,
  counter: { requests: number } = { requests: 0 },
  pageSize = ASSIGNEES_PAGE_SIZE,
  personNumber?: string,
): Promise<PlanAssignees> {
  const all: GoalPlanAssignee[] = [];
  for (let offset = 0; ; ) {
    counter.requests += 1;
    const page = await list(goalPlanId, { offset, limit: pageSize }, personNumber);
    all.push(...page.items);
    // The server may cap `limit` below what was asked: the offset moves by what came back.
    if (!page.hasMore || page.read === 0) break;
    offset += page.read;
  }
  return new PlanAssignees(goalPlanId, all);
}

/**
 * A chunk's workers: one `goalPlanAssignees` query per worker and plan (q=GoalPlanId and
 * PersonNumber), shared by all of the worker's records in the pass. A whole plan's assignees can be
 * tens of thousands of rows, more than a chunk of 100 records should read.
 */
export class AssigneeCache {
  private readonly workers = new Map<string, Promise<PlanAssignees>>();

  constructor(
    private readonly list: ListAssignees,
    private readonly counter: { requests: number } = { requests: 0 },
  ) {}

  get(goalPlanId: number, personNumber: string): Promise<PlanAssignees> {
    const key = `${goalPlanId}\u0000${personNumber}`;
    let found = this.workers.get(key);
    if (!found) {
      found = readPlanAssignees(this.list, goalPlanId, this.counter, ASSIGNEES_PAGE_SIZE, personNumber);
      this.workers.set(key, found);
      // A failed read must not poison the cache for the worker's other records.
      found.catch(() => this.workers.delete(key));
    }
    return found;
  }
}
