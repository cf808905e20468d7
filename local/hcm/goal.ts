import { createHash } from 'node:crypto';

/**
 * One goal as the simulator keeps it: a row of HRG_GOALS joined with its plan row. Views for each REST
 * resource are cut from it (views.ts); the item keys are never stored in it, they are derived.
 */
export interface SimGoal {
  GoalId: number;
  GoalPlanGoalId: number;
  GoalPlanId: number;
  ReviewPeriodId: number;
  PersonId: number;
  PersonNumber: string;
  AssignmentId: number;
  AssignmentNumber: string;
  GoalName: string;
  Description: string | null;
  StartDate: string;
  TargetCompletionDate: string;
  ActualCompletionDate: string | null;
  StatusCode: string;
  PriorityCode: string | null;
  Weighting: number | null;
  PercentCompletion: string | null;
  CategoryCode: string | null;
  CreationDate: string;
  LastUpdateDate: string;
}

/** The attributes a person editing the goal in HCM can change (the control surface's PATCH). */
export const EDITABLE_IN_UI = [
  'GoalName',
  'Description',
  'StartDate',
  'TargetCompletionDate',
  'ActualCompletionDate',
  'StatusCode',
  'PriorityCode',
  'Weighting',
  'PercentCompletion',
  'CategoryCode',
] as const satisfies ReadonlyArray<keyof SimGoal>;

const hash = (text: string) => createHash('sha256').update(text).digest('hex').toUpperCase();

/** The plan child's `performanceGoalsUniqID`: opaque, from GoalId + GoalPlanGoalId. */
export function planGoalKey(goal: Pick<SimGoal, 'GoalId' | 'GoalPlanGoalId'>): string {
  return hash(`goalPlans.performanceGoals:${goal.GoalId}:${goal.GoalPlanGoalId}`).slice(0, 40);
}

/** The top-level resource's key: another hash (48 digits), so one cannot pass for the other. */
export function topGoalKey(goal: Pick<SimGoal, 'GoalId'>): string {
  return hash(`performanceGoals:${goal.GoalId}`).slice(0, 48);
}
