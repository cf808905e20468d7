import { RunWouldNotFitError } from '../errors.ts';

/**
 * How long a run's REST writes take at the stack's HCM request ceiling, against the time its execution
 * has left (issue 24 item 4): at 10 requests/s a 200,000-goal REST run needs about 5.6 h, at the edge of
 * the state machine's 6 h timeout. plan-sync estimates before any chunk runs, so a run that would not fit
 * goes through HDL (auto with HDL configured) or continues in a new execution of the same run before
 * the timeout (continuation.ts), never timed out mid-run.
 */

/** REST requests per goal written: the baseline bench's 1.017 (a POST or PATCH, a few retries and reads). */
export const DEFAULT_REST_REQUESTS_PER_GOAL = 1.02;
/**
 * The share of the ceiling the REST Map reaches: the baseline bench reaches 89.9% and checks >= 85%, so
 * the estimate divides by 0.85 (the margin). A run estimated from the raw ceiling would fit on paper and
 * time out in fact.
 */
export const DEFAULT_CEILING_SHARE = 0.85;
/** Kept free of REST writes at the end of an execution: finish-sync, a last pass's retries, Map overhead. */
export const DEFAULT_END_RESERVE_MS = 15 * 60_000;

export interface RunEstimate {
  /** Records the estimate counts: the ledger's count of new or changed records, or the valid records as a bound. */
  recordsToWrite: number;
  /** `ledger`: counted against the ledger; `bound`: the valid records (every record written at most once). */
  counted: 'ledger' | 'bound';
  requestsPerGoal: number;
  requestsPerSecond: number;
  ceilingShare: number;
  /** records x requestsPerGoal / (requestsPerSecond x ceilingShare). */
  restSeconds: number;
  /** The execution's timeout less what has passed since it started and the end reserve; absent when unknown. */
  timeLeftSeconds?: number;
  /** restSeconds <= timeLeftSeconds; absent when the time left is unknown (no timeout configured). */
  fits?: boolean;
}

export interface EstimateSettings {
  /** The stack's HCM request ceiling (hcmMaxRequestsPerSecond, default 10). */
  requestsPerSecond: number;
  requestsPerGoal?: number;
  ceilingShare?: number;
  endReserveMs?: number;
  /** The state machine's timeout (ms); without it nothing is compared. */
  executionTimeoutMs?: number;
  /** `$$.Execution.StartTime` (epoch ms) of the execution that plans. */
  executionStartedAt?: number;
  now: number;
}

export function estimateRun(
  recordsToWrite: number,
  counted: RunEstimate['counted'],
  s: EstimateSettings,
): RunEstimate {
  const requestsPerGoal = s.requestsPerGoal ?? DEFAULT_REST_REQUESTS_PER_GOAL;
  const ceilingShare = s.ceilingShare ?? DEFAULT_CEILING_SHARE;
  const restSeconds = Math.ceil((recordsToWrite * requestsPerGoal) / (s.requestsPerSecond * ceilingShare));
  const base = {
    recordsToWrite,
    counted,
    requestsPerGoal,
    requestsPerSecond: s.requestsPerSecond,
    ceilingShare,
    restSeconds,
  };
  if (s.executionTimeoutMs === undefined) return base;
  // An execution started later than "now" (clock skew) has used nothing; one with no start time is new.
  const used = Math.max(0, s.now - (s.executionStartedAt ?? s.now));
  const leftMs = s.executionTimeoutMs - used - (s.endReserveMs ?? DEFAULT_END_RESERVE_MS);
  const timeLeftSeconds = Math.max(0, Math.floor(leftMs / 1000));
  return { ...base, timeLeftSeconds, fits: restSeconds <= timeLeftSeconds };
}

/**
 * The execution's REST deadline (epoch ms): its start + the timeout - the end reserve. Chunk passes that
 * start later defer (sync-chunk), and finish-sync continues the run in a new execution. 0: no deadline
 * (no timeout configured, as locally without --execution-timeout-s).
 */
export function restDeadlineOf(s: EstimateSettings): number {
  if (s.executionTimeoutMs === undefined) return 0;
  const started = Math.min(s.executionStartedAt ?? s.now, s.now);
  return started + s.executionTimeoutMs - (s.endReserveMs ?? DEFAULT_END_RESERVE_MS);
}

const hours = (seconds: number) => `${(seconds / 3600).toFixed(1)} h`;

/**
 * The refusal of a REST run that cannot continue: its execution has no time left at all to write (the
 * timeout no longer than the end reserve, or a plan that used it up), so every chunk would defer.
 */
export function wouldNotFit(runId: string, e: RunEstimate, hdlConfigured: boolean): RunWouldNotFitError {
  const ways = [
    ...(hdlConfigured ? ['start it with writeMode auto or hdl'] : ['configure HDL (hdlSourceSystemOwner)']),
    'raise hcmMaxRequestsPerSecond if the pod takes more',
    'or split the export',
  ];
  return new RunWouldNotFitError(
    runId,
    `${e.recordsToWrite} records to write need about ${hours(e.restSeconds)} through REST at ` +
      `${e.requestsPerSecond} requests/s, and this execution has ${hours(e.timeLeftSeconds ?? 0)} left: ${ways.join(', ')}`,
  );
}
