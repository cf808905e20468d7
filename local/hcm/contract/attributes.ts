import type { LookupName } from './lookups.ts';
import { PAGES, type PageRef } from './pages.ts';

/**
 * The attributes of the goal resources and of goal plan assignees, as Oracle's pages list them.
 * `create`: a POST body may carry it; `update`: a PATCH body may. Neither: read-only, and a body that
 * carries it is refused (400), like an attribute the resource does not have. `queryable`: usable in
 * `q`; where the pages are silent the simulator is strict (not queryable) so a client cannot come to
 * rely on a finder a real pod may refuse.
 */
export type AttrType = 'integer' | 'number' | 'string' | 'date' | 'datetime';

export interface AttributeContract {
  name: string;
  type: AttrType;
  create: boolean;
  update: boolean;
  mandatory: boolean;
  queryable: boolean;
  maxLength?: number;
  lookup?: LookupName;
  page: PageRef;
  /** Where the simulator chose because the pages are silent. */
  unconfirmed?: string;
}

type Spec = Omit<AttributeContract, 'name' | 'create' | 'update' | 'mandatory' | 'queryable'> &
  Partial<Pick<AttributeContract, 'create' | 'update' | 'mandatory' | 'queryable'>>;

function table(specs: Record<string, Spec>): readonly AttributeContract[] {
  return Object.freeze(
    Object.entries(specs).map(([name, s]) =>
      Object.freeze({ create: false, update: false, mandatory: false, queryable: false, ...s, name }),
    ),
  );
}

const G = PAGES.goalManagement;
const POST = PAGES.planGoalsPost;

/** `goalPlans/{GoalPlanId}/child/performanceGoals`: the writable resource, one item per goal in a plan. */
export const PLAN_GOAL_ATTRIBUTES = table({
  GoalId: { type: 'integer', queryable: true, page: PAGES.planGoalItem },
  GoalPlanGoalId: { type: 'integer', queryable: true, page: PAGES.planGoalItem },
  GoalPlanId: {
    type: 'integer',
    create: true,
    queryable: true,
    page: POST,
    unconfirmed: 'Optional in the body; when sent it must be the plan of the URL.',
  },
  ReviewPeriodId: {
    type: 'integer',
    create: true,
    queryable: true,
    page: POST,
    unconfirmed: "Optional; when sent it must be the plan's review period.",
  },
  PersonId: { type: 'integer', create: true, mandatory: true, queryable: true, page: POST },
  PersonNumber: {
    type: 'string',
    page: PAGES.hdlGoals,
    unconfirmed: 'Returned, but neither accepted in a body nor queryable: resolve PersonId first.',
  },
  AssignmentId: {
    type: 'integer',
    create: true,
    queryable: true,
    page: PAGES.planAssignments,
    unconfirmed:
      'Required only when the worker has several assignments on the plan; with one, the server takes it.',
  },
  AssignmentNumber: {
    type: 'string',
    page: PAGES.hdlGoals,
    unconfirmed: 'Returned only (HDL names it; REST bodies carry AssignmentId).',
  },
  GoalName: {
    type: 'string',
    maxLength: 400,
    create: true,
    update: true,
    mandatory: true,
    queryable: true,
    page: PAGES.hrgGoals,
  },
  Description: { type: 'string', maxLength: 4000, create: true, update: true, page: PAGES.hrgGoals },
  StartDate: { type: 'date', create: true, update: true, mandatory: true, page: G },
  TargetCompletionDate: { type: 'date', create: true, update: true, mandatory: true, page: G },
  ActualCompletionDate: { type: 'date', create: true, update: true, page: PAGES.hrgGoals },
  StatusCode: {
    type: 'string',
    maxLength: 30,
    lookup: 'StatusCode',
    create: true,
    update: true,
    queryable: true,
    page: G,
    unconfirmed: 'NOT_STARTED when omitted on create.',
  },
  PriorityCode: {
    type: 'string',
    maxLength: 30,
    lookup: 'PriorityCode',
    create: true,
    update: true,
    page: G,
  },
  Weighting: { type: 'number', create: true, update: true, page: G, unconfirmed: '0 to 100.' },
  PercentCompletion: {
    type: 'string',
    maxLength: 30,
    lookup: 'PercentCompletion',
    create: true,
    update: true,
    page: PAGES.hrgGoals,
  },
  CategoryCode: {
    type: 'string',
    maxLength: 30,
    lookup: 'CategoryCode',
    create: true,
    update: true,
    page: G,
  },
  CreationDate: { type: 'datetime', page: PAGES.hrgGoals },
  LastUpdateDate: { type: 'datetime', page: PAGES.hrgGoals },
});

/**
 * `performanceGoals`: read-only (privilege "Use REST Service - Performance Goals Read Only"), one item
 * per goal; the plans a goal belongs to, with weight and priority per plan, are its child
 * `associatedGoalPlans`. No GoalPlanId or GoalPlanGoalId on the item.
 */
export const TOP_LEVEL_GOAL_ATTRIBUTES = table({
  GoalId: { type: 'integer', queryable: true, page: PAGES.topLevelGet },
  GoalName: { type: 'string', maxLength: 400, queryable: true, page: PAGES.topLevelGet },
  Description: { type: 'string', maxLength: 4000, page: PAGES.topLevelGet },
  StartDate: { type: 'date', page: PAGES.topLevelGet },
  TargetCompletionDate: { type: 'date', page: PAGES.topLevelGet },
  ActualCompletionDate: { type: 'date', page: PAGES.topLevelGet },
  StatusCode: { type: 'string', lookup: 'StatusCode', queryable: true, page: PAGES.topLevelGet },
  PercentCompletion: { type: 'string', lookup: 'PercentCompletion', page: PAGES.topLevelGet },
  CategoryCode: { type: 'string', lookup: 'CategoryCode', page: PAGES.topLevelGet },
  PersonId: { type: 'integer', queryable: true, page: PAGES.topLevelGet },
  PersonNumber: { type: 'string', page: PAGES.topLevelGet },
  AssignmentId: { type: 'integer', queryable: true, page: PAGES.topLevelGet },
  AssignmentNumber: { type: 'string', page: PAGES.topLevelGet },
  CreationDate: { type: 'datetime', page: PAGES.topLevelGet },
  LastUpdateDate: { type: 'datetime', page: PAGES.topLevelGet },
});

/** `performanceGoals/{id}/child/associatedGoalPlans`, keyed GoalPlanGoalId. */
export const ASSOCIATED_PLAN_ATTRIBUTES = table({
  GoalPlanGoalId: { type: 'integer', queryable: true, page: PAGES.associatedGoalPlans },
  GoalPlanId: { type: 'integer', queryable: true, page: PAGES.associatedGoalPlans },
  GoalPlanName: { type: 'string', page: PAGES.associatedGoalPlans },
  ReviewPeriodId: { type: 'integer', page: PAGES.associatedGoalPlans },
  Weighting: { type: 'number', page: PAGES.associatedGoalPlans },
  PriorityCode: { type: 'string', lookup: 'PriorityCode', page: PAGES.associatedGoalPlans },
});

/**
 * `goalPlanAssignees`: which worker assignments a goal plan is assigned to (HRG_GOAL_PLN_ASSIGNMENTS),
 * keyed GoalPlanAssignmentId; the simulator serves reads only.
 */
export const GOAL_PLAN_ASSIGNEE_ATTRIBUTES = table({
  GoalPlanAssignmentId: { type: 'integer', queryable: true, page: PAGES.goalPlanAssigneeItem },
  GoalPlanId: { type: 'integer', queryable: true, page: PAGES.goalPlanAssignees },
  PersonId: { type: 'integer', queryable: true, page: PAGES.goalPlanAssignees },
  AssignmentId: { type: 'integer', queryable: true, page: PAGES.goalPlanAssignees },
  PersonNumber: {
    type: 'string',
    queryable: true,
    page: PAGES.goalPlanAssignees,
    unconfirmed: 'Assumed on the item and queryable, so assignments resolve by person number in bulk.',
  },
  AssignmentNumber: {
    type: 'string',
    queryable: true,
    page: PAGES.goalPlanAssignees,
    unconfirmed: 'Assumed on the item.',
  },
});

export type ResourceName = 'planGoals' | 'performanceGoals' | 'associatedGoalPlans' | 'goalPlanAssignees';

export const RESOURCE_ATTRIBUTES: Readonly<Record<ResourceName, readonly AttributeContract[]>> = {
  planGoals: PLAN_GOAL_ATTRIBUTES,
  performanceGoals: TOP_LEVEL_GOAL_ATTRIBUTES,
  associatedGoalPlans: ASSOCIATED_PLAN_ATTRIBUTES,
  goalPlanAssignees: GOAL_PLAN_ASSIGNEE_ATTRIBUTES,
};

export function attribute(resource: ResourceName, name: string): AttributeContract | undefined {
  return RESOURCE_ATTRIBUTES[resource].find((a) => a.name === name);
}

/** The names of a resource's attributes that `which` allows in a body. */
export function writable(resource: ResourceName, which: 'create' | 'update'): readonly string[] {
  return RESOURCE_ATTRIBUTES[resource].filter((a) => a[which]).map((a) => a.name);
}
