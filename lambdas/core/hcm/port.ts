/**
 * The port the sync speaks to Oracle HCM through (the REST client in goals-client.ts; models in tests).
 * It lives with hcm/ so that the core's ports.ts imports nothing back from the concerns that use it.
 */

import type { NaturalKey } from './mapping.ts';
import type { HcmGoal, HcmGoalPayload } from './oracle.ts';

/**
 * Called before each write request goes on the wire (every attempt, in the pacer slot, before the token
 * is taken and again after a slow token wait): it renews and verifies the caller's claim on the record and throws to stop the send
 * (invariant 7: every write to HCM is made under a live, owner-checked claim).
 */
export type WriteGuard = () => Promise<void>;

export interface HcmGoals {
  /** Goals with exactly this person, plan and name (normally 0 or 1). */
  findByNaturalKey(key: NaturalKey): Promise<HcmGoal[]>;
  /**
   * All goals of a person, every page (prefetch for a chunk): in one plan, or in every plan when
   * `goalPlanId` is left out (one request instead of one per plan).
   */
  findByPerson(personNumber: string, goalPlanId?: number): Promise<HcmGoal[]>;
  /**
   * One page of a goal plan's goals (`goalPlans/{id}/child/performanceGoals`), for the plan-wide read
   * (sync/goal-index.ts). Items carry their ETag when HCM gives one. Optional: a port without it gets
   * no plan-wide read, and chunks use the per-person finders.
   */
  listPlanGoals?(goalPlanId: number, page: PlanGoalsQuery): Promise<PlanGoalsPage>;
  create(goalPlanId: number, payload: HcmGoalPayload, guard?: WriteGuard): Promise<HcmGoal>;
  update(
    goalPlanId: number,
    uniqId: string,
    patch: Partial<HcmGoalPayload>,
    etag?: string,
    guard?: WriteGuard,
  ): Promise<HcmGoal>;
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
}

/** A goal as the plan-wide read saw it: `etag` is its change indicator, for an If-Match update. */
export type ListedGoal = HcmGoal & { etag?: string };

export interface PlanGoalsPage {
  items: ListedGoal[];
  hasMore: boolean;
  totalResults?: number;
}
