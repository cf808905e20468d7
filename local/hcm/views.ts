import {
  ASSOCIATED_PLAN_ATTRIBUTES,
  GOAL_PLAN_ASSIGNEE_ATTRIBUTES,
  PLAN_GOAL_ATTRIBUTES,
  TOP_LEVEL_GOAL_ATTRIBUTES,
} from './contract/attributes.ts';
import { type Link, REST_ROOT } from './contract/rest.ts';
import { planGoalKey, type SimGoal, topGoalKey } from './goal.ts';
import { type GoalPlan, goalPlanById, type PlanAssignee } from './seed.ts';
import { etagOf, type StoredGoal } from './store.ts';

/**
 * What each resource shows of a goal: only the attributes its contract lists, and the item's key
 * only inside `links` (self and canonical), never as a body attribute. `onlyData=true` drops links,
 * keys with them.
 */

const pick = (row: object, names: readonly { name: string }[]): Record<string, unknown> =>
  Object.fromEntries(names.map(({ name }) => [name, (row as Record<string, unknown>)[name] ?? null]));

export const paths = {
  planGoals: (planId: number) => `${REST_ROOT}/goalPlans/${planId}/child/performanceGoals`,
  planGoal: (goal: SimGoal) => `${paths.planGoals(goal.GoalPlanId)}/${planGoalKey(goal)}`,
  topGoals: `${REST_ROOT}/performanceGoals`,
  topGoal: (goal: SimGoal) => `${paths.topGoals}/${topGoalKey(goal)}`,
  associatedPlans: (goal: SimGoal) => `${paths.topGoal(goal)}/child/associatedGoalPlans`,
  plan: (planId: number) => `${REST_ROOT}/goalPlans/${planId}`,
  assignees: `${REST_ROOT}/goalPlanAssignees`,
} as const;

function withLinks(data: Record<string, unknown>, links: Link[], onlyData: boolean) {
  return onlyData ? data : { ...data, links };
}

export function planGoalView(baseUrl: string, record: StoredGoal, onlyData: boolean) {
  const { goal } = record;
  const href = baseUrl + paths.planGoal(goal);
  return withLinks(
    pick(goal, PLAN_GOAL_ATTRIBUTES),
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
    onlyData,
  );
}

export function topGoalView(baseUrl: string, record: StoredGoal, onlyData: boolean) {
  const { goal } = record;
  const href = baseUrl + paths.topGoal(goal);
  return withLinks(
    pick(goal, TOP_LEVEL_GOAL_ATTRIBUTES),
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
    onlyData,
  );
}

/** The goal's one plan row (the simulator links each goal to the plan it was created in). */
export function associatedPlanView(baseUrl: string, goal: SimGoal, onlyData: boolean) {
  const plan = goalPlanById(goal.GoalPlanId) as GoalPlan;
  const href = `${baseUrl}${paths.associatedPlans(goal)}/${goal.GoalPlanGoalId}`;
  return withLinks(
    pick({ ...goal, GoalPlanName: plan.GoalPlanName }, ASSOCIATED_PLAN_ATTRIBUTES),
    [
      { rel: 'self', href, name: 'associatedGoalPlans', kind: 'item' },
      { rel: 'canonical', href, name: 'associatedGoalPlans', kind: 'item' },
      { rel: 'parent', href: baseUrl + paths.topGoal(goal), name: 'performanceGoals', kind: 'item' },
    ],
    onlyData,
  );
}

export function assigneeView(baseUrl: string, row: PlanAssignee, onlyData: boolean) {
  const href = `${baseUrl}${paths.assignees}/${row.GoalPlanAssignmentId}`;
  return withLinks(
    pick(row, GOAL_PLAN_ASSIGNEE_ATTRIBUTES),
    [
      { rel: 'self', href, name: 'goalPlanAssignees', kind: 'item' },
      { rel: 'canonical', href, name: 'goalPlanAssignees', kind: 'item' },
    ],
    onlyData,
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
