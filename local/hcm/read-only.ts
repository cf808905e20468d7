import { orderRows, pageOf, pageRequest, slicePage } from './paging.ts';
import {
  comparator,
  equalTo,
  goalCandidates,
  matches,
  type Predicate,
  parseOrderBy,
  parseQ,
} from './query.ts';
import { listingKey, notFound, type OpResult, type OpTally, type SimContext } from './resources.ts';
import { GOAL_PLANS, goalPlanById, type PlanAssignee } from './seed.ts';
import type { StoredGoal } from './store.ts';
import { assigneeView, associatedPlanView, collectionBody, paths, shapeOf, topGoalView } from './views.ts';

/**
 * The read-only resources: top-level `performanceGoals` (one item per goal, its own keys) with its
 * child `associatedGoalPlans`, and `goalPlanAssignees` (which worker assignments each plan has).
 */

export function listTopGoals(ctx: SimContext, params: URLSearchParams, tally: OpTally): OpResult {
  const req = pageRequest(params, ctx.paging);
  const shape = shapeOf(params, 'performanceGoals');
  const predicates = parseQ(params.get('q') ?? '', 'performanceGoals', ctx.query);
  const order = comparator(
    parseOrderBy(params.get('orderBy'), 'performanceGoals'),
    (r: StoredGoal) => r.goal,
  );
  const ordered = ctx.listings.rows(listingKey(ctx, 'performanceGoals', params), () => {
    const rows: StoredGoal[] = [];
    for (const record of goalCandidates(ctx.store, predicates, undefined).candidates) {
      if (ctx.listable(record) && matches(record.goal, predicates)) rows.push(record);
    }
    return orderRows(rows, (r) => r.goal.GoalId, ctx.paging, order);
  });
  const page = slicePage(ordered, req);
  tally.reads++;
  const items = page.items.map((r) => topGoalView(ctx.baseUrl, r, shape));
  return {
    status: 200,
    body: collectionBody(ctx.baseUrl, paths.topGoals, 'performanceGoals', items, page, req),
  };
}

function topRecord(ctx: SimContext, key: string): StoredGoal {
  const record = ctx.store.byTopLevelKey(key);
  if (!record) throw notFound();
  return record;
}

export function getTopGoal(ctx: SimContext, key: string, params: URLSearchParams, tally: OpTally): OpResult {
  const record = topRecord(ctx, key);
  tally.reads++;
  return { status: 200, body: topGoalView(ctx.baseUrl, record, shapeOf(params, 'performanceGoals')) };
}

export function listAssociatedPlans(
  ctx: SimContext,
  key: string,
  params: URLSearchParams,
  tally: OpTally,
): OpResult {
  const { goal } = topRecord(ctx, key);
  const req = pageRequest(params, ctx.paging);
  const shape = shapeOf(params, 'associatedGoalPlans');
  const predicates = parseQ(params.get('q') ?? '', 'associatedGoalPlans', ctx.query);
  const rows = matches({ ...goal, GoalPlanName: goalPlanById(goal.GoalPlanId)?.GoalPlanName }, predicates)
    ? [goal]
    : [];
  const page = pageOf(rows, (g) => g.GoalPlanGoalId, req, ctx.paging);
  tally.reads++;
  const items = page.items.map((g) => associatedPlanView(ctx.baseUrl, g, shape));
  return {
    status: 200,
    body: collectionBody(ctx.baseUrl, paths.associatedPlans(goal), 'associatedGoalPlans', items, page, req),
  };
}

export function getAssociatedPlan(
  ctx: SimContext,
  key: string,
  goalPlanGoalId: number,
  params: URLSearchParams,
  tally: OpTally,
): OpResult {
  const { goal } = topRecord(ctx, key);
  if (goal.GoalPlanGoalId !== goalPlanGoalId) throw notFound();
  tally.reads++;
  return { status: 200, body: associatedPlanView(ctx.baseUrl, goal, shapeOf(params, 'associatedGoalPlans')) };
}

/**
 * goalPlanAssignees, paged like any collection. A finder naming PersonId or PersonNumber is an O(1)
 * lookup; otherwise the rows are generated (two plans x 20,000 workers is ~41,000 rows, cheap).
 */
/** The named workers' rows when the finder names persons (O(1) each), else every row of every plan. */
function assigneeCandidates(ctx: SimContext, predicates: readonly Predicate[]): Iterable<PlanAssignee> {
  const listed = predicates.find(
    (p) => p.op === 'in' && (p.attr === 'PersonNumber' || p.attr === 'PersonId'),
  );
  if (listed) {
    const people = (listed.values ?? []).map((v) =>
      typeof v === 'number' ? ctx.persons.byId(v) : ctx.persons.byNumber(v),
    );
    return [...new Set(people)].flatMap((person) =>
      person ? GOAL_PLANS.flatMap((plan) => ctx.persons.planAssignees(person, plan)) : [],
    );
  }
  const personId = equalTo(predicates, 'PersonId');
  const personNumber = equalTo(predicates, 'PersonNumber');
  if (personId === undefined && personNumber === undefined) return ctx.persons.allPlanAssignees();
  const person =
    typeof personId === 'number'
      ? ctx.persons.byId(personId)
      : typeof personNumber === 'string'
        ? ctx.persons.byNumber(personNumber)
        : undefined;
  return person ? GOAL_PLANS.flatMap((plan) => ctx.persons.planAssignees(person, plan)) : [];
}

export function listAssignees(ctx: SimContext, params: URLSearchParams, tally: OpTally): OpResult {
  const req = pageRequest(params, ctx.paging);
  const shape = shapeOf(params, 'goalPlanAssignees');
  const predicates = parseQ(params.get('q') ?? '', 'goalPlanAssignees', ctx.query);
  const order = comparator(parseOrderBy(params.get('orderBy'), 'goalPlanAssignees'), (r: PlanAssignee) => r);
  // Plan assignments never change in the simulator: a query's ordered rows stay valid.
  const key = JSON.stringify([params.get('q'), params.get('orderBy')]);
  const ordered = ctx.assigneeListings.rows(key, () => {
    const rows: PlanAssignee[] = [];
    for (const row of assigneeCandidates(ctx, predicates)) if (matches(row, predicates)) rows.push(row);
    return orderRows(rows, (r) => r.GoalPlanAssignmentId, ctx.paging, order);
  });
  const page = slicePage(ordered, req);
  tally.reads++;
  const items = page.items.map((r) => assigneeView(ctx.baseUrl, r, shape));
  return {
    status: 200,
    body: collectionBody(ctx.baseUrl, paths.assignees, 'goalPlanAssignees', items, page, req),
  };
}

export function getAssignee(ctx: SimContext, id: number, params: URLSearchParams, tally: OpTally): OpResult {
  const row = ctx.persons.assigneeById(id);
  if (!row) throw notFound();
  tally.reads++;
  return { status: 200, body: assigneeView(ctx.baseUrl, row, shapeOf(params, 'goalPlanAssignees')) };
}
