import type { TenantLookups } from './contract/lookups.ts';
import { etagMatches, SimHttpError } from './http.ts';
import { type OrderedRowsCache, orderRows, type PageOptions, pageRequest, slicePage } from './paging.ts';
import { comparator, goalCandidates, matches, type ParseOptions, parseOrderBy, parseQ } from './query.ts';
import { type GoalPlan, goalPlanById, type PersonDirectory } from './seed.ts';
import { etagOf, type GoalStore, naturalKey, type StoredGoal } from './store.ts';
import { CREATE_ONLY, validateCreate, validateUpdate } from './validation.ts';
import { collectionBody, paths, planGoalView, shapeOf } from './views.ts';

/**
 * The plan child `goalPlans/{GoalPlanId}/child/performanceGoals`, the only goal resource that
 * writes. Shared by plain requests and batch parts; they run synchronously.
 */

export interface SimContext {
  store: GoalStore;
  persons: PersonDirectory;
  lookups: TenantLookups;
  paging: PageOptions;
  /** How the pod reads `q` (whether it takes the framework-2 `IN`). */
  query: ParseOptions;
  /** The privileges the simulated user lacks now (fault `forbidden`). */
  forbidden(): readonly string[];
  /** False while a new goal is still hidden from collections (fault `pendingVisibilityMs`). */
  listable(record: StoredGoal): boolean;
  /** True while `listable` depends on the clock: listings are then not cached. */
  listingsVary(): boolean;
  listings: OrderedRowsCache;
  assigneeListings: OrderedRowsCache;
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

export const notFound = () => new SimHttpError(404, 'The requested resource does not exist.');

export function planOr(planId: number, status: 400 | 404): GoalPlan {
  const plan = goalPlanById(planId);
  if (!plan) throw new SimHttpError(status, `The goal plan ${planId} doesn't exist.`);
  return plan;
}

function itemResult(ctx: SimContext, record: StoredGoal, status: number, params: URLSearchParams): OpResult {
  return {
    status,
    body: planGoalView(ctx.baseUrl, record, shapeOf(params, 'planGoals')),
    etag: etagOf(record),
  };
}

/** A plan child key; a key of the top-level resource, or of another plan's goal, is 404. */
function lookup(ctx: SimContext, planId: number, key: string): StoredGoal {
  const record = ctx.store.byPlanChildKey(key);
  if (!record || record.goal.GoalPlanId !== planId) throw notFound();
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
  planId: number,
  key: string,
  params: URLSearchParams,
  ifNoneMatch: string | undefined,
  tally: OpTally,
): OpResult {
  planOr(planId, 404);
  const record = lookup(ctx, planId, key);
  tally.reads++;
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, etagOf(record))) {
    return { status: 304, etag: etagOf(record) };
  }
  return itemResult(ctx, record, 200, params);
}

/** What a cached goal listing is valid for: the collection, the query and the store's revision. */
export function listingKey(ctx: SimContext, collection: string, params: URLSearchParams): string | undefined {
  if (ctx.listingsVary()) return undefined;
  return JSON.stringify([collection, params.get('q'), params.get('orderBy'), ctx.store.revision]);
}

export function listGoals(
  ctx: SimContext,
  planId: number,
  params: URLSearchParams,
  tally: OpTally,
): OpResult {
  planOr(planId, 404);
  const req = pageRequest(params, ctx.paging);
  const shape = shapeOf(params, 'planGoals');
  const predicates = parseQ(params.get('q') ?? '', 'planGoals', ctx.query);
  const order = comparator(parseOrderBy(params.get('orderBy'), 'planGoals'), (r: StoredGoal) => r.goal);
  const ordered = ctx.listings.rows(listingKey(ctx, `planGoals:${planId}`, params), () => {
    const rows: StoredGoal[] = [];
    for (const record of goalCandidates(ctx.store, predicates, planId).candidates) {
      if (record.goal.GoalPlanId === planId && ctx.listable(record) && matches(record.goal, predicates)) {
        rows.push(record);
      }
    }
    return orderRows(rows, (r) => r.goal.GoalId, ctx.paging, order);
  });
  const page = slicePage(ordered, req);
  tally.reads++;
  return {
    status: 200,
    body: collectionBody(
      ctx.baseUrl,
      paths.planGoals(planId),
      'performanceGoals',
      page.items.map((r) => planGoalView(ctx.baseUrl, r, shape)),
      page,
      req,
    ),
  };
}

/**
 * POST on a plan's goals. Oracle has no duplicate protection: posting the same goal twice creates two.
 * With `Upsert-Mode: true` the simulator looks for a goal of the same PersonId + GoalPlanId + GoalName
 * and updates the oldest such goal (200) instead of creating. Oracle does not document its upsert
 * match; this natural key is the simulator's choice.
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
  const fields = validateCreate(body, plan, ctx);
  if (upsert) {
    const ids = ctx.store.idsForNaturalKey(naturalKey(fields.PersonId, plan.GoalPlanId, fields.GoalName));
    const existing = ids ? ctx.store.get(ids.values().next().value as number) : undefined;
    if (existing) {
      const updatable = Object.fromEntries(
        Object.entries(body as Record<string, unknown>).filter(([k]) => !CREATE_ONLY.includes(k)),
      );
      const goal = validateUpdate(updatable, existing.goal, plan, 'merge', ctx);
      const record = ctx.store.update(existing.goal.GoalId, goal, ctx.now());
      tally.updates++;
      return itemResult(ctx, record, 200, params);
    }
  }
  const record = ctx.store.create(fields, ctx.now());
  tally.creates++;
  return { ...itemResult(ctx, record, 201, params), location: ctx.baseUrl + paths.planGoal(record.goal) };
}

export function updateGoal(
  ctx: SimContext,
  planId: number,
  key: string,
  body: unknown,
  mode: 'merge' | 'replace',
  ifMatch: string | undefined,
  params: URLSearchParams,
  tally: OpTally,
): OpResult {
  const plan = planOr(planId, 404);
  const record = lookup(ctx, planId, key);
  checkIfMatch(record, ifMatch);
  const goal = validateUpdate(body, record.goal, plan, mode, ctx);
  const updated = ctx.store.update(record.goal.GoalId, goal, ctx.now());
  tally.updates++;
  return itemResult(ctx, updated, 200, params);
}

export function deleteGoal(
  ctx: SimContext,
  planId: number,
  key: string,
  ifMatch: string | undefined,
  tally: OpTally,
): OpResult {
  planOr(planId, 404);
  const record = lookup(ctx, planId, key);
  checkIfMatch(record, ifMatch);
  ctx.store.delete(record.goal.GoalId);
  tally.deletes++;
  return { status: 204 };
}
