/**
 * The public surface of `sync/`: what code outside this folder may import (a test enforces it).
 * Everything else in the folder is internal.
 */

export {
  type Continued,
  continuationInput,
  continuationName,
  continueRun,
  pastRestDeadline,
  shouldContinue,
} from './continuation.ts';
export type { ChunkCounts } from './counts.ts';
export { addCounts, emptyCounts } from './counts.ts';
export type { ChunkResult, EngineOptions } from './engine.ts';
export { ENGINE_DEFAULTS, processChunk } from './engine.ts';
export type { FinishOutput, MetricsSink } from './finish.ts';
export { finishRun } from './finish.ts';
export type { GoalIndexOptions, GoalIndexSummary } from './goal-index.ts';
export {
  buildGoalIndex,
  GOAL_INDEX_DEFAULTS,
  HDL_READS_PLANS,
  INPUT_REJECTED,
  noIndex,
} from './goal-index.ts';
export { type IndexObjects, ObjectGoalIndex } from './goal-index-objects.ts';
export type { GoalIndexManifest, GoalIndexStore } from './goal-snapshot.ts';
export { GoalSnapshot, loadSnapshot } from './goal-snapshot.ts';
export type { HdlBuildOptions, HdlBuildSummary, HdlPartRecord, HdlRoute, HdlRun } from './hdl-build.ts';
export { buildHdlParts, hdlObjectKey, routeOf } from './hdl-build.ts';
export { type HdlPlan, hdlEntries } from './hdl-entries.ts';
export { type HdlOutcomeTotals, recordHdlOutcomes, UNSETTLED } from './hdl-outcomes.ts';
export {
  HDL_POLL_DEFAULTS,
  type HdlPollOptions,
  type HdlPollResult,
  pollHdlParts,
  submitHdlParts,
} from './hdl-submit.ts';
export { parseChunkTasks, parseFinishInput, parsePlanInput } from './input.ts';
export type {
  ChunkManifestWriter,
  ChunkTask,
  IndexGoalsArgs,
  PlanInput,
  PlanOptions,
  PlanOutput,
} from './plan.ts';
export { PAYLOAD_CHUNK_LIMIT, PAYLOAD_LIMIT_BYTES, PLAN_DEFAULTS, planRun, resolveChunk } from './plan.ts';
export { AssigneeCache, PlanAssignees, readPlanAssignees } from './plan-directory.ts';
export { runPool } from './pool.ts';
export { PERSONS_PER_QUERY, readRunAssignees } from './run-assignees.ts';
export {
  DEFAULT_CEILING_SHARE,
  DEFAULT_END_RESERVE_MS,
  DEFAULT_REST_REQUESTS_PER_GOAL,
  type EstimateSettings,
  estimateRun,
  type RunEstimate,
  restDeadlineOf,
  wouldNotFit,
} from './run-estimate.ts';
export type {
  ExecutionStarter,
  ScheduledRunKind,
  ScheduledStartEvent,
  ScheduledStartResult,
} from './scheduled-start.ts';
export { parseScheduledStart, scheduledRunId, startScheduledRun } from './scheduled-start.ts';
export { findTwins, listTwins, removeYounger, type Twin, type TwinRemoval } from './twins.ts';
export {
  chooseWritePath,
  DEFAULT_HDL_THRESHOLD,
  parseHdlThreshold,
  parseWriteMode,
  WRITE_MODES,
  type WriteChoice,
  type WriteMode,
  type WritePath,
} from './write-mode.ts';
