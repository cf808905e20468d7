/**
 * Oracle HCM Cloud performance goals REST as Oracle documents it ("REST API for Oracle HCM Cloud",
 * docs/hcm-client.md "Oracle's contract"): the resources the client uses, the attributes it sends, the
 * item references it keeps. The simulator (local/hcm) has its own picture of Oracle, written from the
 * same pages (local/hcm/contract/); the two meet only at HTTP.
 */
export const HCM_API_VERSION = '11.13.18.05';
export const HCM_REST_ROOT = `/hcmRestApi/resources/${HCM_API_VERSION}`;

/**
 * The resources the client reads and writes. Goals are written, and looked up, only on the goal plan's
 * child collection (op-goalplans-goalplanid-child-performancegoals-post/get); the top-level
 * `performanceGoals` is read-only, one item per goal, with item keys of its own, so it is never used.
 * Workers and their assignments on a plan come from `goalPlanAssignees` (op-goalplanassignees-get).
 */
export const hcmResources = {
  planGoals: (goalPlanId: number) => `${HCM_REST_ROOT}/goalPlans/${goalPlanId}/child/performanceGoals`,
  goalPlanAssignees: `${HCM_REST_ROOT}/goalPlanAssignees`,
} as const;

/** The status codes Oracle documents for a goal; any other is a tenant's own (the status map says). */
export const DOCUMENTED_STATUS_CODES = ['NOT_STARTED', 'IN_PROGRESS', 'COMPLETED'] as const;

/**
 * What the client sends on POST / PATCH, in Oracle's names (goal management business object, table
 * HRG_GOALS). `Weighting`, not Weight; `PercentCompletion` is a code (PERCENT_COMPLETE_CODE), not a
 * number; `StatusCode`, `CategoryCode` and `PercentCompletion` are tenant lookups reached through the
 * operator's mapping (mapping-config.ts). The worker is named by `PersonId` + `AssignmentId`, resolved
 * from the plan's assignees. Dates are YYYY-MM-DD.
 */
export interface GoalPayload {
  GoalName: string;
  Description?: string | null;
  StartDate: string;
  TargetCompletionDate: string;
  ActualCompletionDate?: string | null;
  StatusCode: string;
  PriorityCode?: string | null;
  Weighting?: number | null;
  PercentCompletion?: string | null;
  CategoryCode?: string | null;
  PersonId?: number;
  AssignmentId?: number;
  ReviewPeriodId?: number;
}

/** Attributes a PATCH may change on an existing goal (the worker and the plan never change). */
export const GOAL_PATCHABLE_ATTRIBUTES = [
  'GoalName',
  'Description',
  'StartDate',
  'TargetCompletionDate',
  'ActualCompletionDate',
  'StatusCode',
  'PercentCompletion',
  'PriorityCode',
  'Weighting',
  'CategoryCode',
] as const satisfies ReadonlyArray<keyof GoalPayload>;

/**
 * Where one goal lives on its plan's child collection, taken from its item's `links` entry with
 * `rel: "self"`: `path` is that href's path (the host is the client's own base URL), `uniqId` its last
 * segment (performanceGoalsUniqID, an opaque hash Oracle tells clients never to build). Nothing here is
 * built from ids.
 */
export interface GoalRef {
  goalPlanId: number;
  path: string;
  uniqId: string;
}

/** A goal as the client read it from a plan's child collection (or a POST / PATCH answer). */
export interface PlanGoal extends Partial<GoalPayload> {
  GoalId: number;
  GoalName: string;
  /** Read-only, when the pod returns it (Oracle's pages do not promise it): saves a worker lookup. */
  PersonNumber?: string;
  ref: GoalRef;
  /** The self link's change indicator, as an ETag for If-Match. */
  etag?: string;
}

/** One worker assignment on a goal plan (`goalPlanAssignees`, table HRG_GOAL_PLN_ASSIGNMENTS). */
export interface GoalPlanAssignee {
  PersonId: number;
  PersonNumber: string;
  AssignmentId: number;
  AssignmentNumber?: string;
}

export const HCM_MEDIA = {
  json: 'application/json',
  item: 'application/vnd.oracle.adf.resourceitem+json',
  collection: 'application/vnd.oracle.adf.resourcecollection+json',
  batch: 'application/vnd.oracle.adf.batch+json',
  /** ADF error payload (framework version 4+). */
  error: 'application/vnd.oracle.adf.error+json',
} as const;

export interface HcmCollection<T> {
  items: T[];
  count: number;
  hasMore: boolean;
  limit: number;
  offset: number;
  totalResults?: number;
  links?: Array<{ rel: string; href: string; name?: string; kind?: string }>;
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
