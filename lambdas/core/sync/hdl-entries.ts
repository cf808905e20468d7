import type { HdlGoalEntry, HdlRejected } from '#core/hdl/index.ts';
import type { GoalRecord } from '#core/source/index.ts';
import { RecordRejectedError } from '../errors.ts';
import type { PlanAssignees } from './plan-directory.ts';

/** What HDL needs per goal plan: its name and its assignees, each read once per plan (not per goal). */
export interface HdlPlan {
  goalPlanName: string;
  assignees: PlanAssignees;
}

/**
 * Records -> Goal.dat entries: the plan's name and the worker's AssignmentNumber from the plan's
 * assignees, with the same rules as the REST path (a worker not on the plan, or with several
 * assignments and none named, is a record error). An assignee row without an AssignmentNumber cannot
 * be named in HDL: a record error too, never a guess.
 */
export function hdlEntries(
  records: readonly GoalRecord[],
  plans: ReadonlyMap<number, HdlPlan>,
): { entries: HdlGoalEntry[]; rejected: HdlRejected[] } {
  const entries: HdlGoalEntry[] = [];
  const rejected: HdlRejected[] = [];
  for (const record of records) {
    const plan = plans.get(record.goalPlanId);
    if (!plan) {
      rejected.push({
        externalKey: record.externalKey,
        reason: `goal plan ${record.goalPlanId} was not read`,
      });
      continue;
    }
    try {
      const assignee = plan.assignees.assignee(record);
      if (!assignee.AssignmentNumber)
        throw new RecordRejectedError(
          `the assignment of worker ${record.personNumber} on goal plan ${record.goalPlanId} has no AssignmentNumber, which HDL needs`,
        );
      entries.push({ record, goalPlanName: plan.goalPlanName, assignmentNumber: assignee.AssignmentNumber });
    } catch (err) {
      if (!(err instanceof RecordRejectedError)) throw err;
      rejected.push({ externalKey: record.externalKey, reason: err.message });
    }
  }
  return { entries, rejected };
}
