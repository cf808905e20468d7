import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { DEFAULT_LEASE_MS } from '#core/lease/index.ts';
import { ENGINE_DEFAULTS, PLAN_DEFAULTS } from '#core/sync/index.ts';
import { DEFAULT_TOKEN_TIMEOUT_MS, GRANT_DEFAULTS } from '#core/token/index.ts';
import { SERVICE_NAMESPACE } from '../lambdas/core/observability.ts';
import { suppressGuardRule } from './guard.ts';
import { SERVICE_NAMES } from './metrics.ts';
import { DEFAULT_LOG_RETENTION_DAYS, type StackConfig } from './stack-config.ts';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export type FunctionKey =
  | 'tokenBroker'
  | 'connectionAdmin'
  | 'planSync'
  | 'syncChunk'
  | 'finishSync'
  | 'hdlLoad'
  | 'preflight'
  | 'scheduleStarter';

export interface FunctionSpec {
  /** Folder under lambdas/ holding index.ts (exports `handler`). */
  folder: string;
  memorySize: number;
  timeout: Duration;
  description: string;
}

/** p99 of one HCM REST call we budget for (the client's hard per-request timeout is 10 s). */
export const HCM_P99_REQUEST_SECONDS = 2;
/** HCM calls per goal in the worst normal path: finder query, create/patch, re-query after a 401. */
export const HCM_REQUESTS_PER_GOAL = 3;

/** Every token-endpoint attempt times out, with the capped full-jitter backoff at its ceiling between them. */
const brokerRefreshMs =
  GRANT_DEFAULTS.attempts * DEFAULT_TOKEN_TIMEOUT_MS +
  Array.from({ length: GRANT_DEFAULTS.attempts - 1 }, (_, i) =>
    Math.min(GRANT_DEFAULTS.capMs, GRANT_DEFAULTS.baseMs * 2 ** i),
  ).reduce((a, b) => a + b, 0);
/** A waiter outlives a dead holder's lease by 5 s before it takes over (lambdas/core/token, README). */
const brokerWaitMs = DEFAULT_LEASE_MS + 5_000;
/** Lease write, KMS data key, token commit with its own retries. */
const brokerCommitMs = 2_000;
/** >= 1.5x the broker's worst single call (~58 s); a worker's synchronous call may last this long. */
const BROKER_TIMEOUT = Duration.seconds(90);

/**
 * Worst-case seconds of work per invocation, derived from the handlers' own defaults; every timeout is
 * at least 1.5x this (test/infra/stack.test.ts). The chunk worker also stops taking records when its
 * remaining time falls under its margin and returns a partial result, so a slower HCM costs another
 * Map pass, not a Lambda timeout.
 */
export const WORST_CASE_SECONDS: Record<FunctionKey, number> = {
  // Worst single call: wait out a crashed holder's lease, then refresh and commit itself (~58 s).
  tokenBroker: (brokerWaitMs + brokerRefreshMs + brokerCommitMs) / 1000,
  // One code exchange (one attempt, its own timeout), then the broker's connect: its worst single call.
  connectionAdmin: 15 + (brokerWaitMs + brokerRefreshMs + brokerCommitMs) / 1000,
  // 5,000-goal source: one streaming read, chunk refs and invalid records written in batches.
  planSync: 120,
  syncChunk:
    Math.ceil(PLAN_DEFAULTS.chunkSize / ENGINE_DEFAULTS.concurrency) *
      HCM_REQUESTS_PER_GOAL *
      HCM_P99_REQUEST_SECONDS +
    // one synchronous broker call that takes the broker's whole timeout, then the engine's stop margin
    BROKER_TIMEOUT.toSeconds() +
    ENGINE_DEFAULTS.minTimeMarginMs / 1000,
  // one Query over the run partition and one event.
  finishSync: 30,
  // The heaviest step, building a run's parts: one streaming read of the source, the ledger in batches,
  // each plan's assignees and goals read once (100 pages at the HCM p99: ~25,000 workers and goals),
  // the zips written. A larger plan at the p99 would outlast it: docs/hdl.md says so.
  hdlLoad: 120 + 100 * HCM_P99_REQUEST_SECONDS + BROKER_TIMEOUT.toSeconds(),
  // One read of a large source, then ~25 HCM reads at the default ceiling (10/s) plus a write test of
  // ~25 more, each within the HCM p99, and one broker call that takes the broker's whole timeout.
  preflight: 120 + 50 * HCM_P99_REQUEST_SECONDS + BROKER_TIMEOUT.toSeconds(),
  // One StartExecution with the SDK's own retries.
  scheduleStarter: 10,
};

export const FUNCTION_SPECS: Record<FunctionKey, FunctionSpec> = {
  tokenBroker: {
    folder: 'token-broker',
    memorySize: 256,
    timeout: BROKER_TIMEOUT,
    description: 'Token broker: serialized, rotation-safe OAuth refresh for HCM connections',
  },
  connectionAdmin: {
    folder: 'connection-admin',
    memorySize: 256,
    timeout: Duration.seconds(120),
    description: 'goal-sync connect: takes a one-time code or refresh token, never returns a token',
  },
  planSync: {
    folder: 'plan-sync',
    // A re-sync or verify run holds HCM's listing of every goal of the run's plans while it is sliced per
    // chunk: ~0.8 KB retained, ~1.4 KB at peak per listed goal (npm run bench:index-memory). 1,024 MB
    // leaves room for ~500,000 existing goals next to the source's plan.
    memorySize: 1024,
    timeout: Duration.minutes(5),
    description: 'Plans a goal sync run: validates the source and writes chunk references',
  },
  syncChunk: {
    folder: 'sync-chunk',
    memorySize: 512,
    timeout: Duration.minutes(10),
    description: 'Syncs one chunk of goals into Oracle HCM with checkpoints',
  },
  finishSync: {
    folder: 'finish-sync',
    memorySize: 256,
    timeout: Duration.minutes(2),
    description: 'Aggregates a run report and emits sync.completed / sync.failed',
  },
  hdlLoad: {
    folder: 'hdl-load',
    // A 200,000-record build holds the run's records, their ledger items and the plans' listings.
    memorySize: 1024,
    timeout: Duration.minutes(15),
    description:
      'HCM Data Loader branch: builds Goal.dat parts, submits and polls data sets, records outcomes',
  },
  preflight: {
    folder: 'preflight',
    memorySize: 512,
    timeout: Duration.minutes(8),
    description:
      'goal-sync preflight: checks the pod with the pipeline rights, returns results, never a token',
  },
  scheduleStarter: {
    folder: 'schedule-starter',
    memorySize: 128,
    timeout: Duration.seconds(30),
    description: 'Starts a scheduled sync as the one execution named nightly-/verify-YYYYMMDDTHHMMZ',
  },
};

// ESM bundles: some bundled CommonJS dependencies call require() for Node built-ins; give them one.
export const ESM_REQUIRE_BANNER =
  "import{createRequire as __goalSyncCreateRequire}from'node:module';const require=__goalSyncCreateRequire(import.meta.url);";

export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;

export interface ProjectFunction {
  fn: NodejsFunction;
  role: iam.Role;
  logGroup: logs.LogGroup;
}

export interface ProjectFunctionProps {
  key: FunctionKey;
  config: StackConfig;
  environment: Record<string, string>;
  /** Only the broker has a fixed name: its own ARN goes into its environment (schedule target). */
  functionName?: string;
  reservedConcurrentExecutions?: number;
  /** Encrypts the log group (CT.CLOUDWATCH.PR.3); the logs key, never the token key. */
  logKey: kms.IKey;
}

/**
 * One Lambda with its own role (no AWS managed policies: the log permission is scoped to its own log
 * group) and its own log group with a retention, so nothing is left behind with infinite retention.
 */
export function createProjectFunction(
  scope: Construct,
  id: string,
  props: ProjectFunctionProps,
): ProjectFunction {
  const spec = FUNCTION_SPECS[props.key];
  const service = SERVICE_NAMES[props.key];
  const logGroup = projectLogGroup(scope, `${id}Logs`, props.config, props.logKey);
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `${service} (${props.config.env}): execution role`,
  });
  const fn = new NodejsFunction(scope, id, {
    entry: join(PROJECT_ROOT, 'lambdas', spec.folder, 'index.ts'),
    handler: 'handler',
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
    runtime: LAMBDA_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    memorySize: spec.memorySize,
    timeout: spec.timeout,
    description: spec.description,
    functionName: props.functionName,
    reservedConcurrentExecutions: props.reservedConcurrentExecutions,
    role,
    logGroup,
    tracing: lambda.Tracing.ACTIVE,
    environment: {
      POWERTOOLS_SERVICE_NAME: service,
      POWERTOOLS_METRICS_NAMESPACE: SERVICE_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
      ...props.environment,
    },
    bundling: {
      format: OutputFormat.ESM,
      target: 'node22',
      minify: true,
      sourceMap: true,
      sourceMapMode: SourceMapMode.DEFAULT,
      // The map only needs line mappings for stack traces; embedding sources would double the asset.
      sourcesContent: false,
      mainFields: ['module', 'main'],
      banner: ESM_REQUIRE_BANNER,
      // Ship the SDK versions the tests ran against instead of whatever the runtime bundles today.
      bundleAwsSDK: true,
      tsconfig: join(PROJECT_ROOT, 'tsconfig.json'),
      logLevel: LogLevel.WARNING,
    },
  });
  logGroup.grantWrite(role);
  return { fn, role, logGroup };
}

/**
 * A log group with the configured retention, encrypted with the logs key. A retention under the Control
 * Tower minimum is the operator's choice (context logRetentionDays) and is acknowledged as such.
 */
export function projectLogGroup(
  scope: Construct,
  id: string,
  config: StackConfig,
  logKey: kms.IKey,
  props: Partial<logs.LogGroupProps> = {},
): logs.LogGroup {
  const logGroup = new logs.LogGroup(scope, id, {
    retention: config.logRetentionDays as logs.RetentionDays,
    encryptionKey: logKey,
    removalPolicy: RemovalPolicy.DESTROY,
    ...props,
  });
  if (config.logRetentionDays < DEFAULT_LOG_RETENTION_DAYS) {
    suppressGuardRule(logGroup, 'shortLogRetention', `(logRetentionDays=${config.logRetentionDays})`);
  }
  return logGroup;
}

/** The ARN of a function with a fixed name, without referencing the function (no dependency cycle). */
export function functionArnFromName(scope: Construct, functionName: string): string {
  return Stack.of(scope).formatArn({
    service: 'lambda',
    resource: 'function',
    resourceName: functionName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
