import type { RunStore } from '#core/checkpoint/index.ts';
import { continuationInput, DEFAULT_END_RESERVE_MS } from '#core/sync/index.ts';
import type { MapRunSummary } from './distributed-map.ts';
import type { LocalExecution } from './executor.ts';

/**
 * A local run's executions (issue 24 item 4): the first, then each continuation finish-sync handed the
 * run to. In AWS finish-sync starts the continuation itself; aws-local-stepfunctions has no
 * StartExecution, so the runner does, after the execution that handed over has ended (one live
 * execution per run). With `--execution-timeout-s` every execution is held to that timeout as Step
 * Functions would: one still running then is aborted and ends TIMED_OUT (a failure the status rule
 * finishes), which a run that continues in time never reaches.
 */

/**
 * The end reserve of a local execution timeout: AWS's 15 min, or half of a shorter timeout (a pass that
 * starts just before the deadline, at a loaded laptop's pace, and finish-sync must end within it).
 */
export function localEndReserveMs(timeoutMs: number): number {
  return Math.min(DEFAULT_END_RESERVE_MS, Math.round(timeoutMs / 2));
}

export interface ChainedExecution {
  name: string;
  durationMs: number;
  /** `continuing`: it handed the run over; else how it ended. */
  outcome: 'continuing' | 'succeeded' | 'failed' | 'timed_out';
}

export interface ExecutionChain {
  /** Resolves when the last execution ends; rejects with its error (a timeout: ExecutionTimedOut). */
  result: Promise<void>;
  abort(): void;
  readonly executions: ChainedExecution[];
  readonly mapRuns: MapRunSummary[];
  /** The execution running (or last run): what the status rule's event names. */
  readonly current: { name: string; input: Record<string, unknown>; timedOut: boolean };
}

/** Step Functions' error for an execution that ran past its timeout. */
export class ExecutionTimedOut extends Error {
  override readonly name = 'States.Timeout';
}

export function runExecutionChain(p: {
  runId: string;
  input: Record<string, unknown>;
  runs: RunStore;
  start: (name: string, input: Record<string, unknown>) => LocalExecution;
  timeoutMs?: number;
}): ExecutionChain {
  const executions: ChainedExecution[] = [];
  const mapRuns: MapRunSummary[] = [];
  let current = { name: p.runId, input: p.input, timedOut: false };
  let running: LocalExecution | undefined;
  let aborted = false;
  const runOne = async (): Promise<void> => {
    const started = Date.now();
    const execution = p.start(current.name, current.input);
    running = execution;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      if (p.timeoutMs === undefined) return;
      timer = setTimeout(() => {
        current.timedOut = true;
        execution.abort();
        reject(new ExecutionTimedOut(`execution ${current.name} ran past its ${p.timeoutMs} ms timeout`));
      }, p.timeoutMs);
    });
    const record = (outcome: ChainedExecution['outcome']) =>
      executions.push({ name: current.name, durationMs: Date.now() - started, outcome });
    try {
      await Promise.race([execution.result, timeout]);
    } catch (err) {
      record(current.timedOut ? 'timed_out' : 'failed');
      throw err;
    } finally {
      clearTimeout(timer);
      mapRuns.push(...execution.mapRuns);
    }
    const run = await p.runs.getRun(p.runId);
    if (run?.status !== 'continuing' || !run.continuation || aborted) {
      record('succeeded');
      return;
    }
    record('continuing');
    current = {
      name: run.continuation.executionName,
      input: continuationInput(run, current.input),
      timedOut: false,
    };
    return runOne();
  };
  return {
    result: runOne(),
    abort: () => {
      aborted = true;
      running?.abort();
    },
    executions,
    mapRuns,
    get current() {
      return current;
    },
  };
}
