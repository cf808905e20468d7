import type { ResourceName } from './contract/attributes.ts';
import { REST_ROOT } from './contract/rest.ts';

/** The resources the simulator serves under REST_ROOT (see contract/resources.ts). */
export type Route =
  | { kind: 'root' }
  | { kind: 'planGoals'; planId: number }
  | { kind: 'planGoal'; planId: number; key: string }
  | { kind: 'topGoals' }
  | { kind: 'topGoal'; key: string }
  | { kind: 'associatedPlans'; key: string }
  | { kind: 'associatedPlan'; key: string; goalPlanGoalId: number }
  | { kind: 'assignees' }
  | { kind: 'assignee'; id: number }
  | { kind: 'plans' }
  | { kind: 'plan'; planId: number }
  | { kind: 'describe'; resource: ResourceName | 'goalPlans' }
  | { kind: 'unknown' };

const ID = /^\d{1,18}$/;
const UNKNOWN: Route = { kind: 'unknown' };

function goalPlansRoute(rest: string[]): Route {
  const [planId, child, childName, key, ...more] = rest;
  if (planId === undefined) return { kind: 'plans' };
  if (planId === 'describe' && rest.length === 1) return { kind: 'describe', resource: 'goalPlans' };
  if (!ID.test(planId)) return UNKNOWN;
  const id = Number(planId);
  if (child === undefined) return { kind: 'plan', planId: id };
  if (child !== 'child' || childName !== 'performanceGoals' || more.length > 0) return UNKNOWN;
  if (key === undefined) return { kind: 'planGoals', planId: id };
  if (key === 'describe') return { kind: 'describe', resource: 'planGoals' };
  return { kind: 'planGoal', planId: id, key };
}

function topGoalsRoute(rest: string[]): Route {
  const [key, child, childName, planGoalId, ...more] = rest;
  if (key === undefined) return { kind: 'topGoals' };
  if (key === 'describe' && rest.length === 1) return { kind: 'describe', resource: 'performanceGoals' };
  if (child === undefined) return { kind: 'topGoal', key };
  if (child !== 'child' || childName !== 'associatedGoalPlans' || more.length > 0) return UNKNOWN;
  if (planGoalId === undefined) return { kind: 'associatedPlans', key };
  if (planGoalId === 'describe') return { kind: 'describe', resource: 'associatedGoalPlans' };
  return ID.test(planGoalId) ? { kind: 'associatedPlan', key, goalPlanGoalId: Number(planGoalId) } : UNKNOWN;
}

function assigneesRoute(rest: string[]): Route {
  const [id, ...more] = rest;
  if (id === undefined) return { kind: 'assignees' };
  if (more.length > 0) return UNKNOWN;
  if (id === 'describe') return { kind: 'describe', resource: 'goalPlanAssignees' };
  return ID.test(id) ? { kind: 'assignee', id: Number(id) } : UNKNOWN;
}

/**
 * Accepts an absolute path (`/hcmRestApi/resources/11.13.18.05/...`), a full URL, or (batch parts) a
 * path relative to the REST root (`goalPlans/1/child/performanceGoals` or with a leading slash).
 */
export function parseRoute(pathOrUrl: string): Route {
  let path = pathOrUrl;
  if (/^https?:\/\//i.test(path)) path = new URL(path).pathname;
  if (path.startsWith(REST_ROOT)) path = path.slice(REST_ROOT.length);
  let segments: string[];
  try {
    segments = path
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
  } catch {
    return UNKNOWN;
  }
  const [first, ...rest] = segments;
  switch (first) {
    case undefined:
      return { kind: 'root' };
    case 'goalPlans':
      return goalPlansRoute(rest);
    case 'performanceGoals':
      return topGoalsRoute(rest);
    case 'goalPlanAssignees':
      return assigneesRoute(rest);
    default:
      return UNKNOWN;
  }
}

/** Splits a batch part path into route + query string (a part "get" may carry `?q=...`). */
export function splitPath(pathWithQuery: string): { route: Route; params: URLSearchParams } {
  const url = new URL(pathWithQuery, 'http://part.invalid/');
  const isAbsoluteUrl = /^https?:\/\//i.test(pathWithQuery);
  const path = isAbsoluteUrl ? url.pathname : pathWithQuery.split('?')[0]!;
  return { route: parseRoute(path), params: url.searchParams };
}
