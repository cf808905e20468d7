import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type GoalCounts, markContinuing, type RunItem, type RunLease } from '#core/checkpoint/index.ts';
import type { Clock, EventPublisher } from '../ports.ts';
import type { ExecutionStarter } from './scheduled-start.ts';

/**
 * Continuing a run in a new execution of itself (issue 24 item 4, docs/hdl.md): a REST run that would
 * not fit in one execution's timeout stops writing at the execution's REST deadline (sync-chunk defers
 * every pass that starts later), and finish-sync hands the records still pending to execution
 * `<runId>--<attempt+1>` instead of ending the run. One live execution per run: the new one is started
 * last, after the run says `continuing` and the run lease is free; its plan-sync resumes from the ledger.
 */

/** Step Functions' limit on an execution name. */
const MAX_EXECUTION_NAME = 80;

/**
 * The continuation's execution name: the attempt its plan-sync will make (every plan bumps it by one),
 * so the name is one per hand-over. A retried finish-sync asks for the same name again, which Step
 * Functions refuses (ExecutionAlreadyExists): never a second live execution of the run.
 */
export function continuationName(runId: string, nextAttempt: number): string {
  const suffix = `--${nextAttempt}`;
  return `${runId.slice(0, MAX_EXECUTION_NAME - suffix.length)}${suffix}`;
}

/** A pass that starts at `now` defers: the execution's REST deadline (0: none) has passed. */
export function pastRestDeadline(restDeadline: number | undefined, now: number): boolean {
  return restDeadline !== undefined && restDeadline > 0 && now >= restDeadline;
}

/**
 * Whether finish-sync continues the run rather than ending it: the deadline passed with records still
 * pending, and the previous hand-over (if any) was followed by progress. An execution that settled none
 * of the records it was handed would hand them on for ever: that run ends as today (unsettled).
 */
export function shouldContinue(
  run: Pick<RunItem, 'continuation'> & { status?: RunItem['status'] },
  pending: number,
  restDeadline: number | undefined,
  now: number,
): boolean {
  if (pending <= 0 || !pastRestDeadline(restDeadline, now)) return false;
  // A retried finish of the execution that handed over: the hand-over is decided, complete it.
  if (run.status === 'continuing') return true;
  return run.continuation === undefined || pending < run.continuation.pending;
}

export interface ContinueDeps {
  doc: DynamoDBDocumentClient;
  checkpointTable: string;
  events: EventPublisher;
  lease?: RunLease;
  /** StartExecution of the state machine; absent locally, where the runner starts the continuation. */
  starter?: ExecutionStarter;
  clock: Clock;
}

export interface Continued {
  /** The execution the run was handed to, and its input. */
  executionName: string;
  input: Record<string, unknown> & { runId: string; source: RunItem['source']; resume: true };
  /** False: a retried finish found the hand-over done already (no second event). */
  changed: boolean;
  /** StartExecution found the execution there already (a retried finish), or no starter. */
  started: boolean;
}

/**
 * Hands the run over: status `continuing` (conditional on this attempt still running), `sync.continued`
 * once, the run lease released, then StartExecution of the continuation. Returns undefined when the run
 * is no longer this attempt's to hand over (a later execution planned it meanwhile).
 */
export async function continueRun(
  run: RunItem,
  handOver: { counts: GoalCounts; pending: number; executionInput?: Record<string, unknown> },
  deps: ContinueDeps,
): Promise<Continued | undefined> {
  const executionName = continuationName(run.runId, run.attempt + 1);
  const { counts, pending } = handOver;
  const executions = (run.continuation?.executions ?? 1) + 1;
  const changed = await markContinuing(
    deps.doc,
    deps.checkpointTable,
    { runId: run.runId, attempt: run.attempt, counts, continuation: { pending, executions, executionName } },
    deps.clock,
  );
  if (!changed && run.status !== 'continuing') return undefined;
  if (changed) {
    await deps.events.publish('sync.continued', {
      runId: run.runId,
      connectionId: run.connectionId,
      status: 'continuing',
      pending,
      goals: counts,
      executionName,
      executions,
    });
  }
  // The lease goes first: the continuation's plan-sync takes it (a new generation fences every pass of
  // this execution still running), and a start that fails leaves the connection free, not held for 30 min.
  await deps.lease?.release(run.connectionId, run.runId);
  const input = continuationInput(run, handOver.executionInput);
  const out = await deps.starter?.start(executionName, JSON.stringify(input));
  return { executionName, input, changed, started: out !== undefined && !out.alreadyExists };
}

/**
 * The execution's own input (its maxInvalid, writeMode, thresholds carry over, as `goal-sync resume`
 * reuses it) with the run's pinned source and `resume: true`. `ifRunning: skip` is dropped: a
 * continuation that found the connection taken must fail loudly (RunInProgressError), not end quietly
 * with its run left `continuing`.
 */
export function continuationInput(
  run: Pick<RunItem, 'runId' | 'connectionId' | 'source'>,
  executionInput: Record<string, unknown> = {},
): Continued['input'] {
  const { ifRunning: _skip, executionName: _name, ...kept } = executionInput;
  return { ...kept, runId: run.runId, connectionId: run.connectionId, source: run.source, resume: true };
}

/**
 * The status rule's report of the execution that handed the run over (it ended after setting
 * `continuing`, e.g. timed out before its StartExecution): the continuation is started now, under the
 * same name, so a hand-over is never left without its execution; ExecutionAlreadyExists when it ran.
 * Not after a person aborted that execution: stopping it is theirs to decide (`goal-sync resume`).
 */
export async function ensureContinued(
  run: RunItem,
  ended: { error?: { Error?: string }; executionInput?: Record<string, unknown> },
  deps: Pick<ContinueDeps, 'starter'> | undefined,
): Promise<void> {
  if (!deps?.starter || !run.continuation || ended.error?.Error === 'ExecutionAborted') return;
  const input = continuationInput(run, ended.executionInput);
  await deps.starter.start(run.continuation.executionName, JSON.stringify(input));
}
