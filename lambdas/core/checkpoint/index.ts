/**
 * The public surface of `checkpoint/`: what code outside this folder may import (a test enforces it).
 * Everything else in the folder is internal.
 */

export { dynamoCall, queryByPrefix } from './batch-io.ts';
export { ChunkStore } from './chunk-store.ts';
export type { WriteTiming } from './goal-ledger.ts';
export { GoalLedger, SETTLE_HORIZON_DEFAULT_MS, WRITE_TIMING_DEFAULTS } from './goal-ledger.ts';
export { type HdlPartItem, type HdlPartStatus, HdlPartStore } from './hdl-part-store.ts';
export type { HdlSendFenceOptions, HdlSendMark } from './hdl-send-fence.ts';
export { HDL_LATE_ACCEPT_DEFAULT_MS, HdlSendFence } from './hdl-send-fence.ts';
export { RUN_SK, runPk, SK_PREFIX } from './item-keys.ts';
export type { RecordState } from './record-store.ts';
export { RecordStore } from './record-store.ts';
export { ttlSeconds } from './retention.ts';
export { markContinuing } from './run-continuing.ts';
export type { AcquiredLease, RunFence } from './run-lease.ts';
export { RunLease } from './run-lease.ts';
export { RunStore, sourceChange } from './run-store.ts';
export type {
  ChunkSummary,
  DoneAction,
  GoalCounts,
  HcmIds,
  LedgerItem,
  RunContinuation,
  RunItem,
  RunStatus,
  RunTotals,
  TwinEntry,
  VerifyCounts,
  VerifyFinding,
} from './run-types.ts';
export { committedIds, needsReconcile } from './run-types.ts';
