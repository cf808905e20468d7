import type { TenantLookups } from '../contract/lookups.ts';
import { SimHttpError } from '../http.ts';
import { GOAL_PLANS, type GoalPlan, type PersonDirectory } from '../seed.ts';
import type { GoalStore } from '../store.ts';
import { validateCreate, validateUpdate } from '../validation.ts';
import { HDL_DATE, HDL_NULL_TOKEN } from './contract.ts';
import type { DatRow } from './dat-parser.ts';
import type { IntegrationKeyMap } from './key-map.ts';

/**
 * One Goal object of a data set: its Goal line and its GoalPlanGoal line, loaded together (HDL loads
 * a business object with its components or not at all). Each object is checked with the REST
 * resources' own rules (validation.ts: attributes, codes, the worker's assignment on the plan) after
 * HDL's names are turned into the REST attributes, so both paths refuse the same goals.
 */
export interface GoalObject {
  owner: string;
  sourceSystemId: string;
  goal?: DatRow;
  planGoal?: DatRow;
}

export interface LoadContext {
  store: GoalStore;
  persons: PersonDirectory;
  lookups: TenantLookups;
  sourceSystemOwners: readonly string[];
  /** The integration key map: SourceSystemOwner + Goal's SourceSystemId -> GoalId. */
  keyMap: IntegrationKeyMap;
  now(): string;
}

export type LoadOutcome = { ok: true; created: boolean } | { ok: false; messages: string[] };

export const sourceKey = (owner: string, id: string) => `${owner}\u0000${id}`;

const PLANS_BY_NAME = new Map(GOAL_PLANS.map((p) => [p.GoalPlanName, p]));

/** '' = not given (MERGE leaves it), #NULL = clear it, else the value. */
function value(row: DatRow | undefined, name: string): string | null | undefined {
  const v = row?.attributes[name];
  if (v === undefined || v === '') return undefined;
  return v === HDL_NULL_TOKEN ? null : v;
}

function hdlDate(v: string | null | undefined, name: string, problems: string[]): string | null | undefined {
  if (v === null || v === undefined) return v;
  const m = HDL_DATE.exec(v);
  if (!m) {
    problems.push(`The value ${v} of attribute ${name} isn't a valid date; use the format YYYY/MM/DD.`);
    return undefined;
  }
  return `${m[1]}-${m[2]}-${m[3]}`;
}

function restPayload(object: GoalObject, problems: string[]): Record<string, unknown> {
  const g = object.goal;
  const p = object.planGoal;
  const payload: Record<string, unknown> = {
    GoalName: value(g, 'GoalName'),
    Description: value(g, 'Description'),
    StartDate: hdlDate(value(g, 'StartDate'), 'StartDate', problems),
    TargetCompletionDate: hdlDate(value(g, 'TargetCompletionDate'), 'TargetCompletionDate', problems),
    ActualCompletionDate: hdlDate(value(g, 'ActualCompletionDate'), 'ActualCompletionDate', problems),
    StatusCode: value(g, 'StatusCode'),
    PercentCompletion: value(g, 'PercentCompleteCode'),
    CategoryCode: value(g, 'CategoryCode'),
    // Priority is the goal's on its plan: the GoalPlanGoal line's wins over the Goal line's.
    PriorityCode:
      p && value(p, 'PriorityCode') !== undefined ? value(p, 'PriorityCode') : value(g, 'PriorityCode'),
  };
  const weighting = value(p, 'Weighting');
  if (weighting !== undefined) {
    const n = weighting === null ? null : Number(weighting);
    if (n !== null && !Number.isFinite(n))
      problems.push(`The value ${weighting} of attribute Weighting must be a number.`);
    else payload.Weighting = n;
  }
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  return payload;
}

function planOf(object: GoalObject, problems: string[]): GoalPlan | undefined {
  const name = value(object.planGoal, 'GoalPlanName');
  if (!name) {
    problems.push('Attribute GoalPlanName in GoalPlanGoal is required.');
    return undefined;
  }
  const plan = PLANS_BY_NAME.get(name);
  if (!plan) problems.push(`The goal plan ${name} doesn't exist.`);
  return plan;
}

function ownerOf(
  object: GoalObject,
  ctx: LoadContext,
  problems: string[],
): Record<string, number> | undefined {
  const personNumber = value(object.goal, 'WorkerPersonNumber');
  if (!personNumber) {
    problems.push('Attribute WorkerPersonNumber in Goal is required.');
    return undefined;
  }
  const person = ctx.persons.byNumber(personNumber);
  if (!person) {
    problems.push(`The person number ${personNumber} doesn't exist.`);
    return undefined;
  }
  const assignmentNumber = value(object.goal, 'WorkerAssignmentNumber');
  if (!assignmentNumber) return { PersonId: person.PersonId };
  const assignment = person.assignments.find((a) => a.AssignmentNumber === assignmentNumber);
  if (!assignment) {
    problems.push(`The assignment ${assignmentNumber} isn't an assignment of worker ${personNumber}.`);
    return undefined;
  }
  return { PersonId: person.PersonId, AssignmentId: assignment.AssignmentId };
}

function restMessages(err: unknown): string[] {
  if (err instanceof SimHttpError) return err.details.map((d) => d.detail);
  throw err;
}

/** MERGE one Goal object: create it under its source key, or update the goal the key map names. */
export function loadGoalObject(object: GoalObject, ctx: LoadContext): LoadOutcome {
  const problems: string[] = [];
  if (!ctx.sourceSystemOwners.includes(object.owner))
    problems.push(
      `The source system owner ${object.owner} isn't a value of the lookup HRC_SOURCE_SYSTEM_OWNER.`,
    );
  const key = sourceKey(object.owner, object.sourceSystemId);
  const goalId = ctx.keyMap.get(key);
  const existing = goalId === undefined ? undefined : ctx.store.get(goalId);
  const payload = restPayload(object, problems);
  if (!existing) {
    if (!object.goal) problems.push(`No Goal line has the source key ${object.sourceSystemId}.`);
    if (!object.planGoal)
      problems.push('A performance goal needs its GoalPlanGoal line: the component is required.');
  }
  if (problems.length > 0) return { ok: false, messages: problems };
  try {
    if (existing) {
      const moved = identityChange(object, existing.goal);
      if (moved) return { ok: false, messages: [moved] };
      const goal = validateUpdate(
        payload,
        existing.goal,
        planOfStored(existing.goal.GoalPlanId),
        'merge',
        ctx,
      );
      ctx.store.update(existing.goal.GoalId, goal, ctx.now());
      return { ok: true, created: false };
    }
    const plan = planOf(object, problems);
    const owner = ownerOf(object, ctx, problems);
    if (!plan || !owner || problems.length > 0) return { ok: false, messages: problems };
    const fields = validateCreate({ ...payload, ...owner }, plan, ctx);
    const record = ctx.store.create(fields, ctx.now());
    ctx.keyMap.set(key, record.goal.GoalId);
    return { ok: true, created: true };
  } catch (err) {
    return { ok: false, messages: restMessages(err) };
  }
}

/**
 * A source key names one goal for good: its worker and plan are fixed once it exists (REST: PersonId,
 * AssignmentId and the plan are create-only). A record that moved is a new goal under a new key.
 */
function identityChange(
  object: GoalObject,
  goal: { PersonNumber: string; GoalPlanId: number },
): string | undefined {
  const person = value(object.goal, 'WorkerPersonNumber');
  if (person && person !== goal.PersonNumber)
    return `The goal ${object.sourceSystemId} belongs to worker ${goal.PersonNumber}; WorkerPersonNumber can't be changed.`;
  const planName = value(object.planGoal, 'GoalPlanName');
  const plan = GOAL_PLANS.find((p) => p.GoalPlanId === goal.GoalPlanId);
  if (planName && plan && planName !== plan.GoalPlanName)
    return `The goal ${object.sourceSystemId} is on the goal plan ${plan.GoalPlanName}; GoalPlanName can't be changed.`;
  return undefined;
}

function planOfStored(goalPlanId: number): GoalPlan {
  const plan = GOAL_PLANS.find((p) => p.GoalPlanId === goalPlanId);
  if (!plan) throw new SimHttpError(400, `The goal plan ${goalPlanId} doesn't exist.`);
  return plan;
}

/** Goal lines with the GoalPlanGoal lines that name them, in file order of the Goal lines. */
export function groupObjects(rows: DatRow[]): GoalObject[] {
  const objects = new Map<string, GoalObject>();
  const get = (owner: string, id: string) => {
    const k = `${owner}\u0000${id}`;
    let o = objects.get(k);
    if (!o) {
      o = { owner, sourceSystemId: id };
      objects.set(k, o);
    }
    return o;
  };
  for (const row of rows) {
    const owner = row.attributes.SourceSystemOwner ?? '';
    if (row.component === 'Goal') get(owner, row.attributes.SourceSystemId ?? '').goal = row;
    else get(owner, row.attributes['GoalId(SourceSystemId)'] ?? '').planGoal = row;
  }
  return [...objects.values()];
}
