import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';

/** The state machine's building blocks: state names, the errors it retries, and a retried Lambda task. */
export const STATE_NAMES = {
  inputDefaults: 'ApplyInputDefaults',
  plan: 'PlanSync',
  /** Inline Map (runs of up to `mapThreshold` chunks) or Distributed Map (larger runs). */
  mapChoice: 'ChooseChunkMap',
  chunks: 'SyncChunks',
  chunk: 'SyncChunk',
  chunkStatus: 'ChunkPassStatus',
  chunkWait: 'WaitForClaim',
  chunkDone: 'ChunkDone',
  finish: 'FinishSync',
  markReauth: 'MarkNeedsReauth',
  markFailed: 'MarkFailed',
  reauthFail: 'RunNeedsReauth',
  runFail: 'RunFailed',
  /** Another run of the connection holds its run lease: skip (nightly) or fail (a manual start). */
  busyChoice: 'ConnectionBusy',
  busySkip: 'SkippedRunInProgress',
  busyFail: 'RunInProgress',
  /** A resume of an unknown run or of a changed source: refused before anything was written. */
  refused: 'RunRefused',
  /**
   * The Distributed Map and its child executions' states (names are unique across the whole
   * definition, nested ones included). A child cannot reach the parent's Catch, so it marks the run.
   */
  distributedChunks: 'SyncChunksDistributed',
  batch: 'SyncChunkBatch',
  batchStatus: 'BatchPassStatus',
  batchWait: 'WaitForClaimInBatch',
  batchDone: 'BatchDone',
  childMarkReauth: 'MarkChunkNeedsReauth',
  childReauthFail: 'ChunkNeedsReauth',
  /** The run's write path (plan-sync's `writeMode`): HCM Data Loader first, or straight to the REST Map. */
  writeChoice: 'ChooseWritePath',
  hdlBuild: 'HdlBuildParts',
  hdlSubmit: 'HdlSubmitParts',
  hdlPoll: 'HdlPollParts',
  hdlStatus: 'HdlLoadStatus',
  hdlWait: 'HdlWaitForLoad',
  hdlRecord: 'HdlRecordOutcomes',
} as const;

/** Error names Step Functions matches (lambdas/core/errors.ts `name`s plus the Lambda service's own). */
export const RETRY_ERRORS = {
  lambdaService: [
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
    'Lambda.ClientExecutionTimeoutException',
    // Not in CDK's default retry: throttling of the function itself (reserved/account concurrency).
    'Lambda.TooManyRequestsException',
    // The function (or the task's TimeoutSeconds) ran out: the next invocation skips what is done and
    // reconciles what is pending; claims keep a still-running invocation and its retry apart.
    'Sandbox.Timedout',
    'States.Timeout',
  ],
  transient: ['TransientError', 'LeaseTimeoutError', 'CheckpointConflictError', 'ConnectionRecoveringError'],
  /**
   * The function crashed (out of memory, process exit): the next invocation resumes from the
   * checkpoints, but a crash that repeats is a bug, so only twice.
   */
  crash: ['Lambda.Unknown', 'Runtime.ExitError'],
} as const;

export interface SyncFunctions {
  plan: lambda.IFunction;
  chunk: lambda.IFunction;
  finish: lambda.IFunction;
  /** The HDL branch's steps (lambdas/hdl-load). */
  hdl: lambda.IFunction;
}

export function addRetries<T extends sfn.TaskStateBase>(task: T): T {
  task.addRetry({
    errors: [...RETRY_ERRORS.lambdaService],
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: 6,
    maxDelay: Duration.seconds(60),
    jitterStrategy: sfn.JitterType.FULL,
  });
  task.addRetry({
    errors: [...RETRY_ERRORS.crash],
    interval: Duration.seconds(2),
    backoffRate: 2,
    maxAttempts: 2,
    maxDelay: Duration.seconds(30),
    jitterStrategy: sfn.JitterType.FULL,
  });
  task.addRetry({
    errors: [...RETRY_ERRORS.transient],
    interval: Duration.seconds(5),
    backoffRate: 2,
    maxAttempts: 5,
    maxDelay: Duration.seconds(120),
    jitterStrategy: sfn.JitterType.FULL,
  });
  return task;
}

/**
 * Lambda's own maximum. Set explicitly: without it Step Functions waits "forever" on a lost invocation,
 * and aws-local-stepfunctions would cut every task at 60 s.
 */
export const TASK_TIMEOUT = Duration.minutes(15);

/** payloadResponseOnly: the Task's Resource is the function ARN (the local runner maps states by it). */
export function invoke(
  scope: Construct,
  id: string,
  fn: lambda.IFunction,
  props: Partial<tasks.LambdaInvokeProps>,
) {
  return addRetries(
    new tasks.LambdaInvoke(scope, id, {
      lambdaFunction: fn,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      taskTimeout: sfn.Timeout.duration(TASK_TIMEOUT),
      ...props,
    }),
  );
}
