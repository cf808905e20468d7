import { createHash } from 'node:crypto';
import type { GoalRecord } from '#core/source/index.ts';
import { RecordRejectedError } from '../errors.ts';
import { DEFAULT_GOAL_MAPPING, type GoalMapping, MAPPING_KEYS } from './mapping-config.ts';
import { GOAL_PATCHABLE_ATTRIBUTES, type GoalPayload, type PlanGoal } from './oracle.ts';

/**
 * Oracle's goal resource has no external-id field, so a goal is found again by this natural key
 * (unique per source file: plan() rejects repeats) plus our own ledger of external key -> goal.
 * In HCM it is the goal plan (the collection), the worker's PersonId and the GoalName.
 */
export interface NaturalKey {
  personNumber: string;
  goalPlanId: number;
  goalName: string;
}

export function naturalKeyOf(record: GoalRecord): NaturalKey {
  return { personNumber: record.personNumber, goalPlanId: record.goalPlanId, goalName: record.goalName };
}

export type MappedGoal = { ok: true; payload: GoalPayload } | { ok: false; reason: string };

/**
 * Source record -> the attributes HCM gets (docs/architecture.md "Goal mapping"), without the worker
 * (PersonId / AssignmentId come from the plan's assignees when the goal is created). Optional
 * attributes the source leaves out map to null, so that clearing a field at the source clears it in
 * HCM on the next sync. A value the mapping has no code for is a record error naming the value and
 * the setting to extend.
 */
export function mapGoal(record: GoalRecord, mapping: GoalMapping = DEFAULT_GOAL_MAPPING): MappedGoal {
  const status = mapping.status[record.status];
  if (status === undefined) return unmapped('status', record.status);
  let category: string | null = null;
  if (record.category !== undefined) {
    const code = mapping.category ? mapping.category[record.category] : record.category;
    if (code === undefined) return unmapped('category', record.category);
    category = code;
  }
  let percent: string | null = null;
  if (record.percentComplete !== undefined) {
    const whole = Math.floor(record.percentComplete);
    const range = mapping.percent.find((r) => whole >= r.from && whole <= r.to);
    if (!range) return unmapped('percent', String(record.percentComplete));
    percent = range.code;
  }
  const payload: GoalPayload = {
    GoalName: record.goalName,
    Description: record.description ?? null,
    StartDate: record.startDate,
    TargetCompletionDate: record.targetCompletionDate,
    ActualCompletionDate: record.actualCompletionDate ?? null,
    StatusCode: status,
    PercentCompletion: percent,
    PriorityCode: record.priority ?? null,
    Weighting: record.weight ?? null,
    CategoryCode: category,
  };
  // The review period follows from the plan; only send it when the source states it (HCM checks it).
  if (record.reviewPeriodId !== undefined) payload.ReviewPeriodId = record.reviewPeriodId;
  return { ok: true, payload };
}

function unmapped(kind: keyof typeof MAPPING_KEYS, value: string): MappedGoal {
  const { context, flag } = MAPPING_KEYS[kind];
  const field = kind === 'percent' ? 'percentComplete' : kind;
  return {
    ok: false,
    reason: `${field} '${value}' has no HCM code in the ${kind} mapping: add it to ${context} (stack context) or ${flag} (goal-sync local / validate)`,
  };
}

/** The mapped attributes, or RecordRejectedError (a record error) when the mapping has no code. */
export function toGoalPayload(record: GoalRecord, mapping?: GoalMapping): GoalPayload {
  const mapped = mapGoal(record, mapping);
  if (!mapped.ok) throw new RecordRejectedError(mapped.reason);
  return mapped.payload;
}

/**
 * sha256 (hex) of what HCM is to hold for the record, as canonical JSON (sorted keys, nulls kept): the
 * goal plan, the named assignment (both part of where the goal lives, though not of the PATCH body)
 * and the mapped attributes, so a changed mapping changes the hash too. An unmappable record hashes
 * its reason: it never matches a committed hash, so the record is looked at (and failed) every run.
 */
export function contentHash(record: GoalRecord, mapping?: GoalMapping): string {
  const mapped = mapGoal(record, mapping);
  const canonical = canonicalJson({
    goalPlanId: record.goalPlanId,
    ...(record.assignmentNumber !== undefined ? { assignmentNumber: record.assignmentNumber } : {}),
    ...(mapped.ok ? { payload: mapped.payload } : { unmapped: mapped.reason }),
  });
  return createHash('sha256').update(canonical).digest('hex');
}

const DATE_ATTRS = new Set<string>(['StartDate', 'TargetCompletionDate', 'ActualCompletionDate']);

/** The attributes of `desired` that differ from `existing`, or null when the goal is already up to date. */
export function diffGoal(existing: PlanGoal, desired: GoalPayload): Partial<GoalPayload> | null {
  const patch: Record<string, unknown> = {};
  for (const attr of GOAL_PATCHABLE_ATTRIBUTES) {
    if (!(attr in desired)) continue;
    const want = normalize(attr, desired[attr]);
    if (want !== normalize(attr, existing[attr])) patch[attr] = desired[attr] ?? null;
  }
  return Object.keys(patch).length > 0 ? (patch as Partial<GoalPayload>) : null;
}

/** The whole content as a PATCH body: every patchable attribute, nulls included (they clear fields). */
export function patchBody(desired: GoalPayload): Partial<GoalPayload> {
  const body: Record<string, unknown> = {};
  for (const attr of GOAL_PATCHABLE_ATTRIBUTES) if (attr in desired) body[attr] = desired[attr] ?? null;
  return body as Partial<GoalPayload>;
}

/** Absent, null and '' mean "not set"; dates compare on their day (HCM may answer with a time part). */
function normalize(attr: string, value: unknown): string | number | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'string' && DATE_ATTRS.has(attr)) return value.slice(0, 10);
  return typeof value === 'number' || typeof value === 'string' ? value : JSON.stringify(value);
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
