import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { WriteTiming } from '#core/checkpoint/index.ts';
import {
  AdaptiveLimiter,
  type GoalMapping,
  HcmGoalsClient,
  PLAN_READ_INITIAL_RATE,
} from '#core/hcm/index.ts';
import { emptyHdlCallStats, type HdlCallStats } from '#core/hdl/index.ts';
import { ceilingOf, InProcessRateLimiter } from '#core/rate/index.ts';
import type { SourceCopyStore } from '#core/source/index.ts';
import { openGoalSource } from '#core/source/index.ts';
import type {
  ChunkCounts,
  ChunkManifestWriter,
  GoalIndexOptions,
  GoalIndexStore,
  IndexObjects,
} from '#core/sync/index.ts';
import { SERVICE_NAMESPACE } from '../../lambdas/core/observability.ts';
import { type EventPublisher, systemClock } from '../../lambdas/core/ports.ts';
import { createFinishSyncHandler } from '../../lambdas/finish-sync/handler.ts';
import { createHdlLoadHandler } from '../../lambdas/hdl-load/handler.ts';
import { createPlanSyncHandler } from '../../lambdas/plan-sync/handler.ts';
import { createSyncChunkHandler, type SyncChunkResult } from '../../lambdas/sync-chunk/handler.ts';
import type { LocalTokenBroker } from '../adapters/in-process-broker.ts';
import { mulberry32 } from '../sample/random.ts';
import { localEndReserveMs } from './execution-chain.ts';
import { asLambda, type FunctionKind, type LocalHandler, lambdaContext } from './executor.ts';

/** Lambda timeouts the stack gives these functions; locally they bound getRemainingTimeInMillis. */
const TIMEOUT_MS = { plan: 300_000, chunk: 900_000, finish: 120_000, hdl: 900_000 } as const;
/**
 * What a draining invocation is told it has left: below the engine's start margin (20 s), so no new
 * record starts, yet long enough for a request in flight to finish and be recorded.
 */
const DRAIN_REMAINING_MS = 15_000;

export interface LocalLambdaDeps {
  doc: DynamoDBDocumentClient;
  checkpointTable: string;
  broker: LocalTokenBroker;
  hcmUrl: string;
  /** The HCM request ceiling every container shares (as the stack's fleet-wide one does); 0: none. */
  hcmMaxRequestsPerSecond?: number;
  connectionId: string;
  events: EventPublisher;
  verbose: boolean;
  /** Called after every SyncChunk invocation with what it did (progress and report). */
  onChunk?: (result: SyncChunkResult) => void;
  /** Claim/visibility timing of the write protocol (local runs use shorter waits than AWS). */
  timing: WriteTiming;
  /** The tenant's codes (`--status-map`, `--category-map`, `--percent-codes`). */
  mapping?: GoalMapping;
  /** Share of SyncChunk invocations Step Functions starts a second time while the first is alive. */
  duplicateInvocationRate?: number;
  seed?: number;
  /** Where plan-sync writes every run's chunk list (the local object store; S3 in AWS). */
  manifest?: ChunkManifestWriter;
  /** Where plan-sync writes the UTF-8 copy of a source in another encoding or shape. */
  sourceCopies?: SourceCopyStore;
  /** plan-sync's index of existing goals (the local object store; S3 in AWS) and its options. */
  goalIndex?: GoalIndexStore;
  indexOptions?: GoalIndexOptions;
  /** HCM Data Loader (issue 24): the source system owner, auto's threshold, where parts are kept. */
  hdl?: { sourceSystemOwner?: string; threshold?: number; objects: IndexObjects; recordsPerFile?: number };
  /**
   * `--execution-timeout-s`: the execution timeout a local run is given (none by default). plan-sync
   * estimates against it and sets the REST deadline; the runner continues the run in new executions.
   */
  executionTimeoutMs?: number;
}

/**
 * Poll waits of the embedded default: a local load takes seconds, so the Wait state's rounds start at 1 s
 * and stay short (AWS: 5 s doubling to 5 min).
 */
export const LOCAL_HDL_POLL = { firstWaitSeconds: 1, maxWaitSeconds: 2, budgetSeconds: 600 } as const;

/**
 * Claim and visibility timing for the embedded default. Shorter than AWS's so a resumed crash waits
 * seconds, not minutes; the visibility wait must outlast the simulator's late commits. The settle
 * horizon is that wait too: the embedded simulator commits a write it took at once or, under its
 * late-commit fault, `lateCommitDelayMs` later and never after, so past the wait a goal no read sees
 * will not appear. A real pod promises no such bound, hence 24 h in AWS (invariant 7).
 */
export function localWriteTiming(lateCommitDelayMs = 0): WriteTiming {
  const visibilityMs = Math.max(1_000, lateCommitDelayMs + 1_000);
  return {
    claimTtlMs: 20_000,
    requestTimeoutMs: 10_000,
    visibilityMs,
    marginMs: 2_000,
    claimRecheckMs: 1_000,
    settleHorizonMs: visibilityMs,
  };
}

export interface ChunkContainer {
  handler: LocalHandler;
  hcm: HcmGoalsClient;
  brokerRequests(): number;
}

function observability(service: string, verbose: boolean) {
  const logger = new Logger({ serviceName: service, logLevel: verbose ? 'INFO' : 'SILENT' });
  // A silent logger keeps "no metrics to publish" warnings and EMF lines off the progress bar.
  const metrics = new Metrics({ namespace: SERVICE_NAMESPACE, serviceName: service, logger });
  return { logger, metrics };
}

/**
 * The three pipeline Lambdas, each the real middy handler over local adapters. SyncChunk runs as a
 * pool of warm "containers": like Lambda, concurrent invocations never share one, and each keeps its
 * own HCM client, token cache and rate limiter between invocations.
 */
export function buildLocalLambdas(d: LocalLambdaDeps) {
  const common = { doc: d.doc, checkpointTable: d.checkpointTable };
  const openSource = (ref: Parameters<typeof openGoalSource>[0]) => openGoalSource(ref);
  // One process: the stack's sharded DynamoDB limiter becomes one in-memory log every container shares.
  const ceiling =
    (d.hcmMaxRequestsPerSecond ?? 0) > 0
      ? ceilingOf(
          new InProcessRateLimiter(d.hcmMaxRequestsPerSecond!, systemClock, 'HCM request ceiling'),
          systemClock,
        )
      : undefined;
  const pacer = () => new AdaptiveLimiter(ceiling ? { ceiling } : {});
  // plan-sync's own HCM client for the plan-wide read, as in AWS (its own container, its own pacer).
  const planHcm = new HcmGoalsClient({
    baseUrl: d.hcmUrl,
    connectionId: d.connectionId,
    tokens: d.broker.tokenProvider(),
    timeoutMs: d.timing.requestTimeoutMs,
    limiter: new AdaptiveLimiter({ ...(ceiling ? { ceiling } : {}), initialRate: PLAN_READ_INITIAL_RATE }),
  });
  const plan = createPlanSyncHandler({
    ...common,
    ...observability('plan-sync', d.verbose),
    openSource,
    ...(d.manifest ? { manifest: d.manifest } : {}),
    ...(d.sourceCopies ? { sourceCopies: d.sourceCopies } : {}),
    ...(d.goalIndex
      ? { goalIndex: d.goalIndex, hcmFor: () => planHcm, indexOptions: d.indexOptions ?? {} }
      : {}),
    ...(d.hdl?.sourceSystemOwner ? { hdlSourceSystemOwner: d.hdl.sourceSystemOwner } : {}),
    ...(d.hdl?.threshold === undefined ? {} : { hdlThreshold: d.hdl.threshold }),
    ...(d.mapping ? { mapping: d.mapping } : {}),
    ...(d.executionTimeoutMs === undefined
      ? {}
      : {
          runBudget: {
            // No ceiling (0): an estimate that always fits; the deadline still holds.
            requestsPerSecond: (d.hcmMaxRequestsPerSecond ?? 0) > 0 ? d.hcmMaxRequestsPerSecond! : 1_000_000,
            executionTimeoutMs: d.executionTimeoutMs,
            endReserveMs: localEndReserveMs(d.executionTimeoutMs),
          },
        }),
  });
  // The HDL branch's function: its own container (HCM client, pacer) as in AWS.
  const hdlStats: HdlCallStats = emptyHdlCallStats();
  const hdlHcm = new HcmGoalsClient({
    baseUrl: d.hcmUrl,
    connectionId: d.connectionId,
    tokens: d.broker.tokenProvider(),
    timeoutMs: d.timing.requestTimeoutMs,
    limiter: pacer(),
  });
  const hdl = createHdlLoadHandler({
    ...common,
    ...observability('hdl-load', d.verbose),
    openSource,
    objects: d.hdl?.objects ?? { put: async () => undefined, get: async () => undefined },
    hcmFor: () => hdlHcm,
    sourceSystemOwner: d.hdl?.sourceSystemOwner ?? '',
    ...(d.mapping ? { mapping: d.mapping } : {}),
    ...(d.hdl?.recordsPerFile ? { recordsPerFile: d.hdl.recordsPerFile } : {}),
    poll: LOCAL_HDL_POLL,
    stats: hdlStats,
  });
  const finish = createFinishSyncHandler({
    ...common,
    ...observability('finish-sync', d.verbose),
    events: d.events,
  });
  const idle: ChunkContainer[] = [];
  const all: ChunkContainer[] = [];
  const newContainer = (): ChunkContainer => {
    const tokens = d.broker.tokenProvider();
    const hcm = new HcmGoalsClient({
      baseUrl: d.hcmUrl,
      connectionId: d.connectionId,
      tokens,
      timeoutMs: d.timing.requestTimeoutMs,
      limiter: pacer(),
    });
    const handler = createSyncChunkHandler({
      ...common,
      ...observability('sync-chunk', d.verbose),
      openSource,
      hcmFor: () => hcm,
      engine: { timing: d.timing, ...(d.mapping ? { mapping: d.mapping } : {}) },
      ...(d.goalIndex ? { goalIndex: d.goalIndex } : {}),
    });
    const container = { handler, hcm, brokerRequests: () => tokens.requests };
    all.push(container);
    return container;
  };
  const chunk: LocalHandler = async (event, context) => {
    const container = idle.pop() ?? newContainer();
    try {
      const result = (await container.handler(event, context)) as SyncChunkResult;
      d.onChunk?.(result);
      return result;
    } finally {
      idle.push(container);
    }
  };
  // When an execution fails, Step Functions starts no more iterations, but Lambdas already running
  // finish on their own. Locally they share this process's dynalite and broker: stop() refuses new
  // invocations and waits for the running ones, so the runner never closes dynalite under a handler
  // (which crashed the process with "Database is closed") nor leaves retries ticking after the report.
  const running = new Set<Promise<unknown>>();
  let stopped = false;
  const tracked =
    (handler: LocalHandler): LocalHandler =>
    (event, context) => {
      if (stopped) return Promise.reject(new ExecutionStoppedError());
      const call = handler(event, context);
      running.add(call);
      call.then(
        () => running.delete(call),
        () => running.delete(call),
      );
      return call;
    };
  // sfn.duplicateInvocationRate: Step Functions retries a Task (Lambda.ServiceException, a timeout)
  // while its first invocation may still be running; the duplicate's result is never seen.
  const dice = mulberry32((d.seed ?? 1) ^ 0x5bd1e995);
  const duplicates = { started: 0, failed: 0 };
  const duplicating: LocalHandler = (event, context) => {
    if ((d.duplicateInvocationRate ?? 0) > 0 && dice() < (d.duplicateInvocationRate ?? 0)) {
      duplicates.started += 1;
      const delay = Math.floor(dice() * 3_000);
      const ghost = new Promise<void>((resolve) => setTimeout(resolve, delay)).then(() =>
        stopped ? undefined : chunk(event, lambdaContext('goal-sync-sync-chunk', TIMEOUT_MS.chunk)),
      );
      running.add(ghost);
      ghost.then(
        () => running.delete(ghost),
        () => {
          duplicates.failed += 1;
          running.delete(ghost);
        },
      );
    }
    return chunk(event, context);
  };
  const handlers: Record<FunctionKind, LocalHandler> = {
    plan: tracked(plan),
    chunk: tracked(duplicating),
    finish: tracked(finish),
    hdl: tracked(hdl),
  };
  // Draining (Ctrl-C): running invocations see little time left, so they start no new record but
  // let the requests in flight finish and record their outcome, as a Lambda near its timeout does.
  let draining = false;
  const cap = () => (draining ? DRAIN_REMAINING_MS : Number.POSITIVE_INFINITY);
  const invokers = {
    plan: asLambda('goal-sync-plan-sync', handlers.plan, TIMEOUT_MS.plan, cap),
    chunk: asLambda('goal-sync-sync-chunk', handlers.chunk, TIMEOUT_MS.chunk, cap),
    finish: asLambda('goal-sync-finish-sync', handlers.finish, TIMEOUT_MS.finish, cap),
    hdl: asLambda('goal-sync-hdl-load', handlers.hdl, TIMEOUT_MS.hdl, cap),
  };
  return {
    invokers,
    /** Tells running invocations to wrap up (see DRAIN_REMAINING_MS); combine with stop(). */
    drain: (): void => {
      draining = true;
    },
    /** Refuses new invocations at once; resolves when every running one has returned or thrown. */
    stop: async (): Promise<void> => {
      stopped = true;
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    containers: (): readonly ChunkContainer[] => all,
    /** The HDL branch's dataLoadDataSets calls (the report's `hdl` counters). */
    hdlStats: (): HdlCallStats => ({ ...hdlStats }),
    duplicateInvocations: () => ({ ...duplicates }),
    /** The finish handler as the stack's execution-status rule calls it, after stop() too. */
    finishUnstopped: asLambda('goal-sync-finish-sync', finish, TIMEOUT_MS.finish),
    hcmStats: () =>
      all.reduce(
        (acc, c) => {
          acc.retries += c.hcm.stats.retries;
          acc.unauthorized += c.hcm.stats.unauthorized;
          return acc;
        },
        { retries: 0, unauthorized: 0 },
      ),
  };
}

/** An invocation after the execution ended: fails at once, without touching the stores. */
class ExecutionStoppedError extends Error {
  override readonly name = 'ExecutionStopped';
  constructor() {
    super('the execution has ended; no new invocation is started');
  }
}

export type { ChunkCounts };
