import {
  GOAL_PRIORITY_CODES,
  GOAL_STATUS_CODES,
  type GoalStatusCode,
  HCM_EDITABLE_ATTRIBUTES,
  type HcmGoal,
} from '#core/hcm/index.ts';
import { type ErrorDetail, SimHttpError } from './http.ts';
import type { GoalPlan, PersonDirectory, SeedPerson } from './seed.ts';
import type { NewGoal } from './store.ts';

/**
 * Payload validation for goal create / update / replace, with messages worded like Fusion's
 * (attribute-level, all problems reported at once in `o:errorDetails`).
 */

const RESOURCE = 'performanceGoals';
const EDITABLE = HCM_EDITABLE_ATTRIBUTES;
/** Settable on create only; an update may repeat the current value but not change it. */
const IDENTITY = ['PersonNumber', 'PersonId', 'AssignmentId', 'GoalPlanId', 'ReviewPeriodId'] as const;
const READ_ONLY = [
  'GoalId',
  'GoalPlanGoalId',
  'performanceGoalsUniqID',
  'StatusMeaning',
  'CreationDate',
  'LastUpdateDate',
] as const;
const KNOWN = new Set<string>([...EDITABLE, ...IDENTITY, ...READ_ONLY, 'links']);
const STATUS_MEANING: Record<GoalStatusCode, string> = {
  NOT_STARTED: 'Not started',
  IN_PROGRESS: 'In progress',
  COMPLETED: 'Completed',
  CANCELLED: 'Cancelled',
  ON_HOLD: 'On hold',
};
const MAX_NAME = 400;
const MAX_DESCRIPTION = 4000;

type Payload = Record<string, unknown>;
type EditableFields = Pick<NewGoal, (typeof EDITABLE)[number] | 'StatusMeaning'>;

export function asPayload(body: unknown): Payload {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new SimHttpError(400, 'The request body must be a JSON object of goal attributes.');
  }
  return body as Payload;
}

class Problems {
  readonly list: ErrorDetail[] = [];
  add(path: string, detail: string, code?: string): void {
    this.list.push({ path, detail, ...(code ? { code } : {}) });
  }
  required(attr: string): void {
    this.add(attr, `Attribute ${attr} in ${RESOURCE} is required.`, 'JBO-27014');
  }
  throwIfAny(): void {
    if (this.list.length > 0) throw new SimHttpError(400, this.list);
  }
}

function checkNames(payload: Payload, problems: Problems, current?: HcmGoal): void {
  for (const [attr, value] of Object.entries(payload)) {
    if (!KNOWN.has(attr)) {
      problems.add(attr, `The attribute ${attr} isn't valid for the resource ${RESOURCE}.`);
    } else if ((READ_ONLY as readonly string[]).includes(attr)) {
      const unchanged = current && current[attr as keyof HcmGoal] === value;
      if (!unchanged) problems.add(attr, `Attribute ${attr} in ${RESOURCE} is read only.`);
    }
  }
}

function isDate(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(value);
}

function checkFields(goal: Payload, plan: GoalPlan, problems: Problems): EditableFields | undefined {
  const { GoalName, Description, StartDate, TargetCompletionDate, ActualCompletionDate } = goal;
  if (typeof GoalName !== 'string' || GoalName.trim() === '') problems.required('GoalName');
  else if (GoalName.length > MAX_NAME)
    problems.add('GoalName', `GoalName is longer than ${MAX_NAME} characters.`);
  if (Description != null && (typeof Description !== 'string' || Description.length > MAX_DESCRIPTION)) {
    problems.add('Description', `Description must be text of at most ${MAX_DESCRIPTION} characters.`);
  }
  for (const [attr, value] of [
    ['StartDate', StartDate],
    ['TargetCompletionDate', TargetCompletionDate],
  ] as const) {
    if (value == null || value === '') problems.required(attr);
    else if (!isDate(value)) problems.add(attr, invalidDate(attr, value));
  }
  if (ActualCompletionDate != null && !isDate(ActualCompletionDate)) {
    problems.add('ActualCompletionDate', invalidDate('ActualCompletionDate', ActualCompletionDate));
  }
  if (isDate(StartDate) && isDate(TargetCompletionDate) && TargetCompletionDate < StartDate) {
    problems.add(
      'TargetCompletionDate',
      `The target completion date ${TargetCompletionDate} must be on or after the start date ${StartDate}.`,
    );
  }
  if (isDate(StartDate) && (StartDate < plan.StartDate || StartDate > plan.EndDate)) {
    problems.add(
      'StartDate',
      `The start date ${StartDate} must be within the review period ${plan.ReviewPeriodName} ` +
        `(${plan.StartDate} to ${plan.EndDate}).`,
    );
  }
  const status = goal.StatusCode ?? 'NOT_STARTED';
  if (!(GOAL_STATUS_CODES as readonly unknown[]).includes(status)) {
    problems.add('StatusCode', invalidCode('StatusCode', status, GOAL_STATUS_CODES));
  }
  if (goal.PriorityCode != null && !(GOAL_PRIORITY_CODES as readonly unknown[]).includes(goal.PriorityCode)) {
    problems.add('PriorityCode', invalidCode('PriorityCode', goal.PriorityCode, GOAL_PRIORITY_CODES));
  }
  for (const attr of ['Weight', 'PercentComplete'] as const) {
    const v = goal[attr];
    if (v != null && (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100)) {
      problems.add(
        attr,
        `The value ${JSON.stringify(v)} of attribute ${attr} must be a number from 0 to 100.`,
      );
    }
  }
  if (goal.CategoryCode != null && typeof goal.CategoryCode !== 'string') {
    problems.add('CategoryCode', 'CategoryCode must be text.');
  }
  if (problems.list.length > 0) return undefined;
  const code = status as GoalStatusCode;
  return {
    GoalName: GoalName as string,
    Description: (Description as string | null | undefined) ?? null,
    StartDate: StartDate as string,
    TargetCompletionDate: TargetCompletionDate as string,
    ActualCompletionDate: (ActualCompletionDate as string | null | undefined) ?? null,
    StatusCode: code,
    StatusMeaning: STATUS_MEANING[code],
    PercentComplete: (goal.PercentComplete as number | null | undefined) ?? null,
    PriorityCode: (goal.PriorityCode as EditableFields['PriorityCode']) ?? null,
    Weight: (goal.Weight as number | null | undefined) ?? null,
    CategoryCode: (goal.CategoryCode as string | null | undefined) ?? null,
  };
}

const invalidDate = (attr: string, v: unknown) =>
  `The value ${JSON.stringify(v)} of attribute ${attr} isn't a valid date. Use the format YYYY-MM-DD.`;
const invalidCode = (attr: string, v: unknown, valid: readonly string[]) =>
  `The value ${JSON.stringify(v)} of attribute ${attr} isn't valid. Valid values are ${valid.join(', ')}.`;

function resolvePerson(
  payload: Payload,
  persons: PersonDirectory,
  problems: Problems,
): SeedPerson | undefined {
  const { PersonNumber, PersonId, AssignmentId } = payload;
  if (PersonNumber == null && PersonId == null) {
    problems.required('PersonNumber');
    return undefined;
  }
  const byNumber = typeof PersonNumber === 'string' ? persons.byNumber(PersonNumber) : undefined;
  const byId = typeof PersonId === 'number' ? persons.byId(PersonId) : undefined;
  if (PersonNumber != null && !byNumber) {
    problems.add('PersonNumber', `The person number ${JSON.stringify(PersonNumber)} doesn't exist.`);
  }
  if (PersonId != null && !byId)
    problems.add('PersonId', `The person ID ${JSON.stringify(PersonId)} doesn't exist.`);
  if (byNumber && byId && byNumber.PersonId !== byId.PersonId) {
    problems.add(
      'PersonId',
      `The person ID ${byId.PersonId} doesn't belong to person number ${PersonNumber}.`,
    );
  }
  const person = byNumber ?? byId;
  if (person && AssignmentId != null && AssignmentId !== person.AssignmentId) {
    problems.add(
      'AssignmentId',
      `The assignment ${JSON.stringify(AssignmentId)} isn't an assignment of the person.`,
    );
  }
  return person;
}

function checkPlanFields(payload: Payload, plan: GoalPlan, problems: Problems): void {
  if (payload.GoalPlanId != null && payload.GoalPlanId !== plan.GoalPlanId) {
    problems.add('GoalPlanId', `The goal plan ${JSON.stringify(payload.GoalPlanId)} doesn't match the URL.`);
  }
  if (payload.ReviewPeriodId != null && payload.ReviewPeriodId !== plan.ReviewPeriodId) {
    problems.add(
      'ReviewPeriodId',
      `The review period ${JSON.stringify(payload.ReviewPeriodId)} isn't the review period of goal plan ${plan.GoalPlanId}.`,
    );
  }
}

/** A create (POST) payload for goal plan `plan` -> the new goal's attributes, or 400. */
export function validateCreate(body: unknown, plan: GoalPlan, persons: PersonDirectory): NewGoal {
  const payload = asPayload(body);
  const problems = new Problems();
  checkNames(payload, problems);
  checkPlanFields(payload, plan, problems);
  const person = resolvePerson(payload, persons, problems);
  const fields = checkFields(payload, plan, problems);
  problems.throwIfAny();
  return {
    ...fields!,
    PersonId: person!.PersonId,
    PersonNumber: person!.PersonNumber,
    AssignmentId: person!.AssignmentId,
    GoalPlanId: plan.GoalPlanId,
    ReviewPeriodId: plan.ReviewPeriodId,
  };
}

/**
 * An update of `current`: `merge` (PATCH) keeps attributes the payload omits; `replace` (batch
 * operation "replace") resets omitted editable attributes to null, so required ones must be sent.
 */
export function validateUpdate(
  body: unknown,
  current: HcmGoal,
  plan: GoalPlan,
  mode: 'merge' | 'replace',
): HcmGoal {
  const payload = asPayload(body);
  const problems = new Problems();
  checkNames(payload, problems, current);
  for (const attr of IDENTITY) {
    if (payload[attr] != null && payload[attr] !== current[attr]) {
      problems.add(attr, `Attribute ${attr} in ${RESOURCE} can't be changed after the goal is created.`);
    }
  }
  const base: Payload = mode === 'merge' ? { ...current } : {};
  for (const attr of EDITABLE) if (attr in payload) base[attr] = payload[attr];
  const fields = checkFields(base, plan, problems);
  problems.throwIfAny();
  return { ...current, ...fields! };
}
