import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { ChunkStore, HdlPartStore, RecordStore, RunLease, RunStore } from '#core/checkpoint/index.ts';
import type { GoalMapping, HcmGoals } from '#core/hcm/index.ts';
import type { GoalSource, SourceCopyStore, SourceRef } from '#core/source/index.ts';
import { acceptanceProblem, checkAcceptance } from '#core/source/index.ts';
import {
  buildGoalIndex,
  type ChunkManifestWriter,
  chooseWritePath,
  estimateRun,
  type GoalIndexOptions,
  type GoalIndexStore,
  type GoalIndexSummary,
  HDL_READS_PLANS,
  INPUT_REJECTED,
  type IndexGoalsArgs,
  noIndex,
  type PlanOptions,
  type PlanOutput,
  planRun,
  type RunEstimate,
  restDeadlineOf,
  type WriteChoice,
  wouldNotFit,
} from '#core/sync/index.ts';
import { ConfigError } from '../core/errors.ts';
import { type Clock, systemClock } from '../core/ports.ts';
import { normalizePlanEvent } from './plan-event.ts';

const WOULD_NOT_FIT = 'the run would not fit in its execution: refused';

export interface PlanSyncDeps {
  doc: DynamoDBDocumentClient;
  checkpointTable: string;
  openSource: (ref: SourceRef) => GoalSource;
  /** Where every run's chunk list goes for the Distributed Map (S3 in AWS, a local directory on the laptop). */
  manifest?: ChunkManifestWriter;
  /** Where a source that is not UTF-8 JSON Lines or CSV gets its UTF-8 copy (the source bucket's runs/). */
  sourceCopies?: SourceCopyStore;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
  options?: PlanOptions;
  retentionDays?: number;
  runLeaseTtlMs?: number;
  /** The stack's default connection (CONNECTION_ID): what an execution input without one uses. */
  defaultConnectionId?: string;
  /**
   * The plan-wide read of existing goals (issue 15): HCM for the run's connection and where the
   * per-chunk index goes. Without both, chunks use per-person finders and verify is refused.
   */
  hcmFor?: (connectionId: string) => HcmGoals;
  goalIndex?: GoalIndexStore;
  indexOptions?: GoalIndexOptions;
  /**
   * HCM Data Loader (issue 24): the SourceSystemOwner the hdl-load function writes with. Without it
   * every run writes through REST and `writeMode: "hdl"` is refused.
   */
  hdlSourceSystemOwner?: string;
  /** The tenant's codes: auto's count of records to write compares content hashes as sync-chunk does. */
  mapping?: GoalMapping;
  /** The stack's hdlThreshold (context key): an execution input's own wins. */
  hdlThreshold?: number;
  /**
   * The run's REST duration estimate (issue 24 item 4): the stack's HCM request ceiling and the state
   * machine's timeout. Without the ceiling no estimate; without the timeout an estimate that decides nothing.
   */
  runBudget?: { requestsPerSecond: number; executionTimeoutMs?: number; endReserveMs?: number };
}

/** What the state machine gets: the plan, the write path, and the REST deadline the chunk tasks carry. */
export type PlanSyncOutput = PlanOutput &
  WriteChoice & {
    /** Epoch ms after which chunk passes defer and the run continues in a new execution; 0: none. */
    restDeadline: number;
  };

/**
 * Continuing is impossible only for a REST run whose execution has no time left at all (a timeout no
 * longer than the end reserve, or a plan that used it up): its chunks would all defer, and so would
 * every continuation's. Any other run that would not fit continues (continuation.ts).
 */
function cannotContinue(choice: WriteChoice): boolean {
  return (
    choice.writeMode === 'rest' && choice.estimate?.fits === false && choice.estimate.timeLeftSeconds === 0
  );
}

/** plan-sync: {runId, source, connectionId, chunkSize?} -> chunk references for the Map. */
export function createPlanSyncHandler(deps: PlanSyncDeps) {
  const runs = new RunStore(deps.doc, deps.checkpointTable, {
    clock: deps.clock,
    retentionDays: deps.retentionDays,
  });
  const chunks = new ChunkStore(deps.doc, deps.checkpointTable, {
    clock: deps.clock,
    retentionDays: deps.retentionDays,
  });
  const lease = new RunLease(deps.doc, deps.checkpointTable, {
    clock: deps.clock,
    ttlMs: deps.runLeaseTtlMs,
  });
  const clock = deps.clock ?? systemClock;
  const parts = new HdlPartStore(deps.doc, deps.checkpointTable, { clock: deps.clock });
  return middy(async (event: unknown, context: Context): Promise<PlanSyncOutput> => {
    const { input, maxInvalid, write, executionStartedAt } = normalizePlanEvent(event, {
      connectionId: deps.defaultConnectionId,
    });
    const { hcmFor, goalIndex: store, runBudget } = deps;
    const estimate = runBudget
      ? (records: number, counted: RunEstimate['counted']) =>
          estimateRun(records, counted, {
            ...runBudget,
            ...(executionStartedAt === undefined ? {} : { executionStartedAt }),
            now: clock.now(),
          })
      : undefined;
    // A verify pass checks goals through the REST index: it never loads through HDL.
    const choose = (
      { runId, connectionId }: { runId: string; connectionId: string },
      chunkSize: number,
      validRecords: number,
      verify: boolean,
      source: GoalSource,
    ) =>
      chooseWritePath(
        { runId, chunkSize, validRecords },
        {
          ...(deps.hdlThreshold === undefined ? {} : { hdlThreshold: deps.hdlThreshold }),
          ...write,
          ...(verify ? { writeMode: 'rest' as const } : {}),
        },
        {
          hdlConfigured: Boolean(deps.hdlSourceSystemOwner),
          parts,
          records: new RecordStore(deps.doc, deps.checkpointTable, {
            runId,
            connectionId,
            expiresAt: 0,
          }),
          source,
          ...(deps.mapping ? { mapping: deps.mapping } : {}),
          // A verify pass writes only what it finds missing or drifted: its duration is not the records'.
          ...(estimate && !verify ? { estimate } : {}),
        },
      );
    let chosen: WriteChoice | undefined;
    const indexGoals =
      hcmFor && store
        ? async (a: IndexGoalsArgs): Promise<GoalIndexSummary> => {
            // An input about to be rejected costs HCM nothing (the check below throws for real).
            if (acceptanceProblem(a.totals, maxInvalid)) return noIndex(INPUT_REJECTED);
            // An HDL run reads each plan in its build and record steps: the REST index would be a third
            // read (the REST Map settles HDL's records from the ledger, the few others by finders).
            chosen = await choose(a, a.chunkSize, a.validRecords, a.verify, a.source);
            if (chosen.writeMode === 'hdl') return noIndex(HDL_READS_PLANS);
            // A run refused below (no time left to write at all) costs HCM nothing either.
            if (cannotContinue(chosen)) return noIndex(WOULD_NOT_FIT);
            const base = hcmFor(a.connectionId);
            const hcm = base.withTimeBudget?.(() => context.getRemainingTimeInMillis()) ?? base;
            return buildGoalIndex(
              a,
              { hcm, source: a.source, store, now: () => clock.now() },
              deps.indexOptions,
            );
          }
        : undefined;
    const out = await planRun(
      input,
      {
        runs,
        chunks,
        lease,
        openSource: deps.openSource,
        manifest: deps.manifest,
        ...(deps.sourceCopies ? { sourceCopies: deps.sourceCopies } : {}),
        indexGoals,
      },
      deps.options,
    );
    deps.logger.info('run planned', {
      runId: out.runId,
      attempt: out.attempt,
      resumed: out.resumed,
      chunkCount: out.chunkCount,
      map: out.map,
      mapThreshold: out.mapThreshold,
      chunkMode: out.chunkMode,
      totals: out.totals,
      goalIndex: out.goalIndex,
      verify: out.verify === true,
    });
    deps.metrics.addMetric('ChunksPlanned', MetricUnit.Count, out.chunkCount);
    deps.metrics.addMetric('InvalidRecords', MetricUnit.Count, out.totals.invalid);
    // After planning, so the invalid records are stored and listed by `status` (invariant 9); the
    // InputRejectedError then fails the execution through MarkFailed (sync.failed).
    try {
      await checkAcceptance(out.source.uri, out.totals, maxInvalid, async () => {
        const [first] = await runs.listInvalidRecords(out.runId);
        return first;
      });
    } catch (err) {
      // A rejected input ends the run here: the connection is free for the corrected export at once.
      await lease.release(out.connectionId, out.runId);
      throw err;
    }
    if (out.verify && !out.goalIndex?.built) {
      // Nothing to verify against: the run ends before any chunk, like a rejected input.
      await lease.release(out.connectionId, out.runId);
      throw new ConfigError(
        `verify needs the plan-wide read of HCM's goals, which did not happen: ${out.goalIndex?.reason ?? 'no HCM access configured for plan-sync'}`,
      );
    }
    const choice =
      chosen ??
      (await choose(
        out,
        out.chunkSize,
        out.totals.validRecords,
        out.verify === true,
        deps.openSource(out.source),
      ));
    deps.logger.info('write path chosen', { runId: out.runId, ...choice });
    if (choice.estimate) await runs.setEstimate(out.runId, { ...choice.estimate });
    if (cannotContinue(choice) && choice.estimate) {
      // Every chunk would defer at once and every continuation again: refused now, the connection free.
      await lease.release(out.connectionId, out.runId);
      throw wouldNotFit(out.runId, choice.estimate, Boolean(deps.hdlSourceSystemOwner));
    }
    // A REST run that would not fit writes until the deadline and continues in a new execution of the
    // same run (finish-sync, continuation.ts); every continuation's plan estimates what is left again.
    const restDeadline = runBudget
      ? restDeadlineOf({
          ...runBudget,
          ...(executionStartedAt === undefined ? {} : { executionStartedAt }),
          now: clock.now(),
        })
      : 0;
    if (choice.writeMode === 'rest' && choice.estimate?.fits === false) {
      deps.logger.warn('run continues in new executions', {
        runId: out.runId,
        restSeconds: choice.estimate.restSeconds,
        timeLeftSeconds: choice.estimate.timeLeftSeconds,
      });
    }
    return { ...out, ...choice, restDeadline };
  })
    .use(injectLambdaContext(deps.logger))
    .use(logMetrics(deps.metrics));
}
