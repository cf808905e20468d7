import type { ResourceName } from './attributes.ts';
import { PAGES, type PageRef } from './pages.ts';

/**
 * Paths, methods and item keys of the resources the simulator serves. Item keys are opaque: the plan
 * child's `performanceGoalsUniqID` hashes GoalId + GoalPlanGoalId, the top-level resource's key is a
 * hash of its own (unconfirmed: assumed different, the safe case), and neither is a body attribute:
 * a client takes it from the item's `links` (rel self / canonical). A key of one resource is 404 on
 * the other.
 */
export interface ResourceContract {
  name: ResourceName;
  /** Under REST_ROOT; `{…}` are path parameters. */
  collectionPath: string;
  itemKey: string;
  collectionMethods: readonly string[];
  itemMethods: readonly string[];
  /** `q` works on the collection (23D onwards for the plan child). */
  finder: boolean;
  page: PageRef;
}

export const RESOURCES: Readonly<Record<ResourceName, ResourceContract>> = {
  planGoals: {
    name: 'planGoals',
    collectionPath: 'goalPlans/{GoalPlanId}/child/performanceGoals',
    itemKey: 'performanceGoalsUniqID',
    collectionMethods: ['GET', 'POST'],
    itemMethods: ['GET', 'PATCH', 'DELETE'],
    finder: true,
    page: PAGES.planGoals,
  },
  performanceGoals: {
    name: 'performanceGoals',
    collectionPath: 'performanceGoals',
    itemKey: 'performanceGoalsUniqID',
    collectionMethods: ['GET'],
    itemMethods: ['GET'],
    finder: true,
    page: PAGES.topLevelPrivilege,
  },
  associatedGoalPlans: {
    name: 'associatedGoalPlans',
    collectionPath: 'performanceGoals/{performanceGoalsUniqID}/child/associatedGoalPlans',
    itemKey: 'GoalPlanGoalId',
    collectionMethods: ['GET'],
    itemMethods: ['GET'],
    finder: true,
    page: PAGES.associatedGoalPlans,
  },
  goalPlanAssignees: {
    name: 'goalPlanAssignees',
    collectionPath: 'goalPlanAssignees',
    itemKey: 'GoalPlanAssignmentId',
    collectionMethods: ['GET'],
    itemMethods: ['GET'],
    finder: true,
    page: PAGES.goalPlanAssignees,
  },
};
