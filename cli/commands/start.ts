import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import {
  encodingName,
  escapeControl,
  formatFromUri,
  formatMaxInvalid,
  parseDelimiter,
  parseMaxInvalid,
} from '#core/source/index.ts';
import { ConfigError } from '../../lambdas/core/errors.ts';
import {
  type CliDeps,
  CliUsageError,
  COMMON_OPTIONS,
  defaultDeps,
  EXIT,
  intFlag,
  runStackCommand,
} from '../aws/cli.ts';
import { collectRunStatus, exitCodeForRun, STATUS_OUTPUTS } from '../aws/collect-status.ts';
import {
  consoleUrlFor,
  executionArnFor,
  generateRunId,
  type RunInput,
  type SourceFormat,
  validateRunId,
  waitForExecution,
} from '../aws/executions.ts';
import { renderRunStatus } from '../aws/run-status.ts';
import {
  discoverStack,
  FALLBACK_CONNECTION_ID,
  requireOutputs,
  STACK_OUTPUTS,
} from '../aws/stack-outputs.ts';
import { checkUploadFile, UPLOAD_PREFIX, uploadKey, uploadSource } from '../aws/upload.ts';

export const usage = `goal-sync start --stack NAME (--source s3://BUCKET/KEY | --upload FILE) [flags]   start a sync on a deployed stack

  --stack NAME         CloudFormation stack of the deployment (required)
  --region REGION      AWS region (default: the SDK's AWS_REGION / profile)
  --source URI         s3://bucket/key, or a key in the stack's source bucket
  --upload FILE        a file on this machine: put it in the source bucket as ${UPLOAD_PREFIX}<run id>/<name>
                       (the key is printed) and start the run on exactly that version
  --format F           jsonl | csv (default: from the key's extension: .jsonl .ndjson .json .csv)
  --encoding E         what the file is when not UTF-8 (windows-1252 for Excel's "CSV", latin1, ...)
  --delimiter D        CSV separator: comma, semicolon or tab (default: read from the header)
  --max-invalid N|P%   reject the input above N invalid records or P% of them (default 5%)
  --connection ID      HCM connection (default: the stack's DefaultConnectionId, else ${FALLBACK_CONNECTION_ID})
  --run-id ID          run id = execution name (default run-YYYYMMDD-HHMMSS-xxxx)
  --wait               poll until the execution ends, then print its status
  --poll-seconds S     polling interval for --wait (default 5)
  --json               print {runId, executionArn, consoleUrl, source, connectionId[, status]} as JSON
  -h, --help           this help
One of --source and --upload is required.

examples:
  goal-sync start --stack HcmGoalSync-prod --source s3://BUCKET/goals.jsonl --wait
  goal-sync start --stack HcmGoalSync-prod --upload ./goals.jsonl --wait
  goal-sync start --stack HcmGoalSync-prod --source goals.csv --run-id nightly-fix-1 --json
  goal-sync start --stack HcmGoalSync-prod --upload ./excel-export.csv --encoding windows-1252
Exit codes: 0 started (with --wait: succeeded with no failed records), 1 failure, 2 bad arguments, 3 needs re-auth`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  source: { type: 'string' },
  upload: { type: 'string' },
  format: { type: 'string' },
  encoding: { type: 'string' },
  delimiter: { type: 'string' },
  'max-invalid': { type: 'string' },
  connection: { type: 'string' },
  'run-id': { type: 'string' },
  wait: { type: 'boolean' },
  'poll-seconds': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const S3_URI_RE = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/;

/** `--source` as an s3:// URI; a bare key is resolved against the stack's source bucket. */
export function resolveSource(raw: string, bucket: string | undefined): string {
  if (raw.startsWith('s3://')) {
    if (!S3_URI_RE.test(raw)) throw new CliUsageError(`--source: not an s3://bucket/key URI: ${raw}`);
    return raw;
  }
  if (/^[a-z]+:\/\//i.test(raw))
    throw new CliUsageError('--source must be an s3:// URI or a key in the source bucket');
  if (!bucket)
    throw new ConfigError(`the stack has no ${STACK_OUTPUTS.sourceBucketName} output: pass s3://bucket/key`);
  return `s3://${bucket}/${raw.replace(/^\/+/, '')}`;
}

/** A --source that names a file on this machine rather than a key: the pipeline only reads S3. */
export function isLocalPath(raw: string): boolean {
  if (raw.startsWith('s3://')) return false;
  return /^(\.{1,2}[\\/]|[\\/]|~[\\/]|[A-Za-z]:[\\/])/.test(raw) || existsSync(raw);
}

/** Checked before any AWS call, so the source bucket's name is not known yet: the advice names the output. */
function uploadAdvice(raw: string, stack: string, region: string | undefined): string {
  const name = basename(raw);
  const target = `s3://<SourceBucketName>/${name}`;
  const r = region ? ` --region ${region}` : '';
  return `--source ${raw} is a file on this machine; the pipeline reads only the stack's source bucket. Upload and start in one step: goal-sync start --stack ${stack}${r} --upload ${raw} (or upload it yourself: aws s3 cp ${raw} ${target}${r} && goal-sync start --stack ${stack}${r} --source ${target})`;
}

/** --format, else the pipeline's own rule for the key's extension (so both sides agree). */
export function resolveFormat(raw: string | undefined, uri: string): SourceFormat {
  if (raw === undefined) {
    try {
      return formatFromUri(uri);
    } catch {
      throw new CliUsageError(`cannot tell the format of ${uri}: name it .jsonl/.csv or pass --format`);
    }
  }
  if (raw !== 'jsonl' && raw !== 'csv') throw new CliUsageError('--format must be jsonl or csv');
  return raw;
}

/**
 * --encoding, --delimiter, --max-invalid as execution input fields, checked by the pipeline's own rules
 * so a typo fails here (exit 2); absent ones are left to the stack's defaults (UTF-8, detected, 5%).
 */
function readingFlags(flags: {
  encoding?: string;
  delimiter?: string;
  'max-invalid'?: string;
}): Record<string, string> {
  try {
    return {
      ...(flags.encoding === undefined ? {} : { encoding: encodingName(flags.encoding) }),
      ...(flags.delimiter === undefined ? {} : { delimiter: parseDelimiter(flags.delimiter) }),
      ...(flags['max-invalid'] === undefined
        ? {}
        : { maxInvalid: formatMaxInvalid(parseMaxInvalid(flags['max-invalid'])) }),
    };
  } catch (err) {
    if (err instanceof ConfigError)
      throw new CliUsageError(`--${err.message.replace(/^maxInvalid/, 'max-invalid')}`);
    throw err;
  }
}

// The pipeline's id rule (lambdas/core/sync/input.ts): checked here so a typo fails now, not mid-execution.
const CONNECTION_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export async function run(argv: string[], deps: CliDeps = defaultDeps()): Promise<number> {
  return runStackCommand(argv, usage, OPTIONS, deps, async ({ flags, stackName, clients: awsClients }) => {
    const rawSource = flags.source;
    const uploadPath = flags.upload;
    if (rawSource === undefined && uploadPath === undefined)
      throw new CliUsageError('--source is required (or --upload FILE for a file on this machine)');
    if (rawSource !== undefined && uploadPath !== undefined)
      throw new CliUsageError(
        '--source and --upload are alternatives: --upload FILE uploads FILE and starts on it',
      );
    const runId = flags['run-id'] === undefined ? generateRunId(deps.now()) : validateRunId(flags['run-id']);
    const pollMs = intFlag(flags['poll-seconds'], 'poll-seconds', 5, 1, 3600) * 1000;
    if (flags['poll-seconds'] !== undefined && !flags.wait)
      throw new CliUsageError('--poll-seconds needs --wait');

    if (flags.connection !== undefined && !CONNECTION_ID_RE.test(flags.connection)) {
      throw new CliUsageError('--connection: 1-128 characters of A-Z a-z 0-9 . _ : -');
    }
    const reading = readingFlags(flags);
    // The file is checked (and its format told) before anything is uploaded or started.
    if (uploadPath !== undefined) await checkUploadFile(uploadPath);
    if (rawSource !== undefined && isLocalPath(rawSource)) {
      throw new CliUsageError(uploadAdvice(rawSource, stackName, flags.region));
    }
    const upload = uploadPath
      ? { path: uploadPath, format: resolveFormat(flags.format, uploadPath) }
      : undefined;
    const clients = awsClients();
    const outputs = await discoverStack(clients.cloudFormation, stackName, [STACK_OUTPUTS.stateMachineArn]);
    // --wait reads the checkpoint table and asks the broker: fail before starting if the stack cannot.
    const statusOutputs = flags.wait ? requireOutputs(outputs, stackName, STATUS_OUTPUTS) : undefined;
    let source: RunInput['source'];
    if (upload) {
      const bucket = outputs.SourceBucketName;
      if (!bucket) {
        throw new ConfigError(
          `the stack has no ${STACK_OUTPUTS.sourceBucketName} output: upload the file yourself and pass --source s3://bucket/key`,
        );
      }
      const key = uploadKey(runId, upload.path);
      const uploaded = await uploadSource(clients.s3, bucket, key, upload.path, upload.format);
      const version = uploaded.version.versionId ? `version ${uploaded.version.versionId}` : 'unversioned';
      (flags.json ? deps.err : deps.out)(
        `uploaded ${escapeControl(upload.path)} (${uploaded.version.size} bytes) to ${uploaded.uri} (${version})`,
      );
      source = { uri: uploaded.uri, format: upload.format, version: uploaded.version };
    } else {
      const uri = resolveSource(rawSource ?? '', outputs.SourceBucketName);
      source = { uri, format: resolveFormat(flags.format, uri) };
    }
    const connectionId = flags.connection ?? outputs.DefaultConnectionId ?? FALLBACK_CONNECTION_ID;
    const input: RunInput = { runId, source, connectionId, ...reading };

    let executionArn: string;
    try {
      const res = await clients.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: outputs.StateMachineArn,
          name: runId,
          input: JSON.stringify(input),
        }),
      );
      executionArn = res.executionArn ?? '';
    } catch (err) {
      if (err instanceof Error && err.name === 'ExecutionAlreadyExists') {
        throw new ConfigError(
          `run ${runId} already has an execution: use 'goal-sync resume --run-id ${runId}'`,
        );
      }
      throw err;
    }
    const started = { ...input, executionArn, consoleUrl: consoleUrlFor(executionArn) };
    if (!flags.json) {
      deps.out(
        `started run ${runId} (${input.source.format} ${input.source.uri}, connection ${input.connectionId})`,
      );
      deps.out(`execution  ${executionArn}`);
      deps.out(`console    ${started.consoleUrl}`);
    }
    if (!statusOutputs) {
      if (flags.json) deps.out(JSON.stringify(started));
      return EXIT.ok;
    }

    const wait = (arn: string) =>
      waitForExecution(clients.sfn, arn, {
        intervalMs: pollMs,
        sleep: deps.sleep,
        // Progress goes to stderr with --json, so stdout stays one JSON document.
        onStatus: (status) =>
          (flags.json ? deps.err : deps.out)(`${new Date(deps.now()).toISOString()}  ${status}`),
      });
    let done = await wait(executionArn);
    let status = await collectRunStatus(clients, statusOutputs, runId, done, input.connectionId);
    // A run that would not fit continues in new executions of itself (issue 24 item 4): followed to its end.
    let followed = '';
    while (status.run?.status === 'continuing' && status.run.continuation?.executionName !== followed) {
      followed = status.run.continuation?.executionName ?? '';
      (flags.json ? deps.err : deps.out)(`continued in execution ${followed}`);
      done = await wait(executionArnFor(outputs.StateMachineArn, followed));
      status = await collectRunStatus(clients, statusOutputs, runId, done, input.connectionId);
    }
    deps.out(flags.json ? JSON.stringify({ ...started, status }) : renderRunStatus(status));
    return exitCodeForRun(status);
  });
}
