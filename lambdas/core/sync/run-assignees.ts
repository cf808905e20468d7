import type { AssigneesPage, GoalPlanAssignee, HcmGoals } from '#core/hcm/index.ts';
import { HcmRequestError } from '../errors.ts';
import { ASSIGNEES_PAGE_SIZE, PlanAssignees, readPlanAssignees } from './plan-directory.ts';
import { runPool } from './pool.ts';

/**
 * Person numbers per `IN` list: about 3 KB of URL for 200 numbers, far below a front end's 8 KB
 * request line, and a fifth of the 1,000 expressions Oracle's database takes in one list.
 */
export const PERSONS_PER_QUERY = 200;

type AssigneeReads = Pick<HcmGoals, 'listPlanAssignees' | 'listPlanAssigneesIn'>;

/**
 * The assignee rows of one plan for the workers a run names (the HDL build step's bulk resolution,
 * issue 24): whichever costs fewer requests of the plan read whole (one request per 500 rows) and
 * the run's workers asked for in `IN` lists of 200 (one request per list). A nightly export touches a
 * fraction of a large plan (5,000 goals: ~950 of a plan's 20,000 workers, 5 lists instead of 40
 * pages). The first page of the whole plan tells its size; it is the one request the lists cost more.
 *
 * Where the pod's `q` does not take `IN` (unpublished for this resource: ADF documents the operator
 * for framework 2 and later), the 400 it answers makes this read the plan whole: correct, only dearer.
 * With `maxPagesWithoutIn` (plan-sync: the chunks' one query per worker) a plan dearer than that is
 * not read at all there (undefined), and the chunks ask per worker as before.
 */
export async function readRunAssignees(
  hcm: AssigneeReads,
  goalPlanId: number,
  personNumbers: Iterable<string>,
  counter: { requests: number },
  options?: { concurrency?: number },
): Promise<PlanAssignees>;
export async function readRunAssignees(
  hcm: AssigneeReads,
  goalPlanId: number,
  personNumbers: Iterable<string>,
  counter: { requests: number },
  options: { concurrency?: number; maxPagesWithoutIn: number },
): Promise<PlanAssignees | undefined>;
export async function readRunAssignees(
  hcm: AssigneeReads,
  goalPlanId: number,
  personNumbers: Iterable<string>,
  counter: { requests: number },
  options: { concurrency?: number; maxPagesWithoutIn?: number } = {},
): Promise<PlanAssignees | undefined> {
  const pool = { concurrency: options.concurrency ?? 4 };
  const list: Parameters<typeof readPlanAssignees>[0] = (id, page, person) =>
    hcm.listPlanAssignees(id, page, person);
  const withoutIn = (): Promise<PlanAssignees | undefined> =>
    options.maxPagesWithoutIn === undefined
      ? readPlanAssignees(list, goalPlanId, counter, pool)
      : readPlanAssignees(list, goalPlanId, counter, { ...pool, maxPages: options.maxPagesWithoutIn });
  const listIn = hcm.listPlanAssigneesIn?.bind(hcm);
  const people = [...new Set(personNumbers)].sort();
  if (!listIn || people.length === 0) return withoutIn();
  const lists = Math.ceil(people.length / PERSONS_PER_QUERY);
  const whole = await readPlanAssignees(list, goalPlanId, counter, { ...pool, maxPages: lists + 1 });
  if (whole) return whole;
  try {
    const rows = await readInLists(listIn, goalPlanId, people, counter, pool.concurrency);
    return new PlanAssignees(goalPlanId, rows);
  } catch (err) {
    if (!(err instanceof HcmRequestError) || err.status !== 400 || err.businessRule) throw err;
    return withoutIn();
  }
}

async function readInLists(
  listIn: NonNullable<AssigneeReads['listPlanAssigneesIn']>,
  goalPlanId: number,
  people: readonly string[],
  counter: { requests: number },
  concurrency: number,
): Promise<GoalPlanAssignee[]> {
  const batches = Array.from({ length: Math.ceil(people.length / PERSONS_PER_QUERY) }, (_, i) =>
    people.slice(i * PERSONS_PER_QUERY, (i + 1) * PERSONS_PER_QUERY),
  );
  const rows: GoalPlanAssignee[] = [];
  await runPool(
    batches,
    concurrency,
    () => true,
    async (batch) => {
      for (let offset = 0; ; ) {
        counter.requests += 1;
        const page: AssigneesPage = await listIn(goalPlanId, batch, { offset, limit: ASSIGNEES_PAGE_SIZE });
        rows.push(...page.items);
        if (!page.hasMore || page.read === 0) return;
        offset += page.read;
      }
    },
  );
  return rows;
}
