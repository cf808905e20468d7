import { SimHttpError } from './http.ts';
import type { Route } from './routes.ts';

/**
 * A user without a resource's privilege (farws security pages list one per resource and method:
 * "Use REST Service - Performance Goals Read Only", goalPlanAssignees Get/Describe, ...). The fault
 * `forbidden` names what the simulated integration user lacks, as `resource` (every method) or
 * `METHOD resource`; such requests answer 403, so a preflight can be seen to catch a missing grant.
 */
export const PRIVILEGE_RESOURCES = [
  'planGoals',
  'performanceGoals',
  'associatedGoalPlans',
  'goalPlanAssignees',
  'goalPlans',
] as const;

const ENTRY = new RegExp(`^(?:(GET|POST|PATCH|DELETE) )?(${PRIVILEGE_RESOURCES.join('|')})$`);

export const isPrivilegeEntry = (entry: unknown): entry is string =>
  typeof entry === 'string' && ENTRY.test(entry);

const RESOURCE_OF: Partial<Record<Route['kind'], string>> = {
  planGoals: 'planGoals',
  planGoal: 'planGoals',
  topGoals: 'performanceGoals',
  topGoal: 'performanceGoals',
  associatedPlans: 'associatedGoalPlans',
  associatedPlan: 'associatedGoalPlans',
  assignees: 'goalPlanAssignees',
  assignee: 'goalPlanAssignees',
  plans: 'goalPlans',
  plan: 'goalPlans',
};

function resourceOf(route: Route): string | undefined {
  if (route.kind === 'describe') return route.resource;
  return RESOURCE_OF[route.kind];
}

/** 403 when `forbidden` takes this method on this route's resource away. */
export function checkPrivilege(forbidden: readonly string[], method: string, route: Route): void {
  const resource = resourceOf(route);
  if (!resource || forbidden.length === 0) return;
  const verb = method === 'REPLACE' ? 'PATCH' : method;
  if (forbidden.includes(resource) || forbidden.includes(`${verb} ${resource}`)) {
    throw new SimHttpError(403, [
      {
        detail: `The user doesn't have the privilege to ${verb} the resource ${resource}.`,
        code: 'FND-403',
      },
    ]);
  }
}
