import { type CheckResult, fail, pass, skip } from './check.ts';
import type { PreflightContext } from './context.ts';
import { answered, itemsOf } from './hcm-probe.ts';

/** A string literal of framework 4's row-match `q` ('' escapes a quote). */
export const qString = (value: string) => `'${value.replaceAll("'", "''")}'`;

export interface PlanAssignee {
  PersonId?: number;
  AssignmentId?: number;
  AssignmentNumber?: string;
}

/** The worker's assignments on the plan (goalPlanAssignees, HRG_GOAL_PLN_ASSIGNMENTS). */
export async function assigneesOf(ctx: PreflightContext, planId: number, personNumber: string) {
  const a = await ctx.probe.send({
    path: 'goalPlanAssignees',
    query: {
      q: `GoalPlanId = ${planId} and PersonNumber = ${qString(personNumber)}`,
      limit: '50',
      onlyData: 'true',
    },
  });
  return { answer: a, rows: itemsOf(a) as PlanAssignee[] };
}

/**
 * A sample of the source's workers per plan has exactly one assignment on the plan (or the one the
 * source names). Oracle stores the goal on an assignment and assigns no plan by itself: a worker with
 * two assignments, or none on the plan, gets a 400 or a goal on the wrong assignment.
 */
export async function checkPlanAssignments(ctx: PreflightContext): Promise<CheckResult> {
  const name = 'plan-assignments';
  if (ctx.state.existingPlans.length === 0) return skip(name, 'no goal plan of the source exists');
  const none: string[] = [];
  const several: string[] = [];
  let sampled = 0;
  for (const planId of ctx.state.existingPlans) {
    for (const worker of ctx.facts.plans.get(planId) ?? []) {
      const { answer, rows } = await assigneesOf(ctx, planId, worker.personNumber);
      if (answer.status !== 200) {
        return fail(
          name,
          `goalPlanAssignees for plan ${planId}: ${answered(answer)}`,
          answer.status === 403
            ? 'grant the integration user "View Performance Goal by HR" (goalPlanAssignees Get), as in Human Resource Analyst'
            : 'check hcmBaseUrl is the pod; goalPlanAssignees is the resource the pipeline resolves assignments with',
        );
      }
      sampled += 1;
      const who = `${worker.personNumber} in plan ${planId}`;
      const matching = worker.assignmentNumber
        ? rows.filter((r) => r.AssignmentNumber === worker.assignmentNumber)
        : rows;
      if (matching.length === 0) {
        none.push(worker.assignmentNumber ? `${who} (assignment ${worker.assignmentNumber})` : who);
      } else if (matching.length > 1) {
        several.push(`${who} (${matching.map((r) => r.AssignmentNumber ?? r.AssignmentId).join(', ')})`);
      }
    }
  }
  const problems = [
    ...(none.length > 0 ? [`not assigned to the plan: ${none.join('; ')}`] : []),
    ...(several.length > 0 ? [`several assignments on the plan: ${several.join('; ')}`] : []),
  ];
  if (problems.length > 0) {
    return fail(
      name,
      `${sampled} workers sampled; ${problems.join('; ')}`,
      "assign the plan to those workers in HCM (the plan's Manage Goal Plan Assignments / mass assignment), and give assignmentNumber in the source for workers with several assignments",
    );
  }
  const plans = ctx.state.existingPlans.length;
  return pass(
    name,
    `${sampled} workers sampled in ${plans} plan${plans > 1 ? 's' : ''}: each has one assignment on the plan`,
  );
}
