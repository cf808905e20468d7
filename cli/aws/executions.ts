import { randomBytes } from 'node:crypto';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionListItem,
  ListExecutionsCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { SourceVersion } from '#core/source/index.ts';
import { type ScheduledRunKind, scheduledRunId } from '#core/sync/index.ts';
import { ConfigError } from '../../lambdas/core/errors.ts';
import { CliUsageError } from './cli.ts';

/**
 * Run ids double as Step Functions execution names (<= 80 chars, no whitespace or URL-special
 * characters) and as DynamoDB key parts. 72 leaves room for the `-r<n>` suffix of resumed runs.
 */
const RUN_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,71}$/;
// `-r<n>` is reserved for resume attempts; allowing it in run ids would make `x-r2` ambiguous.
// `--<n>` names a run's continuation in a new execution (issue 24 item 4, sync/continuation.ts).
const RESUME_SUFFIX_RE = /-r\d+$/;
const CONTINUATION_SUFFIX_RE = /--\d+$/;

export function validateRunId(runId: string): string {
  if (!RUN_ID_RE.test(runId)) {
    throw new CliUsageError(
      '--run-id: 1-72 characters, letters, digits, . _ - (starting with a letter or digit)',
    );
  }
  if (RESUME_SUFFIX_RE.test(runId))
    throw new CliUsageError('--run-id must not end in -r<digits> (used by resume)');
  if (CONTINUATION_SUFFIX_RE.test(runId))
    throw new CliUsageError(
      '--run-id must not end in --<digits> (used by a run continued in a new execution)',
    );
  return runId;
}

/** `run-YYYYMMDD-HHMMSS-xxxx` in UTC; 16 random bits keep two starts in the same second apart. */
export function generateRunId(
  now: number,
  random: () => string = () => randomBytes(2).toString('hex'),
): string {
  const iso = new Date(now).toISOString(); // 2026-05-01T12:34:56.789Z
  const stamp = `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
  return `run-${stamp}-${random()}`;
}

const FIRE_TIME_RUN_ID_RE = /^(nightly|verify)-(\d{4}-\d{2}-\d{2}T\d{2}[:-]?\d{2}.*)$/;

/**
 * A scheduled run's id as the code spells it (`nightly-YYYYMMDDTHHMMZ`, the execution's name), also
 * when given as the fire time Scheduler shows (`nightly-2026-12-01T02:30:00Z`): one spelling everywhere.
 */
export function canonicalRunIdArg(runId: string): string {
  const m = FIRE_TIME_RUN_ID_RE.exec(runId);
  if (!m) return runId;
  // 02-30-00 (hyphens for colons) is the spelling older help texts showed.
  const time = m[2]!.replace(/T(\d{2})-(\d{2})-(\d{2})/, 'T$1:$2:$3');
  try {
    return scheduledRunId(m[1] as ScheduledRunKind, time);
  } catch {
    return runId;
  }
}

/** The name of resume attempt n of a run. */
export const resumeExecutionName = (runId: string, attempt: number): string => `${runId}-r${attempt}`;

/** `arn:<p>:states:<region>:<acct>:stateMachine:<name>` -> the ARN of its execution `executionName`. */
export function executionArnFor(stateMachineArn: string, executionName: string): string {
  const parts = stateMachineArn.split(':');
  if (parts.length < 7 || parts[5] !== 'stateMachine') {
    throw new ConfigError(`not a state machine ARN: ${stateMachineArn}`);
  }
  return [...parts.slice(0, 5), 'execution', parts[6], executionName].join(':');
}

/** Console link for an execution (region and partition come from the ARN). */
export function consoleUrlFor(executionArn: string): string {
  const [, partition = 'aws', , region = 'us-east-1'] = executionArn.split(':');
  const host =
    partition === 'aws-cn'
      ? `${region}.console.amazonaws.cn`
      : partition === 'aws-us-gov'
        ? `${region}.console.amazonaws-us-gov.com`
        : `${region}.console.aws.amazon.com`;
  return `https://${host}/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/** The execution input this CLI sends; other starters (the nightly schedule) may send more fields. */
export interface RunInput {
  runId: string;
  /** `version`: set by `start --upload`, the object version plan-sync must read (invariant 8). */
  source: { uri: string; format: SourceFormat; version?: SourceVersion };
  connectionId: string;
  [extra: string]: unknown;
}
export type SourceFormat = 'jsonl' | 'csv';

/** Parses an execution's input JSON; undefined when it is absent or not an object. */
export function parseExecutionInput(input: string | undefined): Partial<RunInput> | undefined {
  if (!input) return undefined;
  try {
    const value: unknown = JSON.parse(input);
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Partial<RunInput>)
      : undefined;
  } catch {
    return undefined;
  }
}

export interface RunExecution {
  name: string;
  executionArn: string;
  status: string;
  startDate?: Date;
  /** 0 for the execution named after the run and its continuations (`--<n>`), n for `${runId}-r${n}`. */
  attempt: number;
}

/**
 * The executions belonging to `runId` (named `runId`, `runId-r<n>` or, a continuation, `runId--<n>`),
 * newest first: `resume` refuses while any of them is live (one live execution per run). ListExecutions
 * returns newest first; the scan is bounded to `maxPages` x 100 executions so a busy state machine
 * cannot make `status` crawl its whole history.
 */
export async function executionsOfRun(
  sfn: SFNClient,
  stateMachineArn: string,
  runId: string,
  options: { maxPages?: number; firstOnly?: boolean } = {},
): Promise<RunExecution[]> {
  const nameRe = new RegExp(`^${runId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:-r(\\d+)|--\\d+)?$`);
  const found: RunExecution[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < (options.maxPages ?? 10); page++) {
    const res = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 100, nextToken }));
    for (const item of res.executions ?? []) {
      const match = item.name ? nameRe.exec(item.name) : null;
      if (!match) continue;
      found.push(toRunExecution(item, match[1] === undefined ? 0 : Number(match[1])));
      if (options.firstOnly) return found;
    }
    nextToken = res.nextToken;
    if (!nextToken) break;
  }
  return found.sort((a, b) => (b.startDate?.getTime() ?? 0) - (a.startDate?.getTime() ?? 0));
}

function toRunExecution(item: ExecutionListItem, attempt: number): RunExecution {
  return {
    name: item.name ?? '',
    executionArn: item.executionArn ?? '',
    status: item.status ?? 'UNKNOWN',
    startDate: item.startDate,
    attempt,
  };
}

/** DescribeExecution, or undefined when the execution does not exist. */
export async function describeExecution(
  sfn: SFNClient,
  executionArn: string,
): Promise<DescribeExecutionCommandOutput | undefined> {
  try {
    return await sfn.send(new DescribeExecutionCommand({ executionArn }));
  } catch (err) {
    if (err instanceof Error && err.name === 'ExecutionDoesNotExist') return undefined;
    throw err;
  }
}

/**
 * The newest execution of a run: from the listing, else (older than the scanned window) the
 * execution named after the run itself.
 */
export async function latestExecutionOfRun(
  sfn: SFNClient,
  stateMachineArn: string,
  runId: string,
): Promise<DescribeExecutionCommandOutput | undefined> {
  const [latest] = await executionsOfRun(sfn, stateMachineArn, runId, { firstOnly: true });
  return describeExecution(sfn, latest?.executionArn ?? executionArnFor(stateMachineArn, runId));
}

export const TERMINAL_STATUSES = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

/**
 * Polls DescribeExecution until the execution leaves RUNNING / PENDING_REDRIVE. The polls ask for
 * metadata only (no kms:Decrypt on the state machine's key per poll); the finished execution is described
 * once in full for its error and cause.
 */
export async function waitForExecution(
  sfn: SFNClient,
  executionArn: string,
  options: {
    intervalMs: number;
    sleep: (ms: number) => Promise<void>;
    onStatus?: (status: string) => void;
  },
): Promise<DescribeExecutionCommandOutput> {
  let last: string | undefined;
  for (;;) {
    const res = await sfn.send(new DescribeExecutionCommand({ executionArn, includedData: 'METADATA_ONLY' }));
    const status = res.status ?? 'UNKNOWN';
    if (status !== last) options.onStatus?.(status);
    last = status;
    if (TERMINAL_STATUSES.has(status)) return sfn.send(new DescribeExecutionCommand({ executionArn }));
    await options.sleep(options.intervalMs);
  }
}
