import { HCM_EDITABLE_ATTRIBUTES, toHcmPayload } from '#core/hcm/index.ts';
import type { GoalRecord } from '#core/source/index.ts';

/**
 * What the client's mapping sends for one record: the attributes of a create, and which of them a
 * PATCH may change. This is the one place the preflight reads the client's mapping, so a change of
 * the mapping (attribute names, codes, configured status/category maps) changes what the describe and
 * lookup checks compare, with nothing else to edit.
 */
export interface MappedGoal {
  /** The create body the client would send (identity attributes included). */
  create: Record<string, unknown>;
}

export function mapRecord(record: GoalRecord): MappedGoal {
  return { create: { ...toHcmPayload(record) } };
}

/** The attributes the client may send on a PATCH. */
export function patchableAttributes(): readonly string[] {
  return HCM_EDITABLE_ATTRIBUTES;
}

/**
 * Attributes whose values are codes from a tenant lookup: by Oracle's naming (`...Code`) plus
 * PercentCompletion, which is a code despite its name (ORACLE-FACTS, HRG_GOALS.PERCENT_COMPLETE_CODE).
 */
export function isCodeAttribute(name: string): boolean {
  return name.endsWith('Code') || name === 'PercentCompletion';
}
