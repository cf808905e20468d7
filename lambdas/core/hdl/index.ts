/**
 * The public surface of `hdl/`: HCM Data Loader's Goal.dat files built from mapped records
 * (docs/hdl.md), and the `dataLoadDataSets` calls that submit and watch them (over a transport: the
 * HCM client's `request`). The protocol around them (ledger, parts, outcomes) is in sync/hdl-*.ts.
 */

export type {
  DataSetPhase,
  DataSetState,
  HdlCallStats,
  HdlTransport,
  LineMessage,
} from './data-sets-client.ts';
export { DATA_SETS_PATH, emptyHdlCallStats, HdlDataSets } from './data-sets-client.ts';
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
