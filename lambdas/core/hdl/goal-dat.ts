import { DEFAULT_GOAL_MAPPING, type GoalMapping, mapGoal } from '#core/hcm/index.ts';
import type { GoalRecord } from '#core/source/index.ts';
import { escapeHdlValue, HDL_DELIMITER } from './escape.ts';

/**
 * The Goal business object's components as Goal.dat carries them (Oracle, "Examples of Loading Goals",
 * fahbo/examples-of-loading-goals.html; "Guidelines for Loading Goals"): a `Goal` line holds the goal
 * and its worker, a `GoalPlanGoal` line puts it on its goal plan (required for a performance goal) with
 * the plan-level attributes (priority, weight). Each line is identified by a source key,
 * SourceSystemOwner + SourceSystemId (fahdl/source-keys.html), so MERGE creates or updates by that key.
 */
export const GOAL_ATTRIBUTES = [
  'SourceSystemOwner',
  'SourceSystemId',
  'GoalName',
  'Description',
  'StartDate',
  'TargetCompletionDate',
  'ActualCompletionDate',
  'WorkerPersonNumber',
  'WorkerAssignmentNumber',
  'StatusCode',
  'PercentCompleteCode',
  'CategoryCode',
] as const;

export const GOAL_PLAN_GOAL_ATTRIBUTES = [
  'SourceSystemOwner',
  'SourceSystemId',
  'GoalId(SourceSystemId)',
  'GoalPlanName',
  'PriorityCode',
  'Weighting',
] as const;

/** The GoalPlanGoal line's SourceSystemId: the record's external key plus this (a key per component). */
export const GOAL_PLAN_GOAL_SUFFIX = '_GPG';

/**
 * HDL's "remove the value" token: an optional attribute the source leaves out is written as #NULL, so
 * that a field cleared at the source is cleared in HCM, as the REST path sends null (an empty value in
 * a MERGE line leaves the stored value as it is).
 */
export const HDL_NULL = '#NULL';

/** One record with what HDL names by value rather than by id: resolved in bulk before the file is written. */
export interface HdlGoalEntry {
  record: GoalRecord;
  /** The goal plan's GoalPlanName (HDL names the plan, REST its GoalPlanId). */
  goalPlanName: string;
  /** The worker's assignment on the plan (the record's own, or the only one the worker has there). */
  assignmentNumber: string;
}

export interface GoalDatOptions {
  /** A value of lookup HRC_SOURCE_SYSTEM_OWNER (context hdlSourceSystemOwner, --hdl-source-owner). */
  sourceSystemOwner: string;
  mapping?: GoalMapping;
}

export type GoalLines = { ok: true; goal: string; goalPlanGoal: string } | { ok: false; reason: string };

/** HDL dates are YYYY/MM/DD; the source's are YYYY-MM-DD (validated). */
export function hdlDate(isoDate: string): string {
  return isoDate.replaceAll('-', '/');
}

export function metadataLines(): string[] {
  return [
    ['METADATA', 'Goal', ...GOAL_ATTRIBUTES].join(HDL_DELIMITER),
    ['METADATA', 'GoalPlanGoal', ...GOAL_PLAN_GOAL_ATTRIBUTES].join(HDL_DELIMITER),
  ];
}

/**
 * The record's two MERGE lines, through the same mapping as the REST path (hcm mapGoal: status,
 * category and percent codes), or the mapping's record error.
 */
export function goalLines(entry: HdlGoalEntry, options: GoalDatOptions): GoalLines {
  const mapped = mapGoal(entry.record, options.mapping ?? DEFAULT_GOAL_MAPPING);
  if (!mapped.ok) return { ok: false, reason: mapped.reason };
  const p = mapped.payload;
  const key = entry.record.externalKey;
  const goal: Record<(typeof GOAL_ATTRIBUTES)[number], string | null | undefined> = {
    SourceSystemOwner: options.sourceSystemOwner,
    SourceSystemId: key,
    GoalName: p.GoalName,
    Description: p.Description,
    StartDate: hdlDate(p.StartDate),
    TargetCompletionDate: hdlDate(p.TargetCompletionDate),
    ActualCompletionDate: p.ActualCompletionDate ? hdlDate(p.ActualCompletionDate) : null,
    WorkerPersonNumber: entry.record.personNumber,
    WorkerAssignmentNumber: entry.assignmentNumber,
    StatusCode: p.StatusCode,
    PercentCompleteCode: p.PercentCompletion,
    CategoryCode: p.CategoryCode,
  };
  const planGoal: Record<(typeof GOAL_PLAN_GOAL_ATTRIBUTES)[number], string | null | undefined> = {
    SourceSystemOwner: options.sourceSystemOwner,
    SourceSystemId: key + GOAL_PLAN_GOAL_SUFFIX,
    'GoalId(SourceSystemId)': key,
    GoalPlanName: entry.goalPlanName,
    PriorityCode: p.PriorityCode,
    Weighting: p.Weighting === null || p.Weighting === undefined ? null : String(p.Weighting),
  };
  return {
    ok: true,
    goal: mergeLine('Goal', GOAL_ATTRIBUTES, goal),
    goalPlanGoal: mergeLine('GoalPlanGoal', GOAL_PLAN_GOAL_ATTRIBUTES, planGoal),
  };
}

function mergeLine<A extends string>(
  component: string,
  attributes: readonly A[],
  values: Record<A, string | null | undefined>,
): string {
  const cells = attributes.map((a) => {
    const v = values[a];
    return v === null || v === undefined || v === '' ? HDL_NULL : escapeHdlValue(v);
  });
  return ['MERGE', component, ...cells].join(HDL_DELIMITER);
}
