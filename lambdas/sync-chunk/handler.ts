import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { ChunkStore, RecordStore, RunLease, ttlSeconds } from '#core/checkpoint/index.ts';
import type { HcmClientStats, HcmGoals } from '#core/hcm/index.ts';
import type { GoalSource, SourceRef } from '#core/source/index.ts';
import {
  addCounts,
  type ChunkCounts,
  type ChunkResult,
  type ChunkTask,
  type EngineOptions,
  emptyCounts,
  type GoalIndexStore,
  loadSnapshot,
  parseChunkTasks,
  pastRestDeadline,
  processChunk,
  resolveChunk,
} from '#core/sync/index.ts';
import { type Clock, systemClock } from '../core/ports.ts';

/** The HCM port for a connection, with the client's request stats when it has them (for metrics). */
export type HcmForConnection = (connectionId: string) => HcmGoals & { stats?: HcmClientStats };

export interface SyncChunkDeps {
  doc: DynamoDBDocumentClient;
  checkpointTable: string;
  openSource: (ref: SourceRef) => GoalSource;
  hcmFor: HcmForConnection;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
  engine?: EngineOptions;
  retentionDays?: number;
  /** Run lease TTL (default run-lease.ts); each pass renews it. */
  runLeaseTtlMs?: number;
  /** plan-sync's per-chunk index of existing goals (goal-index.ts); absent or not built: finders. */
  goalIndex?: GoalIndexStore;
}

export interface SyncChunkResult {
  /** First chunk of the input (the only one without an ItemBatcher). */
  index: number;
  indexes: number[];
  /** `deferred`: the execution's REST deadline passed before a pass of some chunk started (none partial). */
  status: 'complete' | 'partial' | 'deferred';
  counts: ChunkCounts;
  waitSeconds: number;
}

/**
 * sync-chunk: one Map item (or an ItemBatcher batch, chunk after chunk) -> processChunk.
 * ReauthRequiredError and TransientError propagate with their names, which the state machine's
 * Catch / Retry match; the chunks of a batch share the invocation's time budget.
 */
export function createSyncChunkHandler(deps: SyncChunkDeps) {
  const clock = deps.clock ?? systemClock;
  const chunks = new ChunkStore(deps.doc, deps.checkpointTable, { clock, retentionDays: deps.retentionDays });
  const lease = new RunLease(deps.doc, deps.checkpointTable, { clock, ttlMs: deps.runLeaseTtlMs });

  const runTask = async (task: ChunkTask, context: Context): Promise<ChunkResult> => {
    // Past the execution's REST deadline a pass claims and writes nothing: its records stay pending in
    // the ledger for the run's next execution (finish-sync continues the run; continuation.ts).
    if (pastRestDeadline(task.restDeadline, clock.now())) {
      const index = typeof task.chunk === 'number' ? task.chunk : task.chunk.index;
      deps.logger.info('chunk pass deferred', { runId: task.runId, index, restDeadline: task.restDeadline });
      return { index, status: 'deferred', counts: emptyCounts(), waitSeconds: 0 };
    }
    // A run that lost its connection to another run, or a pass of an earlier take of the lease (an
    // orphan of an aborted execution), stops here (RunLeaseLostError, not retried); a pass that is
    // superseded later is refused at its next claim or write by the fence (invariant 10).
    await lease.renew(task.connectionId, task.runId, task.generation);
    const fence =
      task.generation !== undefined ? lease.fence(task.connectionId, task.runId, task.generation) : undefined;
    const chunk = await resolveChunk(task, chunks);
    const snapshot = await loadSnapshot(deps.goalIndex, task.runId, task.attempt, chunk.index);
    const scope = {
      runId: task.runId,
      connectionId: task.connectionId,
      expiresAt: ttlSeconds(clock.now(), deps.retentionDays),
    };
    const result = await processChunk(
      {
        runId: task.runId,
        connectionId: task.connectionId,
        attempt: task.attempt,
        chunk,
        ...(task.generation !== undefined ? { generation: task.generation } : {}),
      },
      {
        source: deps.openSource(task.source),
        hcm: deps.hcmFor(task.connectionId),
        records: new RecordStore(deps.doc, deps.checkpointTable, scope, { clock }),
        chunks,
        ...(fence ? { fence } : {}),
        // Unique per invocation and chunk: the claim owner.
        workerId: `${context.awsRequestId}:${chunk.index}`,
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
        clock,
        ...(snapshot ? { snapshot } : {}),
      },
      deps.engine,
    );
    deps.logger.info('chunk pass', {
      runId: task.runId,
      index: result.index,
      status: result.status,
      counts: result.counts,
    });
    for (const r of result.replaced ?? []) {
      // Person or plan changed: a new goal was written; the old one stays in HCM for a human to retire.
      deps.logger.warn('goal identity changed', {
        runId: task.runId,
        externalKey: r.externalKey,
        previous: r.previous,
      });
    }
    return result;
  };

  return middy(async (event: unknown, context: Context): Promise<SyncChunkResult> => {
    const tasks = parseChunkTasks(event);
    const hcm = deps.hcmFor(tasks[0]!.connectionId);
    const before = hcm.stats ? { ...hcm.stats } : undefined;
    const out: SyncChunkResult = {
      index: -1,
      indexes: [],
      status: 'complete',
      counts: emptyCounts(),
      waitSeconds: 0,
    };
    try {
      for (const task of tasks) {
        const result = await runTask(task, context);
        out.indexes.push(result.index);
        out.counts = addCounts(out.counts, result.counts);
        // partial wins (the loop passes again, and that pass defers); deferred ends the chunk's loop.
        if (result.status === 'partial') out.status = 'partial';
        else if (result.status === 'deferred' && out.status === 'complete') out.status = 'deferred';
        out.waitSeconds = Math.max(out.waitSeconds, result.waitSeconds);
      }
    } finally {
      emitMetrics(deps.metrics, out.counts, before, hcm.stats);
    }
    out.index = out.indexes[0]!;
    return out;
  })
    .use(injectLambdaContext(deps.logger))
    .use(logMetrics(deps.metrics));
}

/** Per-invocation metrics named in infra/metrics.ts's contract (service sync-chunk, no extra dimensions). */
function emitMetrics(
  metrics: Metrics,
  counts: ChunkCounts,
  before: HcmClientStats | undefined,
  after: HcmClientStats | undefined,
): void {
  metrics.addMetric('GoalsSynced', MetricUnit.Count, counts.created + counts.updated + counts.reconciled);
  metrics.addMetric('GoalsFailed', MetricUnit.Count, counts.failed);
  if (before && after) {
    metrics.addMetric('HcmUnauthorized', MetricUnit.Count, after.unauthorized - before.unauthorized);
    metrics.addMetric('HcmThrottled', MetricUnit.Count, after.throttled - before.throttled);
    metrics.addMetric('HcmServerErrors', MetricUnit.Count, after.serverErrors - before.serverErrors);
  }
}
