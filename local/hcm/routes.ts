import { HCM_REST_ROOT } from '#core/hcm/index.ts';

/** The resources the simulator serves under HCM_REST_ROOT. */
export type Route =
  | { kind: 'root' }
  | { kind: 'goals'; planId?: number }
  | { kind: 'goal'; planId?: number; uniqId: string }
  | { kind: 'plans' }
  | { kind: 'plan'; planId: number }
  | { kind: 'unknown' };

const ID = /^\d{1,18}$/;

/**
 * Accepts an absolute path (`/hcmRestApi/resources/11.13.18.05/...`), a full URL, or (batch parts) a
 * path relative to the REST root (`goalPlans/1/child/performanceGoals` or with a leading slash).
 */
export function parseRoute(pathOrUrl: string): Route {
  let path = pathOrUrl;
  if (/^https?:\/\//i.test(path)) path = new URL(path).pathname;
  if (path.startsWith(HCM_REST_ROOT)) path = path.slice(HCM_REST_ROOT.length);
  let segments: string[];
  try {
    segments = path
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
  } catch {
    return { kind: 'unknown' };
  }
  const [first, planId, child, childName, uniqId, ...rest] = segments;
  if (first === undefined) return { kind: 'root' };
  if (first === 'performanceGoals' && segments.length <= 2) {
    return planId === undefined ? { kind: 'goals' } : { kind: 'goal', uniqId: planId };
  }
  if (first !== 'goalPlans') return { kind: 'unknown' };
  if (planId === undefined) return { kind: 'plans' };
  if (!ID.test(planId)) return { kind: 'unknown' };
  const id = Number(planId);
  if (child === undefined) return { kind: 'plan', planId: id };
  if (child !== 'child' || childName !== 'performanceGoals' || rest.length > 0) return { kind: 'unknown' };
  return uniqId === undefined ? { kind: 'goals', planId: id } : { kind: 'goal', planId: id, uniqId };
}

/** Splits a batch part path into route + query string (a part "get" may carry `?q=...`). */
export function splitPath(pathWithQuery: string): { route: Route; params: URLSearchParams } {
  const url = new URL(pathWithQuery, 'http://part.invalid/');
  const isAbsoluteUrl = /^https?:\/\//i.test(pathWithQuery);
  const path = isAbsoluteUrl ? url.pathname : pathWithQuery.split('?')[0]!;
  return { route: parseRoute(path), params: url.searchParams };
}
