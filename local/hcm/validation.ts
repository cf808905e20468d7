import { type AttributeContract, PLAN_GOAL_ATTRIBUTES } from './contract/attributes.ts';
import type { TenantLookups } from './contract/lookups.ts';
import type { SimGoal } from './goal.ts';
import { type ErrorDetail, SimHttpError } from './http.ts';
import type { GoalPlan, PersonDirectory, PlanAssignee, SeedPerson } from './seed.ts';
import type { NewGoal } from './store.ts';

/**
 * Body checks for the plan child `goalPlans/{id}/child/performanceGoals`, driven by the contract's
 * attribute table: an attribute the resource does not have, or one the operation may not set, is a
 * 400; so is a code outside the tenant's lookups and a worker whose assignment is not on the plan.
 * All problems are reported at once in `o:errorDetails`, worded like Fusion's.
 */

const RESOURCE = 'performanceGoals';
const BY_NAME = new Map(PLAN_GOAL_ATTRIBUTES.map((a) => [a.name, a]));
/** Settable on create, fixed afterwards. */
export const CREATE_ONLY = PLAN_GOAL_ATTRIBUTES.filter((a) => a.create && !a.update).map((a) => a.name);
const MAX_WEIGHTING = 100;

type Payload = Record<string, unknown>;
type GoalFields = Omit<
  NewGoal,
  'GoalPlanId' | 'ReviewPeriodId' | 'PersonId' | 'PersonNumber' | 'AssignmentId' | 'AssignmentNumber'
>;

export interface ValidationContext {
  persons: PersonDirectory;
  lookups: TenantLookups;
}

export function asPayload(body: unknown): Payload {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new SimHttpError(400, 'The request body must be a JSON object of goal attributes.');
  }
  return body as Payload;
}

class Problems {
  readonly list: ErrorDetail[] = [];
  add(path: string, detail: string, code: string): void {
    this.list.push({ path, detail, code });
  }
  required(attr: string): void {
    this.add(attr, `Attribute ${attr} in ${RESOURCE} is required.`, 'JBO-27014');
  }
  throwIfAny(): void {
    if (this.list.length > 0) throw new SimHttpError(400, this.list);
  }
}

/** Unknown attributes and attributes the operation may not set. `links` is ignored, like ADF. */
function checkNames(payload: Payload, op: 'create' | 'update', problems: Problems): void {
  for (const name of Object.keys(payload)) {
    if (name === 'links') continue;
    const attr = BY_NAME.get(name);
    if (!attr) {
      problems.add(name, `The attribute ${name} isn't valid for the resource ${RESOURCE}.`, 'JBO-27023');
    } else if (!attr[op]) {
      const why = attr.create ? "can't be changed after the goal is created" : 'is read only';
      problems.add(name, `Attribute ${name} in ${RESOURCE} ${why}.`, 'JBO-27008');
    }
  }
}

function isDate(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(value);
}

function checkType(
  attr: AttributeContract,
  value: unknown,
  ctx: ValidationContext,
  problems: Problems,
): void {
  if (value === null || value === undefined) return;
  const bad = (why: string) =>
    problems.add(
      attr.name,
      `The value ${JSON.stringify(value)} of attribute ${attr.name} ${why}.`,
      'JBO-27018',
    );
  switch (attr.type) {
    case 'date':
      if (!isDate(value)) bad("isn't a valid date; use the format YYYY-MM-DD");
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) bad('must be a whole number');
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) bad('must be a number');
      return;
    default:
      if (typeof value !== 'string') bad('must be text');
      else if (attr.maxLength !== undefined && value.length > attr.maxLength) {
        bad(`is longer than ${attr.maxLength} characters`);
      } else if (attr.lookup && !ctx.lookups[attr.lookup].includes(value)) {
        problems.add(
          attr.name,
          `The value ${JSON.stringify(value)} of attribute ${attr.name} isn't valid. ` +
            `Valid values are ${ctx.lookups[attr.lookup].join(', ')}.`,
          'JBO-27019',
        );
      }
  }
}

function checkFields(
  goal: Payload,
  plan: GoalPlan,
  ctx: ValidationContext,
  problems: Problems,
): GoalFields | undefined {
  const before = problems.list.length;
  for (const attr of PLAN_GOAL_ATTRIBUTES) {
    if (!attr.update) continue;
    const value = goal[attr.name];
    if (attr.mandatory && (value === null || value === undefined || value === ''))
      problems.required(attr.name);
    else checkType(attr, value, ctx, problems);
  }
  const { StartDate, TargetCompletionDate, Weighting, GoalName } = goal;
  if (typeof GoalName === 'string' && GoalName.trim() === '') problems.required('GoalName');
  if (isDate(StartDate) && isDate(TargetCompletionDate) && TargetCompletionDate < StartDate) {
    problems.add(
      'TargetCompletionDate',
      `The target completion date ${TargetCompletionDate} must be on or after the start date ${StartDate}.`,
      'HRG-1001',
    );
  }
  if (isDate(StartDate) && (StartDate < plan.StartDate || StartDate > plan.EndDate)) {
    problems.add(
      'StartDate',
      `The start date ${StartDate} must be within the review period ${plan.ReviewPeriodName} ` +
        `(${plan.StartDate} to ${plan.EndDate}).`,
      'HRG-1002',
    );
  }
  if (typeof Weighting === 'number' && (Weighting < 0 || Weighting > MAX_WEIGHTING)) {
    problems.add('Weighting', `The weighting ${Weighting} must be from 0 to ${MAX_WEIGHTING}.`, 'HRG-1003');
  }
  if (problems.list.length > before) return undefined;
  const text = (v: unknown) => (v as string | null | undefined) ?? null;
  return {
    GoalName: goal.GoalName as string,
    Description: text(goal.Description),
    StartDate: StartDate as string,
    TargetCompletionDate: TargetCompletionDate as string,
    ActualCompletionDate: text(goal.ActualCompletionDate),
    StatusCode: (goal.StatusCode as string | null | undefined) ?? 'NOT_STARTED',
    PriorityCode: text(goal.PriorityCode),
    Weighting: (Weighting as number | null | undefined) ?? null,
    PercentCompletion: text(goal.PercentCompletion),
    CategoryCode: text(goal.CategoryCode),
  };
}

function describeAssignments(rows: readonly PlanAssignee[]): string {
  return rows.map((a) => `${a.AssignmentId} (${a.AssignmentNumber})`).join(', ');
}

/**
 * The worker and the assignment the goal belongs to. The worker's assignment must be assigned to the
 * plan; without an AssignmentId the server takes the only one, and refuses to guess among several.
 */
function resolveOwner(
  payload: Payload,
  plan: GoalPlan,
  ctx: ValidationContext,
  problems: Problems,
): { person: SeedPerson; assignee: PlanAssignee } | undefined {
  const { PersonId, AssignmentId } = payload;
  if (PersonId === null || PersonId === undefined) {
    problems.required('PersonId');
    return undefined;
  }
  const person = typeof PersonId === 'number' ? ctx.persons.byId(PersonId) : undefined;
  if (!person) {
    problems.add('PersonId', `The person ID ${JSON.stringify(PersonId)} doesn't exist.`, 'HRG-1010');
    return undefined;
  }
  const onPlan = ctx.persons.planAssignees(person, plan);
  const who = `${person.PersonNumber} (person ID ${person.PersonId})`;
  if (AssignmentId !== null && AssignmentId !== undefined) {
    if (!person.assignments.some((a) => a.AssignmentId === AssignmentId)) {
      problems.add(
        'AssignmentId',
        `The assignment ${JSON.stringify(AssignmentId)} isn't an assignment of ${who}.`,
        'HRG-1011',
      );
      return undefined;
    }
    const assignee = onPlan.find((a) => a.AssignmentId === AssignmentId);
    if (!assignee) {
      problems.add(
        'AssignmentId',
        `The assignment ${AssignmentId} of ${who} isn't assigned to the goal plan ${plan.GoalPlanName} ` +
          `(${plan.GoalPlanId}). Assign the goal plan to the worker first.`,
        'HRG-1012',
      );
      return undefined;
    }
    return { person, assignee };
  }
  if (onPlan.length === 0) {
    problems.add(
      'PersonId',
      `The worker ${who} isn't assigned to the goal plan ${plan.GoalPlanName} (${plan.GoalPlanId}). ` +
        'Assign the goal plan to the worker first.',
      'HRG-1012',
    );
    return undefined;
  }
  if (onPlan.length > 1) {
    problems.add(
      'AssignmentId',
      `The worker ${who} has ${onPlan.length} assignments on the goal plan ${plan.GoalPlanId}: ` +
        `${describeAssignments(onPlan)}. Send the AssignmentId of the one the goal belongs to.`,
      'HRG-1013',
    );
    return undefined;
  }
  return { person, assignee: onPlan[0]! };
}

function checkPlanFields(payload: Payload, plan: GoalPlan, problems: Problems): void {
  if (payload.GoalPlanId != null && payload.GoalPlanId !== plan.GoalPlanId) {
    problems.add(
      'GoalPlanId',
      `The goal plan ${JSON.stringify(payload.GoalPlanId)} doesn't match the URL.`,
      'HRG-1020',
    );
  }
  if (payload.ReviewPeriodId != null && payload.ReviewPeriodId !== plan.ReviewPeriodId) {
    problems.add(
      'ReviewPeriodId',
      `The review period ${JSON.stringify(payload.ReviewPeriodId)} isn't the review period of goal plan ${plan.GoalPlanId}.`,
      'HRG-1021',
    );
  }
}

/** A create (POST) body for goal plan `plan` -> the new goal's attributes, or 400. */
export function validateCreate(body: unknown, plan: GoalPlan, ctx: ValidationContext): NewGoal {
  const payload = asPayload(body);
  const problems = new Problems();
  checkNames(payload, 'create', problems);
  checkPlanFields(payload, plan, problems);
  const owner = resolveOwner(payload, plan, ctx, problems);
  const fields = checkFields(payload, plan, ctx, problems);
  problems.throwIfAny();
  return {
    ...fields!,
    PersonId: owner!.person.PersonId,
    PersonNumber: owner!.person.PersonNumber,
    AssignmentId: owner!.assignee.AssignmentId,
    AssignmentNumber: owner!.assignee.AssignmentNumber,
    GoalPlanId: plan.GoalPlanId,
    ReviewPeriodId: plan.ReviewPeriodId,
  };
}

/**
 * An update of `current`: `merge` (PATCH) keeps attributes the body omits; `replace` (batch
 * operation "replace") resets omitted updatable attributes to null, so mandatory ones must be sent.
 */
export function validateUpdate(
  body: unknown,
  current: SimGoal,
  plan: GoalPlan,
  mode: 'merge' | 'replace',
  ctx: ValidationContext,
): SimGoal {
  const payload = asPayload(body);
  const problems = new Problems();
  checkNames(payload, 'update', problems);
  const base: Payload = mode === 'merge' ? { ...current } : {};
  for (const attr of PLAN_GOAL_ATTRIBUTES)
    if (attr.update && attr.name in payload) base[attr.name] = payload[attr.name];
  const fields = checkFields(base, plan, ctx, problems);
  problems.throwIfAny();
  return { ...current, ...fields! };
}
