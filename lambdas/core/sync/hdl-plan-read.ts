import type { HcmGoals, PlanGoal } from '#core/hcm/index.ts';
import { ConfigError } from '../errors.ts';
import type { PlanAssignees } from './plan-directory.ts';

const PAGE = 500;

/**
 * One goal plan's goals by natural key (worker's person number + goal name), every page of
 * `goalPlans/{id}/child/performanceGoals`: the HDL branch's plan-wide read, before a load (which goals
 * HCM holds already) and after it (each loaded goal's GoalId and self link for the ledger).
 */
export async function readPlanGoals(
  hcm: HcmGoals,
  goalPlanId: number,
  assignees: Pick<PlanAssignees, 'personNumbers'>,
): Promise<Map<string, PlanGoal>> {
  const list = hcm.listPlanGoals?.bind(hcm);
  if (!list)
    throw new ConfigError('the HDL branch needs the plan-wide read (listPlanGoals) of its HCM client');
  const people = assignees.personNumbers();
  const out = new Map<string, PlanGoal>();
  for (let offset = 0; ; ) {
    const page = await list(goalPlanId, { offset, limit: PAGE });
    for (const goal of page.items) {
      const person =
        goal.PersonNumber ?? (goal.PersonId !== undefined ? people.get(goal.PersonId) : undefined);
      if (person !== undefined) out.set(planGoalKey(person, goal.GoalName), goal);
    }
    if (!page.hasMore || page.items.length === 0) return out;
    offset += page.items.length;
  }
}

export async function readPlanGoalKeys(
  hcm: HcmGoals,
  goalPlanId: number,
  assignees: PlanAssignees,
): Promise<string[]> {
  return [...(await readPlanGoals(hcm, goalPlanId, assignees)).keys()];
}

/** Where the build step keeps a plan's workers (PersonId -> PersonNumber) for the record step. */
export const planPeopleName = (goalPlanId: number) => `plan-${goalPlanId}-people`;

/** What the record step needs of the build step's assignee read: the listing names workers by PersonId. */
export function peopleOf(assignees: Pick<PlanAssignees, 'personNumbers'>): string {
  return JSON.stringify([...assignees.personNumbers()]);
}

export function parsePeople(body: string): Pick<PlanAssignees, 'personNumbers'> {
  const people = new Map(JSON.parse(body) as Array<[number, string]>);
  return { personNumbers: () => people };
}

/** A goal's natural key inside one plan: the worker and the goal's name. */
export function planGoalKey(personNumber: string, goalName: string): string {
  return `${personNumber}\u0000${goalName}`;
}
