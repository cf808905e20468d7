import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type {
  ChunkStore,
  GoalCounts,
  HdlPartStore,
  RunLease,
  RunStatus,
  RunStore,
} from '#core/checkpoint/index.ts';
import { ConfigError } from '../errors.ts';
import { maskSecrets } from '../mask.ts';
import { type Clock, type EventPublisher, systemClock } from '../ports.ts';
import { type ContinueDeps, continueRun, ensureContinued, shouldContinue } from './continuation.ts';
import { fromRecords, fromSummaries, twinCount } from './finish-counts.ts';

export type FinishOutcome = 'completed' | 'needs_reauth' | 'failed';

export interface FinishInput {
  runId: string;
  outcome?: FinishOutcome;
  /** What a Catch put at ResultPath $.error: Step Functions' {Error, Cause}. */
  error?: { Error?: string; Cause?: string };
  /** Map results may be passed but are ignored: counts come from DynamoDB, the payload may be partial. */
  results?: unknown;
  /**
   * Set when an execution-status rule reports an execution that ended outside the state machine's own
   * Catch (timeout, abort, history limit): ignored unless that execution planned the current attempt.
   */
  executionArn?: string;
  /** The execution's REST deadline (epoch ms, 0: none): past it with records pending, the run continues. */
  restDeadline?: number;
  /** `$$.Execution.Input`: what a continuation's input is made of (continuation.ts). */
  executionInput?: Record<string, unknown>;
}

export interface FinishOutput {
  runId: string;
  status: RunStatus;
  goals: GoalCounts;
  durationMs: number;
  invalidRecordCount: number;
  /** How the counts were read: chunk snapshots (fast) or every record checkpoint (exact fallback). */
  aggregation: 'chunks' | 'records';
  /** False when the run already had this status (a retried finish): no second event or metric. */
  changed: boolean;
  /** The report came from an older execution of a resumed run: nothing was changed. */
  stale?: boolean;
  /** Status `continuing`: the execution the run was handed to (continuation.ts). */
  continuation?: { executionName: string; started: boolean; pending: number };
}

/** The subset of Powertools Metrics finish-sync uses. */
export type MetricsSink = Pick<Metrics, 'addMetric'>;

export interface FinishDeps {
  runs: RunStore;
  chunks: ChunkStore;
  events: EventPublisher;
  /** Released when the run ends, so the connection's next run can start. */
  lease?: RunLease;
  metrics?: MetricsSink;
  clock?: Clock;
  /** The run's HDL parts (issue 24): sync.completed says how many records each write path took. */
  hdlParts?: HdlPartStore;
  /** Continuing a run past its execution's REST deadline; without it a run never continues. */
  continuation?: Pick<ContinueDeps, 'doc' | 'checkpointTable' | 'starter'>;
}

function statusFor(outcome: FinishOutcome, counts: GoalCounts): RunStatus {
  if (outcome === 'needs_reauth') return 'needs_reauth';
  if (outcome === 'failed') return 'failed';
  return counts.failed > 0 || counts.unsettled > 0 ? 'completed_with_failures' : 'completed';
}

const NO_GOALS: GoalCounts = {
  total: 0,
  created: 0,
  updated: 0,
  unchanged: 0,
  reconciled: 0,
  invalid: 0,
  failed: 0,
  unsettled: 0,
};

function maskedError(error: FinishInput['error']): { error: string; cause?: string } | undefined {
  if (!error) return undefined;
  return {
    error: maskSecrets(error.Error ?? 'Error').slice(0, 200),
    ...(error.Cause ? { cause: maskSecrets(error.Cause).slice(0, 2_000) } : {}),
  };
}

/**
 * A run that failed before plan-sync created its item (a malformed input, a source outside the
 * bucket, an export not written yet): the failure still reaches `sync.failed` with its own error.
 * The report item is written once, so MarkFailed and the status rule's later finish of the same
 * execution publish one event between them. Only a failure can end an unplanned run.
 */
async function finishUnplanned(input: FinishInput, deps: FinishDeps, clock: Clock): Promise<FinishOutput> {
  if ((input.outcome ?? 'completed') === 'completed') {
    throw new ConfigError(`run ${input.runId} does not exist`);
  }
  const lastError = maskedError(input.error) ?? { error: 'Error' };
  const finishedAt = new Date(clock.now()).toISOString();
  const changed = await deps.runs.putReportOnce(input.runId, {
    runId: input.runId,
    status: 'failed',
    planned: false,
    goals: NO_GOALS,
    invalidRecordCount: 0,
    finishedAt,
    durationMs: 0,
    lastError,
  });
  if (changed) {
    await deps.events.publish('sync.failed', {
      runId: input.runId,
      status: 'failed',
      goals: NO_GOALS,
      durationMs: 0,
      error: lastError.error,
      ...(lastError.cause ? { cause: lastError.cause } : {}),
    });
    deps.metrics?.addMetric('SyncRunsFailed', MetricUnit.Count, 1);
  }
  return {
    runId: input.runId,
    status: 'failed',
    goals: NO_GOALS,
    durationMs: 0,
    invalidRecordCount: 0,
    aggregation: 'records',
    changed,
  };
}

/**
 * Closes a run: counts from DynamoDB (never from the Map payload), terminal status, report item, one
 * event and the EMF metrics. Idempotent: a retried call rewrites the report but emits nothing twice.
 */
export async function finishRun(input: FinishInput, deps: FinishDeps): Promise<FinishOutput> {
  const clock = deps.clock ?? systemClock;
  const outcome = input.outcome ?? 'completed';
  const run = await deps.runs.getRun(input.runId);
  if (!run) return finishUnplanned(input, deps, clock);
  const newer = input.executionArn && run.executionArn && input.executionArn !== run.executionArn;
  // A status-rule report (outcome failed, its executionArn) of the execution that handed the run over:
  // the continuation owns the run now, its end is not the run's failure.
  const handedOver = run.status === 'continuing' && outcome === 'failed' && input.executionArn;
  if (handedOver && !newer) await ensureContinued(run, input, deps.continuation);
  if (newer || handedOver) {
    // A resume already started a newer execution: the old one's end says nothing about the run.
    const { pending: _p, ...goals } = run.counts
      ? { ...run.counts, pending: 0 }
      : await fromRecords(run, deps.runs);
    return {
      runId: run.runId,
      status: run.status,
      goals,
      durationMs: run.durationMs ?? 0,
      invalidRecordCount: goals.invalid,
      aggregation: 'records',
      changed: false,
      stale: true,
    };
  }

  const summaries = await deps.chunks.listChunkSummaries(run.runId);
  const fast = fromSummaries(run, summaries);
  const twins = twinCount(run, summaries);
  const { pending, ...counted } = fast ? { ...fast, pending: 0 } : await fromRecords(run, deps.runs);
  const goals = twins > 0 ? { ...counted, twins } : counted;
  if (
    outcome === 'completed' &&
    deps.continuation &&
    shouldContinue(run, pending, input.restDeadline, clock.now())
  ) {
    const handed = await continueRun(
      run,
      { counts: goals, pending, ...(input.executionInput ? { executionInput: input.executionInput } : {}) },
      { ...deps.continuation, events: deps.events, ...(deps.lease ? { lease: deps.lease } : {}), clock },
    );
    if (handed) {
      return {
        runId: run.runId,
        status: 'continuing',
        goals,
        durationMs: Math.max(0, clock.now() - Date.parse(run.startedAt)),
        invalidRecordCount: goals.invalid,
        aggregation: 'records',
        changed: handed.changed,
        continuation: { executionName: handed.executionName, started: handed.started, pending },
      };
    }
  }
  const lastError = maskedError(input.error);
  const wanted = statusFor(outcome, goals);
  const changed = await deps.runs.transition(run.runId, { status: wanted, counts: goals, lastError });
  // A refused transition means the run already holds a terminal status (same one, or needs_reauth).
  const after = changed ? undefined : await deps.runs.getRun(run.runId);
  const status = after?.status ?? wanted;
  const now = clock.now();
  const durationMs = Math.max(0, now - Date.parse(run.startedAt));

  const report = {
    runId: run.runId,
    status,
    connectionId: run.connectionId,
    source: run.source,
    attempt: run.attempt,
    goals,
    invalidRecordCount: goals.invalid,
    startedAt: run.startedAt,
    finishedAt: new Date(now).toISOString(),
    durationMs,
    ...(run.estimate ? { estimate: run.estimate } : {}),
    ...(lastError ? { lastError } : {}),
  };
  await deps.runs.putReport(run.runId, report);
  await deps.lease?.release(run.connectionId, run.runId);

  if (changed) {
    const ok = status === 'completed' || status === 'completed_with_failures';
    const parts = (await deps.hdlParts?.list(run.runId)) ?? [];
    // Records in HDL parts were loaded (or failed) by HCM Data Loader; every other valid record was
    // settled by the REST Map (written, unchanged or failed there).
    const viaHdl = parts.reduce((n, p) => n + p.records, 0);
    const paths =
      parts.length > 0
        ? { paths: { hdl: viaHdl, rest: Math.max(0, (run.totals?.validRecords ?? 0) - viaHdl) } }
        : {};
    await deps.events.publish(ok ? 'sync.completed' : 'sync.failed', {
      runId: run.runId,
      connectionId: run.connectionId,
      status,
      goals,
      ...paths,
      ...(run.estimate ? { estimate: run.estimate } : {}),
      durationMs,
      ...(lastError ? { error: lastError.error } : {}),
      ...(lastError?.cause ? { cause: lastError.cause } : {}),
    });
    if (twins > 0) {
      // A person decides: the run only says where (goal-sync twins lists them and can remove the younger).
      await deps.events.publish('sync.twins_found', {
        runId: run.runId,
        connectionId: run.connectionId,
        twins,
        next: `goal-sync twins --run-id ${run.runId}`,
      });
    }
    const m = deps.metrics;
    if (m) {
      // GoalsSynced / GoalsFailed are sync-chunk's (per pass, infra/metrics.ts); these are per run.
      m.addMetric('GoalsUnchanged', MetricUnit.Count, goals.unchanged);
      m.addMetric('GoalsInvalid', MetricUnit.Count, goals.invalid);
      m.addMetric('GoalsUnsettled', MetricUnit.Count, goals.unsettled);
      m.addMetric('SyncDurationMs', MetricUnit.Milliseconds, durationMs);
      m.addMetric(ok ? 'SyncRunsCompleted' : 'SyncRunsFailed', MetricUnit.Count, 1);
      if (status === 'needs_reauth') m.addMetric('SyncRunsNeedsReauth', MetricUnit.Count, 1);
      if (goals.verify) {
        // What a weekly verify pass found: goals deleted or edited by hand in HCM, and written back.
        m.addMetric('GoalsFoundMissing', MetricUnit.Count, goals.verify.missing);
        m.addMetric('GoalsFoundDrifted', MetricUnit.Count, goals.verify.drifted);
        m.addMetric('GoalsRepaired', MetricUnit.Count, goals.verify.repaired);
      }
    }
  }
  return {
    runId: run.runId,
    status,
    goals,
    durationMs,
    invalidRecordCount: goals.invalid,
    aggregation: fast ? 'chunks' : 'records',
    changed,
  };
}
