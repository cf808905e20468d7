import { createHash } from 'node:crypto';
import type { GoalRecord } from '#core/source/index.ts';
import { HCM_EDITABLE_ATTRIBUTES, type HcmGoal, type HcmGoalPayload } from './oracle.ts';

/**
 * Oracle's goal resource has no external-id field, so a goal is found again by this natural key
 * (unique per source file: plan() rejects repeats) plus our own ledger of external key -> GoalId.
 */
export interface NaturalKey {
  personNumber: string;
  goalPlanId: number;
  goalName: string;
}

export function naturalKeyOf(record: GoalRecord): NaturalKey {
  return { personNumber: record.personNumber, goalPlanId: record.goalPlanId, goalName: record.goalName };
}

/**
 * Source record -> writable HCM attributes (docs/architecture.md "Goal mapping"). Optional attributes the source
 * leaves out map to null, so that clearing a field at the source clears it in HCM on the next sync.
 * goalPlanId goes in the URL (goals are children of a goal plan); externalKey stays in our ledger.
 */
export function toHcmPayload(record: GoalRecord): HcmGoalPayload {
  const payload: HcmGoalPayload = {
    GoalName: record.goalName,
    Description: record.description ?? null,
    PersonNumber: record.personNumber,
    StartDate: record.startDate,
    TargetCompletionDate: record.targetCompletionDate,
    ActualCompletionDate: record.actualCompletionDate ?? null,
    StatusCode: record.status,
    PercentComplete: record.percentComplete ?? null,
    PriorityCode: record.priority ?? null,
    Weight: record.weight ?? null,
    CategoryCode: record.category ?? null,
  };
  // The review period follows from the plan; only send it when the source states it (HCM checks it).
  if (record.reviewPeriodId !== undefined) payload.ReviewPeriodId = record.reviewPeriodId;
  return payload;
}

/**
 * sha256 (hex) of the mapped payload plus the goal plan, as canonical JSON (sorted keys, nulls kept).
 * The plan is part of it because it is part of where the goal lives, though not of the payload.
 */
export function contentHash(record: GoalRecord): string {
  const canonical = canonicalJson({ goalPlanId: record.goalPlanId, payload: toHcmPayload(record) });
  return createHash('sha256').update(canonical).digest('hex');
}

/** Attributes that can change on an existing goal (identity attributes cannot, and are never patched). */
const PATCHABLE = HCM_EDITABLE_ATTRIBUTES;

const DATE_ATTRS = new Set<string>(['StartDate', 'TargetCompletionDate', 'ActualCompletionDate']);

/** The attributes of `desired` that differ from `existing`, or null when the goal is already up to date. */
export function diffGoal(existing: HcmGoal, desired: HcmGoalPayload): Partial<HcmGoalPayload> | null {
  const patch: Record<string, unknown> = {};
  for (const attr of PATCHABLE) {
    if (!(attr in desired)) continue;
    const want = normalize(attr, desired[attr]);
    if (want !== normalize(attr, existing[attr])) patch[attr] = desired[attr] ?? null;
  }
  return Object.keys(patch).length > 0 ? (patch as Partial<HcmGoalPayload>) : null;
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
