/**
 * The public surface of `hdl/`: HCM Data Loader's Goal.dat files built from mapped records
 * (docs/hdl.md). Pure: no I/O; submitting the files is the state machine's part.
 */
export { escapeHdlValue, HDL_DELIMITER, HDL_ESCAPE } from './escape.ts';
export type { HdlFile, HdlFileOptions, HdlFileSet, HdlRejected } from './files.ts';
export { buildHdlFiles, DEFAULT_RECORDS_PER_FILE, GOAL_DAT } from './files.ts';
export type { GoalDatOptions, GoalLines, HdlGoalEntry } from './goal-dat.ts';
export {
  GOAL_ATTRIBUTES,
  GOAL_PLAN_GOAL_ATTRIBUTES,
  GOAL_PLAN_GOAL_SUFFIX,
  goalLines,
  HDL_NULL,
  hdlDate,
  metadataLines,
} from './goal-dat.ts';
