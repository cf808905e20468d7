import { GOAL_PATCHABLE_ATTRIBUTES, type GoalMapping, mapGoal } from '#core/hcm/index.ts';
import type { GoalRecord } from '#core/source/index.ts';

/**
 * What the client's mapping sends for one record: the attributes of a create, and which of them a
 * PATCH may change. This is the one place the preflight reads the client's mapping (hcm/mapping.ts with
 * the tenant's status / category / percent settings), so a change of the mapping changes what the
 * describe, lookup and write checks compare, with nothing else to edit.
 */
export type MappedRecord = { ok: true; payload: Record<string, unknown> } | { ok: false; reason: string };

export function mapRecord(record: GoalRecord, mapping?: GoalMapping): MappedRecord {
  const mapped = mapGoal(record, mapping);
  return mapped.ok ? { ok: true, payload: { ...mapped.payload } } : mapped;
}

/**
 * Attributes the client adds to every create from the plan's assignees (sync/write-goal.ts: the
 * worker's PersonId and the AssignmentId on the plan), beside the mapped payload.
 */
export const WORKER_ATTRIBUTES = ['PersonId', 'AssignmentId'] as const;

/** The attributes the client may send on a PATCH. */
export function patchableAttributes(): readonly string[] {
  return GOAL_PATCHABLE_ATTRIBUTES;
}

/**
 * Attributes whose values are codes from a tenant lookup: by Oracle's naming (`...Code`) plus
 * PercentCompletion, which is a code despite its name (ORACLE-FACTS, HRG_GOALS.PERCENT_COMPLETE_CODE).
 */
export function isCodeAttribute(name: string): boolean {
  return name.endsWith('Code') || name === 'PercentCompletion';
}
