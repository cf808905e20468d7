/**
 * The port the sync speaks to Oracle HCM through (the REST client in goals-client.ts; models in tests).
 * It lives with hcm/ so that the core's ports.ts imports nothing back from the concerns that use it.
 */

import type { GoalPayload, GoalPlanAssignee, GoalRef, PlanGoal } from './oracle.ts';

/**
 * Called before each write request goes on the wire (every attempt, in the pacer slot, before the token
 * is taken and again after a slow token wait): it renews and verifies the caller's claim on the record and throws to stop the send
 * (invariant 7: every write to HCM is made under a live, owner-checked claim).
 */
export type WriteGuard = () => Promise<void>;

/** A finder on a plan's child collection: one worker's goals, or the one with this name. */
export interface GoalQuery {
  personId: number;
  goalName?: string;
}

export interface HcmGoals {
  /**
   * Goals of one worker in one goal plan (every page), on the plan's child collection, with exactly
   * this name when `goalName` is given. A worker's goals in several plans take one call per plan.
   */
  findGoals(goalPlanId: number, query: GoalQuery): Promise<PlanGoal[]>;
  /**
   * One page of a goal plan's goals (`goalPlans/{id}/child/performanceGoals`), for the plan-wide read
   * (sync/goal-index.ts). Items carry their ETag when HCM gives one. Optional: a port without it gets
   * no plan-wide read, and chunks use the finders.
   */
  listPlanGoals?(goalPlanId: number, page: PlanGoalsQuery): Promise<PlanGoalsPage>;
  /**
   * One page of the workers' assignments on a goal plan (`goalPlanAssignees`): every worker's, or
   * one worker's (`personNumber`).
   */
  listPlanAssignees(goalPlanId: number, page: PlanGoalsQuery, personNumber?: string): Promise<AssigneesPage>;
  /**
   * One page of the named workers' assignments on a plan (`PersonNumber IN (...)`, ADF's framework-2
   * row match). Optional: without it, or when the pod answers 400, the plan is read whole.
   */
  listPlanAssigneesIn?(
    goalPlanId: number,
    personNumbers: readonly string[],
    page: PlanGoalsQuery,
  ): Promise<AssigneesPage>;
  create(goalPlanId: number, payload: GoalPayload, guard?: WriteGuard): Promise<PlanGoal>;
  /** PATCH of the goal at `ref` (its self link, as read or as stored in the ledger). */
  update(ref: GoalRef, patch: Partial<GoalPayload>, etag?: string, guard?: WriteGuard): Promise<PlanGoal>;
  /**
   * The same port bound to one invocation's time budget (Lambda's getRemainingTimeInMillis): the
   * client is long-lived (a warm container keeps its pacer), the budget is not.
   */
  withTimeBudget?(remainingTimeMs: () => number): HcmGoals;
  /**
   * Requests the client needs in flight to keep its pacer's rate at the latency it observes (Little's
   * law, with headroom): a chunk keeps at least this many records going. 0 or absent: no opinion.
   */
  inFlightDemand?(): number;
}

export interface PlanGoalsQuery {
  offset: number;
  limit: number;
  /** Ask for totalResults (Oracle counts the whole collection; costs the server more, not a request). */
  totalResults?: boolean;
  /**
   * Keyset paging (issue 25): `orderBy=GoalId:asc`, and with `after` `q=GoalId > after` (offset 0), so
   * a delete or an add between two pages cannot shift a goal out of both. Plan listing only.
   */
  keyset?: { after?: number };
}

/** A goal as the plan-wide read saw it: `etag` is its change indicator, for an If-Match update. */
export type ListedGoal = PlanGoal;

export interface PlanGoalsPage {
  items: ListedGoal[];
  hasMore: boolean;
  totalResults?: number;
}

export interface AssigneesPage {
  items: GoalPlanAssignee[];
  /** Items the page held, usable or not: the next page's offset moves by this. */
  read: number;
  hasMore: boolean;
  /** Only when asked for (`totalResults`): how many rows the whole query has. */
  totalResults?: number;
}
