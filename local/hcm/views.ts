import {
  ASSOCIATED_PLAN_ATTRIBUTES,
  attribute,
  GOAL_PLAN_ASSIGNEE_ATTRIBUTES,
  PLAN_GOAL_ATTRIBUTES,
  type ResourceName,
  TOP_LEVEL_GOAL_ATTRIBUTES,
} from './contract/attributes.ts';
import { type Link, REST_ROOT } from './contract/rest.ts';
import { planGoalKey, type SimGoal, topGoalKey } from './goal.ts';
import { SimHttpError } from './http.ts';
import { type GoalPlan, goalPlanById, type PlanAssignee } from './seed.ts';
import { etagOf, type StoredGoal } from './store.ts';

/**
 * What each resource shows of a goal: only the attributes its contract lists, and the item's key
 * only inside `links` (self and canonical), never as a body attribute. `onlyData=true` drops links,
 * keys with them; `fields=A,B` keeps only those attributes (links stay).
 */

export interface Shape {
  onlyData: boolean;
  fields?: ReadonlySet<string>;
}

/** `onlyData` and `fields` of a request; a field the resource does not have is 400. */
export function shapeOf(params: URLSearchParams, resource: ResourceName): Shape {
  const onlyData = params.get('onlyData')?.toLowerCase() === 'true';
  const raw = params.get('fields');
  if (raw === null) return { onlyData };
  const names = raw.split(',').filter((n) => n !== '');
  const unknown = names.filter((n) => !attribute(resource, n));
  if (unknown.length > 0) {
    throw new SimHttpError(
      400,
      unknown.map((n) => ({
        detail: `URL request parameter fields with value ${raw} isn't valid: ${n} isn't an attribute of ${resource}.`,
        code: 'JBO-25202',
      })),
    );
  }
  return { onlyData, fields: new Set(names) };
}

const pick = (row: object, names: readonly { name: string }[], shape: Shape): Record<string, unknown> =>
  Object.fromEntries(
    names
      .filter(({ name }) => !shape.fields || shape.fields.has(name))
      .map(({ name }) => [name, (row as Record<string, unknown>)[name] ?? null]),
  );

export const paths = {
  planGoals: (planId: number) => `${REST_ROOT}/goalPlans/${planId}/child/performanceGoals`,
  planGoal: (goal: SimGoal) => `${paths.planGoals(goal.GoalPlanId)}/${planGoalKey(goal)}`,
  topGoals: `${REST_ROOT}/performanceGoals`,
  topGoal: (goal: SimGoal) => `${paths.topGoals}/${topGoalKey(goal)}`,
  associatedPlans: (goal: SimGoal) => `${paths.topGoal(goal)}/child/associatedGoalPlans`,
  plan: (planId: number) => `${REST_ROOT}/goalPlans/${planId}`,
  assignees: `${REST_ROOT}/goalPlanAssignees`,
} as const;

function withLinks(data: Record<string, unknown>, links: Link[], shape: Shape) {
  return shape.onlyData ? data : { ...data, links };
}

export function planGoalView(baseUrl: string, record: StoredGoal, shape: Shape) {
  const { goal } = record;
  const href = baseUrl + paths.planGoal(goal);
  return withLinks(
    pick(goal, PLAN_GOAL_ATTRIBUTES, shape),
    [
      {
        rel: 'self',
        href,
        name: 'performanceGoals',
        kind: 'item',
        properties: { changeIndicator: etagOf(record).replaceAll('"', '') },
      },
      { rel: 'canonical', href, name: 'performanceGoals', kind: 'item' },
      { rel: 'parent', href: baseUrl + paths.plan(goal.GoalPlanId), name: 'goalPlans', kind: 'item' },
    ],
    shape,
  );
}

export function topGoalView(baseUrl: string, record: StoredGoal, shape: Shape) {
  const { goal } = record;
  const href = baseUrl + paths.topGoal(goal);
  return withLinks(
    pick(goal, TOP_LEVEL_GOAL_ATTRIBUTES, shape),
    [
      { rel: 'self', href, name: 'performanceGoals', kind: 'item' },
      { rel: 'canonical', href, name: 'performanceGoals', kind: 'item' },
      {
        rel: 'child',
        href: baseUrl + paths.associatedPlans(goal),
        name: 'associatedGoalPlans',
        kind: 'collection',
      },
    ],
    shape,
  );
}

/** The goal's one plan row (the simulator links each goal to the plan it was created in). */
export function associatedPlanView(baseUrl: string, goal: SimGoal, shape: Shape) {
  const plan = goalPlanById(goal.GoalPlanId) as GoalPlan;
  const href = `${baseUrl}${paths.associatedPlans(goal)}/${goal.GoalPlanGoalId}`;
  return withLinks(
    pick({ ...goal, GoalPlanName: plan.GoalPlanName }, ASSOCIATED_PLAN_ATTRIBUTES, shape),
    [
      { rel: 'self', href, name: 'associatedGoalPlans', kind: 'item' },
      { rel: 'canonical', href, name: 'associatedGoalPlans', kind: 'item' },
      { rel: 'parent', href: baseUrl + paths.topGoal(goal), name: 'performanceGoals', kind: 'item' },
    ],
    shape,
  );
}

export function assigneeView(baseUrl: string, row: PlanAssignee, shape: Shape) {
  const href = `${baseUrl}${paths.assignees}/${row.GoalPlanAssignmentId}`;
  return withLinks(
    pick(row, GOAL_PLAN_ASSIGNEE_ATTRIBUTES, shape),
    [
      { rel: 'self', href, name: 'goalPlanAssignees', kind: 'item' },
      { rel: 'canonical', href, name: 'goalPlanAssignees', kind: 'item' },
    ],
    shape,
  );
}

export function collectionBody(
  baseUrl: string,
  path: string,
  name: string,
  items: unknown[],
  page: { hasMore: boolean; totalResults?: number },
  req: { limit: number; offset: number; onlyData: boolean },
) {
  return {
    items,
    ...(page.totalResults !== undefined ? { totalResults: page.totalResults } : {}),
    count: items.length,
    hasMore: page.hasMore,
    limit: req.limit,
    offset: req.offset,
    ...(req.onlyData ? {} : { links: [{ rel: 'self', href: baseUrl + path, name, kind: 'collection' }] }),
  };
}
