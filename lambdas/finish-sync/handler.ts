import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { ChunkStore, HdlPartStore, RunLease, RunStore } from '#core/checkpoint/index.ts';
import { type ExecutionStarter, type FinishOutput, finishRun, parseFinishInput } from '#core/sync/index.ts';
import type { Clock, EventPublisher } from '../core/ports.ts';

export interface FinishSyncDeps {
  doc: DynamoDBDocumentClient;
  checkpointTable: string;
  events: EventPublisher;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
  /**
   * StartExecution of the sync state machine, for a run that continues in a new execution (issue 24
   * item 4). Absent: the run is still handed over (`continuing`), and the caller starts the execution
   * named in the output (the local runner).
   */
  starter?: ExecutionStarter;
  /** false: a run past its REST deadline ends as before (unsettled) instead of continuing. */
  continues?: boolean;
}

/**
 * finish-sync: {runId, outcome?, error?} -> run report. The normal path (outcome completed) and both
 * Catch paths (needs_reauth, failed) end here, so every run gets a terminal status and one event, or
 * (past the execution's REST deadline with records pending) is handed to a new execution of itself.
 */
export function createFinishSyncHandler(deps: FinishSyncDeps) {
  const runs = new RunStore(deps.doc, deps.checkpointTable, { clock: deps.clock });
  const chunks = new ChunkStore(deps.doc, deps.checkpointTable, { clock: deps.clock });
  const lease = new RunLease(deps.doc, deps.checkpointTable, { clock: deps.clock });
  const hdlParts = new HdlPartStore(deps.doc, deps.checkpointTable, { clock: deps.clock });
  return middy(async (event: unknown, _context: Context): Promise<FinishOutput> => {
    const input = parseFinishInput(event);
    const out = await finishRun(input, {
      runs,
      chunks,
      events: deps.events,
      lease,
      metrics: deps.metrics,
      clock: deps.clock,
      hdlParts,
      ...(deps.continues === false
        ? {}
        : {
            continuation: {
              doc: deps.doc,
              checkpointTable: deps.checkpointTable,
              ...(deps.starter ? { starter: deps.starter } : {}),
            },
          }),
    });
    const log =
      out.status === 'completed' || out.status === 'continuing' ? deps.logger.info : deps.logger.warn;
    log.call(deps.logger, 'run finished', {
      runId: out.runId,
      status: out.status,
      goals: out.goals,
      durationMs: out.durationMs,
      aggregation: out.aggregation,
      changed: out.changed,
      ...(out.stale ? { stale: true, executionArn: input.executionArn } : {}),
      ...(out.continuation ? { continuation: out.continuation } : {}),
      ...(input.error ? { error: input.error.Error } : {}),
    });
    return out;
  })
    .use(injectLambdaContext(deps.logger))
    .use(logMetrics(deps.metrics));
}
