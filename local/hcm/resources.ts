import { HCM_REST_ROOT, hcmPaths } from '#core/hcm/index.ts';
import { etagMatches, SimHttpError } from './http.ts';
import { findGoals, parseQ, planQuery } from './query.ts';
import { type GoalPlan, goalPlanById, type PersonDirectory } from './seed.ts';
import { etagOf, type GoalStore, naturalKey, type StoredGoal } from './store.ts';
import { validateCreate, validateUpdate } from './validation.ts';

/** The goal operations, shared by plain requests and batch parts. They run synchronously. */

export interface SimContext {
  store: GoalStore;
  persons: PersonDirectory;
  /** http://127.0.0.1:port, for links and Location. */
  baseUrl: string;
  now(): string;
}

/** What one request did; applied to the stats only when it (or its whole batch) commits. */
export interface OpTally {
  reads: number;
  creates: number;
  updates: number;
  deletes: number;
}

export const emptyTally = (): OpTally => ({ reads: 0, creates: 0, updates: 0, deletes: 0 });

export interface OpResult {
  status: number;
  body?: unknown;
  etag?: string;
  location?: string;
}

export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 500;

const notFound = () => new SimHttpError(404, 'The requested resource does not exist.');

function flag(params: URLSearchParams, name: string): boolean {
  return params.get(name)?.toLowerCase() === 'true';
}

function intParam(params: URLSearchParams, name: string, fallback: number, min: number): number {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new SimHttpError(400, `URL request parameter ${name} with value ${raw} isn't valid.`);
  }
  return n;
}

export function planOr(planId: number, status: 400 | 404): GoalPlan {
  const plan = goalPlanById(planId);
  if (!plan) throw new SimHttpError(status, `The goal plan ${planId} doesn't exist.`);
  return plan;
}

function itemView(ctx: SimContext, record: StoredGoal, onlyData: boolean, viaPlan: boolean) {
  if (onlyData) return { ...record.goal };
  const { goal } = record;
  const canonical = ctx.baseUrl + hcmPaths.planGoal(goal.GoalPlanId, goal.performanceGoalsUniqID);
  const self = viaPlan ? canonical : ctx.baseUrl + hcmPaths.performanceGoal(goal.performanceGoalsUniqID);
  return {
    ...goal,
    links: [
      {
        rel: 'self',
        href: self,
        name: 'performanceGoals',
        kind: 'item',
        properties: { changeIndicator: etagOf(record).replaceAll('"', '') },
      },
      { rel: 'canonical', href: canonical, name: 'performanceGoals', kind: 'item' },
      {
        rel: 'parent',
        href: `${ctx.baseUrl}${HCM_REST_ROOT}/goalPlans/${goal.GoalPlanId}`,
        name: 'goalPlans',
        kind: 'item',
      },
    ],
  };
}

function itemResult(
  ctx: SimContext,
  record: StoredGoal,
  status: number,
  params: URLSearchParams,
  viaPlan = true,
) {
  return { status, body: itemView(ctx, record, flag(params, 'onlyData'), viaPlan), etag: etagOf(record) };
}

function lookup(ctx: SimContext, uniqId: string, planId: number | undefined): StoredGoal {
  const record = ctx.store.get(uniqId);
  if (!record || (planId !== undefined && record.goal.GoalPlanId !== planId)) throw notFound();
  return record;
}

function checkIfMatch(record: StoredGoal, ifMatch: string | undefined): void {
  const etag = etagOf(record);
  if (ifMatch !== undefined && !etagMatches(ifMatch, etag)) {
    throw new SimHttpError(
      412,
      'The resource was changed by someone else: its ETag no longer matches If-Match.',
      {
        ETag: etag,
      },
    );
  }
}

export function getGoal(
  ctx: SimContext,
  planId: number | undefined,
  uniqId: string,
  params: URLSearchParams,
  ifNoneMatch: string | undefined,
  tally: OpTally,
): OpResult {
  const record = lookup(ctx, uniqId, planId);
  tally.reads++;
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, etagOf(record))) {
    return { status: 304, etag: etagOf(record) };
  }
  return itemResult(ctx, record, 200, params, planId !== undefined);
}

export function listGoals(
  ctx: SimContext,
  planId: number | undefined,
  params: URLSearchParams,
  tally: OpTally,
): OpResult {
  if (planId !== undefined) planOr(planId, 404);
  const limit = Math.min(intParam(params, 'limit', DEFAULT_LIMIT, 1), MAX_LIMIT);
  const offset = intParam(params, 'offset', 0, 0);
  const totalResults = flag(params, 'totalResults');
  const onlyData = flag(params, 'onlyData');
  const predicates = parseQ(params.get('q') ?? '');
  if (planId !== undefined) predicates.push({ attr: 'GoalPlanId', value: planId });
  const page = findGoals(planQuery(ctx.store, ctx.persons, predicates), predicates, {
    offset,
    limit,
    totalResults,
  });
  tally.reads++;
  const path = planId === undefined ? hcmPaths.performanceGoals : hcmPaths.planGoals(planId);
  return {
    status: 200,
    body: {
      items: page.items.map((r) => itemView(ctx, r, onlyData, planId !== undefined)),
      ...(page.totalResults !== undefined ? { totalResults: page.totalResults } : {}),
      count: page.items.length,
      hasMore: page.hasMore,
      limit,
      offset,
      ...(onlyData
        ? {}
        : {
            links: [{ rel: 'self', href: ctx.baseUrl + path, name: 'performanceGoals', kind: 'collection' }],
          }),
    },
  };
}

/**
 * POST on a plan's goals. Oracle has no duplicate protection: posting the same goal twice creates two.
 * With `Upsert-Mode: true` the simulator looks for a goal with the same PersonNumber (PersonId is
 * resolved to it) + GoalPlanId + GoalName and updates the oldest such goal (200) instead of creating.
 * Oracle does not document its upsert match; this natural key is the simulator's choice.
 */
export function createGoal(
  ctx: SimContext,
  planId: number,
  body: unknown,
  upsert: boolean,
  params: URLSearchParams,
  tally: OpTally,
): OpResult {
  const plan = planOr(planId, 400);
  const fields = validateCreate(body, plan, ctx.persons);
  if (upsert) {
    const ids = ctx.store.idsForNaturalKey(naturalKey(fields.PersonNumber, plan.GoalPlanId, fields.GoalName));
    const existing = ids ? ctx.store.get(ids.values().next().value as string) : undefined;
    if (existing) {
      const goal = validateUpdate(body, existing.goal, plan, 'merge');
      const record = ctx.store.update(existing.goal.performanceGoalsUniqID, goal, ctx.now());
      tally.updates++;
      return itemResult(ctx, record, 200, params);
    }
  }
  const record = ctx.store.create(fields, ctx.now());
  tally.creates++;
  const location = ctx.baseUrl + hcmPaths.planGoal(planId, record.goal.performanceGoalsUniqID);
  return { ...itemResult(ctx, record, 201, params), location };
}

export function updateGoal(
  ctx: SimContext,
  planId: number,
  uniqId: string,
  body: unknown,
  mode: 'merge' | 'replace',
  ifMatch: string | undefined,
  params: URLSearchParams,
  tally: OpTally,
): OpResult {
  const plan = planOr(planId, 404);
  const record = lookup(ctx, uniqId, planId);
  checkIfMatch(record, ifMatch);
  const goal = validateUpdate(body, record.goal, plan, mode);
  const updated = ctx.store.update(uniqId, goal, ctx.now());
  tally.updates++;
  return itemResult(ctx, updated, 200, params);
}

export function deleteGoal(
  ctx: SimContext,
  planId: number,
  uniqId: string,
  ifMatch: string | undefined,
  tally: OpTally,
): OpResult {
  const record = lookup(ctx, uniqId, planId);
  checkIfMatch(record, ifMatch);
  ctx.store.delete(uniqId);
  tally.deletes++;
  return { status: 204 };
}
