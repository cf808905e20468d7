/**
 * Oracle HCM Cloud performance goals REST: paths and attribute shapes (see ORACLE-FACTS.md).
 * Shared by the HCM client (lambdas/core/hcm) and the simulator (local/hcm), so both speak one dialect.
 */
export const HCM_API_VERSION = '11.13.18.05';
export const HCM_REST_ROOT = `/hcmRestApi/resources/${HCM_API_VERSION}`;

export const hcmPaths = {
  /** Read-only collection (finders with q=). */
  performanceGoals: `${HCM_REST_ROOT}/performanceGoals`,
  performanceGoal: (uniqId: string) => `${HCM_REST_ROOT}/performanceGoals/${encodeURIComponent(uniqId)}`,
  /** Writable: goals are children of a goal plan. */
  planGoals: (goalPlanId: number | string) =>
    `${HCM_REST_ROOT}/goalPlans/${goalPlanId}/child/performanceGoals`,
  planGoal: (goalPlanId: number | string, uniqId: string) =>
    `${HCM_REST_ROOT}/goalPlans/${goalPlanId}/child/performanceGoals/${encodeURIComponent(uniqId)}`,
  batch: HCM_REST_ROOT,
} as const;

export const HCM_MEDIA = {
  json: 'application/json',
  item: 'application/vnd.oracle.adf.resourceitem+json',
  collection: 'application/vnd.oracle.adf.resourcecollection+json',
  batch: 'application/vnd.oracle.adf.batch+json',
  /** ADF error payload (framework version 4+); the simulator always answers errors in this shape. */
  error: 'application/vnd.oracle.adf.error+json',
} as const;

export const GOAL_STATUS_CODES = ['NOT_STARTED', 'IN_PROGRESS', 'COMPLETED', 'CANCELLED', 'ON_HOLD'] as const;
export type GoalStatusCode = (typeof GOAL_STATUS_CODES)[number];
export const GOAL_PRIORITY_CODES = ['HIGH', 'MEDIUM', 'LOW'] as const;
export type GoalPriorityCode = (typeof GOAL_PRIORITY_CODES)[number];

/** The writable attributes a client sends on POST / PATCH (dates are YYYY-MM-DD). */
export interface HcmGoalPayload {
  GoalName: string;
  Description?: string | null;
  PersonNumber?: string;
  PersonId?: number;
  AssignmentId?: number;
  ReviewPeriodId?: number;
  StartDate: string;
  TargetCompletionDate: string;
  ActualCompletionDate?: string | null;
  StatusCode: GoalStatusCode;
  PercentComplete?: number | null;
  PriorityCode?: GoalPriorityCode | null;
  Weight?: number | null;
  CategoryCode?: string | null;
}

/** Attributes a PATCH may change on an existing goal (identity attributes never change). */
export const HCM_EDITABLE_ATTRIBUTES = [
  'GoalName',
  'Description',
  'StartDate',
  'TargetCompletionDate',
  'ActualCompletionDate',
  'StatusCode',
  'PercentComplete',
  'PriorityCode',
  'Weight',
  'CategoryCode',
] as const satisfies ReadonlyArray<keyof HcmGoalPayload>;

/** A stored goal as the REST resource returns it. */
export interface HcmGoal extends HcmGoalPayload {
  /** Opaque hash of GoalId + GoalPlanGoalId: clients find it by query, never build it. */
  performanceGoalsUniqID: string;
  GoalId: number;
  GoalPlanGoalId: number;
  GoalPlanId: number;
  PersonId: number;
  PersonNumber: string;
  AssignmentId: number;
  StatusMeaning: string;
  CreationDate: string;
  LastUpdateDate: string;
}

export interface HcmCollection<T> {
  items: T[];
  count: number;
  hasMore: boolean;
  limit: number;
  offset: number;
  totalResults?: number;
  links?: Array<{ rel: string; href: string; name?: string; kind?: string }>;
}

export interface HcmBatchPart {
  id: string;
  path: string;
  operation: 'get' | 'create' | 'update' | 'replace' | 'delete';
  payload?: Record<string, unknown>;
}

/** ADF error body (framework 4+ shape): `detail` is the human message, `o:errorDetails` the itemised causes. */
export interface HcmErrorBody {
  type?: string;
  title: string;
  status: string;
  detail?: string;
  'o:errorCode'?: string;
  'o:errorDetails'?: Array<{ detail: string; 'o:errorCode'?: string; 'o:errorPath'?: string }>;
}

/** One part of a batch response: on failure only the failing part is listed, with its HTTP status. */
export interface HcmBatchResponsePart extends HcmBatchPart {
  /** HTTP status the part would have had on its own (simulator addition; Oracle implies it by the error). */
  status?: number;
}
