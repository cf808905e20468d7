import { HCM_REST_ROOT } from '#core/hcm/index.ts';
import { SimHttpError } from './http.ts';
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

function notAllowed(allow: string): SimHttpError {
  return new SimHttpError(405, 'The HTTP method is not allowed on this resource.', { Allow: allow });
}

/** Routes one operation (an HTTP request or a batch part) to the goal resources. */
export function dispatch(ctx: SimContext, req: OpRequest, tally: OpTally): OpResult {
  const { route, method, params } = req;
  switch (route.kind) {
    case 'goals':
      if (method === 'GET') return listGoals(ctx, route.planId, params, tally);
      if (method === 'POST' && route.planId !== undefined) {
        return createGoal(ctx, route.planId, req.body, req.upsert ?? false, params, tally);
      }
      // performanceGoals at the top level is the read-only resource; writes go through goalPlans.
      throw notAllowed(route.planId === undefined ? 'GET' : 'GET, POST');
    case 'goal':
      if (method === 'GET') return getGoal(ctx, route.planId, route.uniqId, params, req.ifNoneMatch, tally);
      if (route.planId === undefined) throw notAllowed('GET');
      if (method === 'PATCH' || method === 'REPLACE') {
        const mode = method === 'PATCH' ? 'merge' : 'replace';
        return updateGoal(ctx, route.planId, route.uniqId, req.body, mode, req.ifMatch, params, tally);
      }
      if (method === 'DELETE') return deleteGoal(ctx, route.planId, route.uniqId, req.ifMatch, tally);
      throw notAllowed('GET, PATCH, DELETE');
    case 'plans':
      if (method !== 'GET') throw notAllowed('GET');
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
      if (method !== 'GET') throw notAllowed('GET');
      return { status: 200, body: { ...planOr(route.planId, 404) } };
    case 'root':
      throw notAllowed('POST');
    default:
      throw new SimHttpError(404, `The requested resource does not exist under ${HCM_REST_ROOT}.`);
  }
}
