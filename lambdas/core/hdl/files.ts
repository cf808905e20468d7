import { zipSync } from 'fflate';
import { ConfigError } from '../errors.ts';
import { type GoalDatOptions, goalLines, type HdlGoalEntry, metadataLines } from './goal-dat.ts';

/** Records per file unless configured: Oracle gives no cap; a part this size stays a small upload. */
export const DEFAULT_RECORDS_PER_FILE = 10_000;
/** The data file's name inside each zip: HDL finds the business object by it. */
export const GOAL_DAT = 'Goal.dat';
/**
 * Zip entries carry a modification time; a fixed one makes the same records give the same bytes (a
 * resent part is recognisably the same part). Noon UTC keeps the DOS date inside 1980+ in every zone.
 */
const FIXED_MTIME = new Date('2000-01-01T12:00:00Z');
const RUN_ID_RE = /^[A-Za-z0-9._-]{1,80}$/;

export interface HdlFileOptions extends GoalDatOptions {
  runId: string;
  recordsPerFile?: number;
}

export interface HdlFile {
  /** `<runId>-part-<NNNN>.zip`: the same run and records give the same names and bytes. */
  name: string;
  part: number;
  goalPlanId: number;
  /** External keys of the records in this file, in file order. */
  externalKeys: string[];
  /** The Goal.dat text (UTF-8 in the zip). */
  dat: string;
  zip: Uint8Array;
}

export interface HdlRejected {
  externalKey: string;
  reason: string;
}

export interface HdlFileSet {
  files: HdlFile[];
  /** Records the mapping has no code for: record errors, written to no file. */
  rejected: HdlRejected[];
}

/**
 * Goal.dat files for a run: one goal plan per file (a failed plan's lines stay apart from others'),
 * at most `recordsPerFile` records per file, records ordered by external key so the input's order
 * does not change the bytes. Parts are numbered from 1 over plans in ascending GoalPlanId.
 */
export function buildHdlFiles(entries: readonly HdlGoalEntry[], options: HdlFileOptions): HdlFileSet {
  const perFile = options.recordsPerFile ?? DEFAULT_RECORDS_PER_FILE;
  if (!Number.isInteger(perFile) || perFile < 1)
    throw new ConfigError(`records per HDL file must be a whole number of at least 1, not ${perFile}`);
  if (!RUN_ID_RE.test(options.runId))
    throw new ConfigError(`run id '${options.runId}' cannot name an HDL file: use letters, digits . _ -`);
  if (options.sourceSystemOwner.trim() === '')
    throw new ConfigError(
      'the HDL source system owner is empty: set hdlSourceSystemOwner / --hdl-source-owner',
    );
  const byPlan = new Map<number, HdlGoalEntry[]>();
  for (const e of entries) {
    const list = byPlan.get(e.record.goalPlanId) ?? [];
    list.push(e);
    byPlan.set(e.record.goalPlanId, list);
  }
  const files: HdlFile[] = [];
  const rejected: HdlRejected[] = [];
  let part = 0;
  for (const planId of [...byPlan.keys()].sort((a, b) => a - b)) {
    const sorted = byPlan.get(planId)!.sort((a, b) => compare(a.record.externalKey, b.record.externalKey));
    const lines: { key: string; goal: string; goalPlanGoal: string }[] = [];
    for (const e of sorted) {
      const l = goalLines(e, options);
      if (l.ok) lines.push({ key: e.record.externalKey, goal: l.goal, goalPlanGoal: l.goalPlanGoal });
      else rejected.push({ externalKey: e.record.externalKey, reason: l.reason });
    }
    for (let i = 0; i < lines.length; i += perFile) {
      part += 1;
      files.push(datFile(options.runId, part, planId, lines.slice(i, i + perFile)));
    }
  }
  return { files, rejected };
}

function datFile(
  runId: string,
  part: number,
  goalPlanId: number,
  lines: { key: string; goal: string; goalPlanGoal: string }[],
): HdlFile {
  // HDL loads a component's METADATA then its rows; the parent (Goal) block comes before its child.
  const [goalMeta, planGoalMeta] = metadataLines() as [string, string];
  const dat = `${[goalMeta, ...lines.map((l) => l.goal), planGoalMeta, ...lines.map((l) => l.goalPlanGoal)].join('\n')}\n`;
  const zip = zipSync({ [GOAL_DAT]: [new TextEncoder().encode(dat), { mtime: FIXED_MTIME, level: 6 }] });
  return {
    name: `${runId}-part-${String(part).padStart(4, '0')}.zip`,
    part,
    goalPlanId,
    externalKeys: lines.map((l) => l.key),
    dat,
    zip,
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
