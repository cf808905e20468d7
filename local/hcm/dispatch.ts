import { RESOURCES } from './contract/resources.ts';
import { REST_ROOT } from './contract/rest.ts';
import { describeResource } from './describe.ts';
import { SimHttpError } from './http.ts';
import { checkPrivilege } from './privileges.ts';
import {
  getAssignee,
  getAssociatedPlan,
  getTopGoal,
  listAssignees,
  listAssociatedPlans,
  listTopGoals,
} from './read-only.ts';
import {
  createGoal,
  deleteGoal,
  getGoal,
  listGoals,
  type OpResult,
  type OpTally,
  planOr,
  type SimContext,
  updateGoal,
} from './resources.ts';
import type { Route } from './routes.ts';
import { GOAL_PLANS } from './seed.ts';

/** `REPLACE` is the batch "replace" operation (a full update); plain HTTP has no such method here. */
export type OpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'REPLACE';

export interface OpRequest {
  method: OpMethod;
  route: Route;
  params: URLSearchParams;
  body?: unknown;
  ifMatch?: string;
  ifNoneMatch?: string;
  upsert?: boolean;
}

function notAllowed(allow: readonly string[]): SimHttpError {
  return new SimHttpError(405, 'The HTTP method is not allowed on this resource.', {
    Allow: allow.join(', '),
  });
}

/** Read-only resources answer 405 to anything but GET. */
function readOnly(method: OpMethod, allow: readonly string[]): void {
  if (method !== 'GET') throw notAllowed(allow);
}

/** Routes one operation (an HTTP request or a batch part) to the resources. */
export function dispatch(ctx: SimContext, req: OpRequest, tally: OpTally): OpResult {
  const { route, method, params } = req;
  checkPrivilege(ctx.forbidden(), method, route);
  switch (route.kind) {
    case 'planGoals':
      if (method === 'GET') return listGoals(ctx, route.planId, params, tally);
      if (method === 'POST')
        return createGoal(ctx, route.planId, req.body, req.upsert ?? false, params, tally);
      throw notAllowed(RESOURCES.planGoals.collectionMethods);
    case 'planGoal':
      if (method === 'GET') return getGoal(ctx, route.planId, route.key, params, req.ifNoneMatch, tally);
      if (method === 'PATCH' || method === 'REPLACE') {
        const mode = method === 'PATCH' ? 'merge' : 'replace';
        return updateGoal(ctx, route.planId, route.key, req.body, mode, req.ifMatch, params, tally);
      }
      if (method === 'DELETE') return deleteGoal(ctx, route.planId, route.key, req.ifMatch, tally);
      throw notAllowed(RESOURCES.planGoals.itemMethods);
    case 'topGoals':
      readOnly(method, RESOURCES.performanceGoals.collectionMethods);
      return listTopGoals(ctx, params, tally);
    case 'topGoal':
      readOnly(method, RESOURCES.performanceGoals.itemMethods);
      return getTopGoal(ctx, route.key, params, tally);
    case 'associatedPlans':
      readOnly(method, RESOURCES.associatedGoalPlans.collectionMethods);
      return listAssociatedPlans(ctx, route.key, params, tally);
    case 'associatedPlan':
      readOnly(method, RESOURCES.associatedGoalPlans.itemMethods);
      return getAssociatedPlan(ctx, route.key, route.goalPlanGoalId, params, tally);
    case 'assignees':
      readOnly(method, RESOURCES.goalPlanAssignees.collectionMethods);
      return listAssignees(ctx, params, tally);
    case 'assignee':
      readOnly(method, RESOURCES.goalPlanAssignees.itemMethods);
      return getAssignee(ctx, route.id, params, tally);
    case 'describe':
      readOnly(method, ['GET']);
      return { status: 200, body: describeResource(route.resource) };
    case 'plans':
      readOnly(method, ['GET']);
      return {
        status: 200,
        body: {
          items: GOAL_PLANS.map((p) => ({ ...p })),
          count: GOAL_PLANS.length,
          hasMore: false,
          limit: 25,
          offset: 0,
        },
      };
    case 'plan':
      readOnly(method, ['GET']);
      return { status: 200, body: { ...planOr(route.planId, 404) } };
    case 'root':
      throw notAllowed(['POST']);
    default:
      throw new SimHttpError(404, `The requested resource does not exist under ${REST_ROOT}.`);
  }
}
