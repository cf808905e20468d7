import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import {
  GoalLedger,
  HdlPartStore,
  HdlSendFence,
  RecordStore,
  RunLease,
  WRITE_TIMING_DEFAULTS,
} from '#core/checkpoint/index.ts';
import type { GoalMapping, HcmGoalsClient } from '#core/hcm/index.ts';
import { type HdlCallStats, HdlDataSets } from '#core/hdl/index.ts';
import type { GoalSource, SourceRef } from '#core/source/index.ts';
import {
  buildHdlParts,
  type HdlPollOptions,
  type IndexObjects,
  pollHdlParts,
  recordHdlOutcomes,
  submitHdlParts,
} from '#core/sync/index.ts';
import { ConfigError } from '../core/errors.ts';
import { type Clock, systemClock } from '../core/ports.ts';

/** The steps of the state machine's HDL branch, one invocation each (docs/hdl.md). */
export const HDL_STEPS = ['build', 'submit', 'poll', 'record'] as const;
export type HdlStep = (typeof HDL_STEPS)[number];

export interface HdlLoadEvent {
  step: HdlStep;
  runId: string;
  connectionId: string;
  attempt: number;
  chunkSize: number;
  source: SourceRef;
  /** Poll rounds so far (the Wait grows with them). */
  round?: number;
  /**
   * The run generation plan-sync's take of the run lease got (invariant 10): every step renews the
   * lease under it, and every createFileDataSet is fenced by it (guard H2). Absent: not fenced.
   */
  generation?: number;
}

export interface HdlLoadDeps {
  doc: DynamoDBDocumentClient;
  checkpointTable: string;
  openSource: (ref: SourceRef) => GoalSource;
  /** Where parts' zips and record lists live (the manifest bucket in AWS, the local object store). */
  objects: IndexObjects;
  hcmFor: (connectionId: string) => HcmGoalsClient;
  sourceSystemOwner: string;
  mapping?: GoalMapping;
  recordsPerFile?: number;
  poll?: HdlPollOptions;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
  /** Every dataLoadDataSets call of this container (the local report's `hdl` counters). */
  stats?: HdlCallStats;
}

function parseEvent(event: unknown): HdlLoadEvent {
  const e = (event ?? {}) as Partial<HdlLoadEvent>;
  if (!HDL_STEPS.includes(e.step as HdlStep))
    throw new ConfigError(`hdl-load: unknown step ${String(e.step)}`);
  for (const f of ['runId', 'connectionId'] as const)
    if (typeof e[f] !== 'string' || e[f] === '') throw new ConfigError(`hdl-load: ${f} is required`);
  if (!Number.isInteger(e.attempt) || !Number.isInteger(e.chunkSize) || !e.source)
    throw new ConfigError('hdl-load: attempt, chunkSize and source are required');
  if (e.generation !== undefined && !Number.isInteger(e.generation))
    throw new ConfigError('hdl-load: generation must be an integer');
  return e as HdlLoadEvent;
}

/**
 * hdl-load: the HDL branch's steps (build the parts, submit them, one poll round, record outcomes).
 * Each answers a small summary for the state machine; everything else is in the checkpoint table and
 * the object store, so any step can be repeated (a retry, a resume) without loading a part twice.
 */
export function createHdlLoadHandler(deps: HdlLoadDeps) {
  const clock = deps.clock ?? systemClock;
  const parts = new HdlPartStore(deps.doc, deps.checkpointTable, { clock });
  const lease = new RunLease(deps.doc, deps.checkpointTable, { clock });
  return middy(async (event: unknown, context: Context): Promise<Record<string, unknown>> => {
    const e = parseEvent(event);
    if (deps.sourceSystemOwner === '')
      throw new ConfigError(
        'hdl-load: no HDL source system owner is configured (context hdlSourceSystemOwner)',
      );
    // As sync-chunk: a step of a run that lost the connection, or of a superseded take of the lease,
    // stops here (RunLeaseLostError); the renewal also keeps the lease alive through a long load.
    await lease.renew(e.connectionId, e.runId, e.generation);
    const sendFence =
      e.generation === undefined
        ? undefined
        : new HdlSendFence(
            deps.doc,
            deps.checkpointTable,
            { connectionId: e.connectionId, runId: e.runId, generation: e.generation },
            { clock, invocationEndsAt: () => clock.now() + context.getRemainingTimeInMillis() },
          );
    const base = deps.hcmFor(e.connectionId);
    const hcm = base.withTimeBudget(() => context.getRemainingTimeInMillis());
    const dataSets = new HdlDataSets(base, deps.stats);
    const submitDeps = { parts, objects: deps.objects, dataSets, clock, ...(sendFence ? { sendFence } : {}) };
    const records = new RecordStore(deps.doc, deps.checkpointTable, {
      runId: e.runId,
      connectionId: e.connectionId,
      expiresAt: 0,
    });
    const run = { runId: e.runId, connectionId: e.connectionId, attempt: e.attempt, chunkSize: e.chunkSize };
    const owner = { sourceSystemOwner: deps.sourceSystemOwner };
    let out: Record<string, unknown>;
    switch (e.step) {
      case 'build': {
        const summary = await buildHdlParts(
          run,
          { source: deps.openSource(e.source), records, parts, objects: deps.objects, hcm, dataSets },
          {
            ...owner,
            ...(deps.mapping ? { mapping: deps.mapping } : {}),
            ...(deps.recordsPerFile ? { recordsPerFile: deps.recordsPerFile } : {}),
          },
        );
        deps.metrics.addMetric('HdlParts', MetricUnit.Count, summary.parts);
        out = { ...summary };
        break;
      }
      case 'submit':
        out = { ...(await submitHdlParts(e.runId, submitDeps)), round: 0 };
        break;
      case 'poll': {
        // Parts the submit step held back for an earlier take's send (H2) are submitted once it settled.
        const held = await submitHdlParts(e.runId, submitDeps);
        const polled = await pollHdlParts(e.runId, e.round ?? 0, { parts, dataSets, clock }, deps.poll);
        out = { ...polled, waitSeconds: Math.max(polled.waitSeconds, held.holdSeconds) };
        break;
      }
      case 'record': {
        const ledger = new GoalLedger(
          deps.doc,
          deps.checkpointTable,
          { runId: e.runId, connectionId: e.connectionId },
          WRITE_TIMING_DEFAULTS,
          { clock },
        );
        const totals = await recordHdlOutcomes(
          run,
          {
            parts,
            objects: deps.objects,
            dataSets,
            records,
            ledger,
            hcm,
            owner: `hdl-${context.awsRequestId}`,
          },
          owner,
        );
        deps.metrics.addMetric('HdlLinesLoaded', MetricUnit.Count, totals.loaded);
        deps.metrics.addMetric('HdlLinesFailed', MetricUnit.Count, totals.failed);
        out = { ...totals };
        break;
      }
    }
    deps.logger.info('hdl step', { runId: e.runId, step: e.step, ...out });
    return out;
  })
    .use(injectLambdaContext(deps.logger))
    .use(logMetrics(deps.metrics));
}
