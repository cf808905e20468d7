import { ConfigError } from '../errors.ts';
import { protocolGuards } from '../protocol-guards.ts';

/**
 * Scheduled runs (nightly sync, verify) get one execution per scheduled time (invariant 11): the
 * execution is named after the run, and the run id is derived from the schedule's fire time, so a
 * redelivered trigger (Scheduler retries a delivery it did not see acknowledged) is a StartExecution of
 * the same name, never a second execution. EventBridge Scheduler can put its fire time into the input
 * (`<aws.scheduler.scheduled-time>`) but not into a legal execution name (no `:`, no string functions),
 * so the schedules target a small starter (lambdas/schedule-starter) that builds the name.
 */
export type ScheduledRunKind = 'nightly' | 'verify';

const SCHEDULED_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]00:?00)$/;

/**
 * `nightly-YYYYMMDDTHHMMZ` (UTC, to the minute: schedules fire at most once a minute). The one spelling
 * of a scheduled run's id: the execution's name, the run item's key, what `status` and `resume` take.
 */
export function scheduledRunId(kind: ScheduledRunKind, scheduledTime: string): string {
  const m = SCHEDULED_TIME_RE.exec(scheduledTime.trim());
  if (!m) {
    throw new ConfigError(
      `scheduled time ${JSON.stringify(scheduledTime)} is not an ISO-8601 UTC time (2026-12-02T02:00:00Z)`,
    );
  }
  const [, y, mo, d, h, mi] = m;
  return `${kind}-${y}${mo}${d}T${h}${mi}Z`;
}

/** What the schedules send the starter: the kind, the fire time, and the execution input minus its run id. */
export interface ScheduledStartEvent {
  kind: ScheduledRunKind;
  scheduledTime: string;
  input: Record<string, unknown>;
}

export function parseScheduledStart(value: unknown): ScheduledStartEvent {
  const v = value as Partial<ScheduledStartEvent> | undefined;
  if (
    !v ||
    (v.kind !== 'nightly' && v.kind !== 'verify') ||
    typeof v.scheduledTime !== 'string' ||
    !v.input ||
    typeof v.input !== 'object' ||
    Array.isArray(v.input)
  ) {
    throw new ConfigError('a scheduled start needs {kind: nightly|verify, scheduledTime, input: {...}}');
  }
  return { kind: v.kind, scheduledTime: v.scheduledTime, input: v.input };
}

/** StartExecution of a named execution; `alreadyExists` when an execution of that name exists. */
export interface ExecutionStarter {
  start(name: string, input: string): Promise<{ executionArn?: string; alreadyExists: boolean }>;
}

export interface ScheduledStartResult {
  runId: string;
  /** false: an execution of this run exists already (a redelivery), which is this trigger done. */
  started: boolean;
  executionArn?: string;
}

/**
 * Starts the scheduled run's execution, named after its run id. A redelivery while that execution runs
 * (Step Functions answers an identical StartExecution with the running execution) or after it closed
 * (ExecutionAlreadyExists) is recognised as done: it returns normally, so nothing reaches the
 * dead-letter queue, and no second execution of the run is ever started.
 */
export async function startScheduledRun(
  event: ScheduledStartEvent,
  starter: ExecutionStarter,
): Promise<ScheduledStartResult> {
  const runId = scheduledRunId(event.kind, event.scheduledTime);
  const input = JSON.stringify({
    ...event.input,
    runId,
    ...(event.kind === 'verify' ? { verify: true } : {}),
  });
  const out = await starter.start(executionName(runId), input);
  return {
    runId,
    started: !out.alreadyExists,
    ...(out.executionArn ? { executionArn: out.executionArn } : {}),
  };
}

let unnamedStarts = 0;

/**
 * The run id: one name, one execution (window O11). Mutation O11 only: a name of its own per start, as
 * Step Functions gives an unnamed execution, so a redelivery starts a second execution of the run.
 */
function executionName(runId: string): string {
  if (protocolGuards.executionNamedAfterRun) return runId;
  unnamedStarts += 1;
  return `${runId}-unnamed-${unnamedStarts}`;
}
