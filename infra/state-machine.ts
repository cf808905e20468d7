import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { hdlBranch } from './state-machine-hdl.ts';
import { invoke, STATE_NAMES, type SyncFunctions } from './state-machine-parts.ts';

export { RETRY_ERRORS, STATE_NAMES, type SyncFunctions, TASK_TIMEOUT } from './state-machine-parts.ts';

/**
 * The sync state machine (DESIGN.md section 1), one builder for the CDK stack and the local runner:
 * PlanSync -> ChooseChunkMap -> inline Map or Distributed Map over chunks (SyncChunk, looping while a
 * pass returns `partial`) -> FinishSync. One definition for every size: plan-sync reports the chunk
 * count and the threshold (lambdas/core/sync/plan.ts `mapThreshold`), and the Choice sends larger runs
 * to the Distributed Map. JSONPath only: the local runner executes the same ASL on the laptop
 * (aws-local-stepfunctions, plus local/runner/distributed-map.ts for the Distributed Map state).
 */

/** Errors that refuse a start before anything was written: the run item is left as it was. */
export const REFUSAL_ERRORS = ['RunNotFoundError', 'SourceChangedError'] as const;
export const RUN_IN_PROGRESS_ERROR = 'RunInProgressError';

export const REAUTH_ERROR = 'ReauthRequiredError';

export const REAUTH_CAUSE =
  'The HCM connection needs re-authentication; the run is marked needs_reauth. Reconnect the connection ' +
  '(goal-sync connect), then start the run again with the same runId: done goals are skipped.';

export interface DistributedMapOptions {
  /** Bucket plan-sync writes the chunk list to (its MANIFEST_BUCKET); grants the read. Without it, the
   * ItemReader takes the bucket from the plan output and the caller grants s3:GetObject itself. */
  bucket?: s3.IBucket;
  /** Child executions in parallel (default: the definition's maxConcurrency). */
  maxConcurrency?: number;
  /** Share of child executions that may fail without failing the run (default 0). */
  toleratedFailurePercentage?: number;
  /** Chunks per child execution (default 4): fewer, longer children. */
  maxItemsPerBatch?: number;
}

/** The inline Map's own concurrency limit; the Distributed Map goes far beyond it. */
export const INLINE_MAP_MAX_CONCURRENCY = 40;

export interface SyncDefinitionOptions {
  /** Chunks in parallel (inline Map: at most 40). */
  maxConcurrency: number;
  /** The Distributed Map branch (S3 ItemReader + ItemBatcher), taken by runs above the threshold. */
  distributed?: DistributedMapOptions;
}

/** What a chunk worker gets: references only (ids, the source location, the chunk range or index). */
const CHUNK_ITEM = {
  runId: sfn.JsonPath.stringAt('$.runId'),
  connectionId: sfn.JsonPath.stringAt('$.connectionId'),
  source: sfn.JsonPath.objectAt('$.source'),
  attempt: sfn.JsonPath.numberAt('$.attempt'),
  generation: sfn.JsonPath.numberAt('$.generation'),
  // The execution's REST deadline (plan-sync; 0: none): a pass that starts later returns `deferred`,
  // which ends the chunk's loop like `complete` (ChunkDone?'s otherwise), its records left pending.
  restDeadline: sfn.JsonPath.numberAt('$.restDeadline'),
  chunk: sfn.JsonPath.objectAt('$$.Map.Item.Value'),
};

/**
 * SyncChunk, then loop while the pass says `partial`: immediately when it ran out of time (a new
 * invocation has a new budget), after `waitSeconds` when another worker held a claim.
 */
function chunkLoop(scope: Construct, fns: SyncFunctions, child: boolean): sfn.IChainable {
  const names = child
    ? {
        task: STATE_NAMES.batch,
        status: STATE_NAMES.batchStatus,
        wait: STATE_NAMES.batchWait,
        done: STATE_NAMES.batchDone,
      }
    : {
        task: STATE_NAMES.chunk,
        status: STATE_NAMES.chunkStatus,
        wait: STATE_NAMES.chunkWait,
        done: STATE_NAMES.chunkDone,
      };
  const syncChunk = invoke(scope, names.task, fns.chunk, {
    // Keep the iteration small (no goal bodies): only the pass summary is kept beside the item.
    resultSelector: {
      index: sfn.JsonPath.numberAt('$.index'),
      status: sfn.JsonPath.stringAt('$.status'),
      waitSeconds: sfn.JsonPath.numberAt('$.waitSeconds'),
      counts: sfn.JsonPath.objectAt('$.counts'),
    },
    resultPath: '$.result',
  });
  if (child) {
    const markReauth = finishWithError(
      scope,
      STATE_NAMES.childMarkReauth,
      fns,
      '$.Items[0].runId',
      'needs_reauth',
      new sfn.Fail(scope, STATE_NAMES.childReauthFail, { error: REAUTH_ERROR, cause: REAUTH_CAUSE }),
    );
    syncChunk.addCatch(markReauth, { errors: [REAUTH_ERROR], resultPath: '$.error' });
  }
  const wait = new sfn.Wait(scope, names.wait, {
    time: sfn.WaitTime.secondsPath('$.result.waitSeconds'),
  });
  const status = new sfn.Choice(scope, names.status)
    .when(
      sfn.Condition.and(
        sfn.Condition.stringEquals('$.result.status', 'partial'),
        sfn.Condition.numberGreaterThan('$.result.waitSeconds', 0),
      ),
      wait.next(syncChunk),
    )
    .when(sfn.Condition.stringEquals('$.result.status', 'partial'), syncChunk)
    // The iteration's output is its index only: the Map result stays tiny however many chunks there are.
    .otherwise(new sfn.Succeed(scope, names.done, { outputPath: '$.result.index' }));
  return syncChunk.next(status);
}

function inlineMap(scope: Construct, fns: SyncFunctions, opts: SyncDefinitionOptions): sfn.Map {
  if (opts.maxConcurrency < 1) throw new Error(`maxConcurrency must be >= 1, got ${opts.maxConcurrency}`);
  return new sfn.Map(scope, STATE_NAMES.chunks, {
    itemsPath: '$.chunks',
    itemSelector: CHUNK_ITEM,
    // The inline Map runs at most 40 iterations at once whatever it is told; say so in the definition.
    maxConcurrency: Math.min(opts.maxConcurrency, INLINE_MAP_MAX_CONCURRENCY),
    resultPath: sfn.JsonPath.DISCARD,
  }).itemProcessor(chunkLoop(scope, fns, false));
}

/** Chunks per child execution by default: fewer, longer children (each has its own 25,000 events). */
export const DEFAULT_MAX_ITEMS_PER_BATCH = 4;

function distributedMap(
  scope: Construct,
  fns: SyncFunctions,
  opts: SyncDefinitionOptions,
): sfn.DistributedMap {
  const dist = opts.distributed ?? {};
  const key = sfn.JsonPath.stringAt('$.manifest.key');
  return new sfn.DistributedMap(scope, STATE_NAMES.distributedChunks, {
    itemReader: dist.bucket
      ? new sfn.S3JsonItemReader({ bucket: dist.bucket, key })
      : new sfn.S3JsonItemReader({ bucketNamePath: sfn.JsonPath.stringAt('$.manifest.bucket'), key }),
    itemSelector: CHUNK_ITEM,
    itemBatcher: new sfn.ItemBatcher({
      maxItemsPerBatch: dist.maxItemsPerBatch ?? DEFAULT_MAX_ITEMS_PER_BATCH,
    }),
    maxConcurrency: dist.maxConcurrency ?? opts.maxConcurrency,
    toleratedFailurePercentage: dist.toleratedFailurePercentage ?? 0,
    mapExecutionType: sfn.StateMachineType.STANDARD,
    resultPath: sfn.JsonPath.DISCARD,
  }).itemProcessor(chunkLoop(scope, fns, true));
}

/**
 * A console start needs no more than `{"source": {"uri": "s3://..."}}`: the run id defaults to the
 * execution's name here, before anything reads `$.runId` (MarkFailed included); plan-sync defaults the
 * connection to the stack's and names any malformed field. Execution names are [A-Za-z0-9-_] only, so
 * formatting one into JSON needs no escaping.
 */
function inputDefaults(scope: Construct): sfn.Pass {
  const defaults = sfn.JsonPath.stringToJson(
    sfn.JsonPath.format('\\{"runId":"{}"\\}', sfn.JsonPath.executionName),
  );
  return new sfn.Pass(scope, STATE_NAMES.inputDefaults, {
    parameters: { merged: sfn.JsonPath.jsonMerge(defaults, sfn.JsonPath.entirePayload) },
    outputPath: '$.merged',
  });
}

/**
 * FinishSync called from a Catch: the run ends with `outcome` and the caught error, its answer
 * discarded, then `fail`. When finish-sync itself fails after its retries, the execution still ends in
 * `fail` with the caught error (kept at $.error) and the status rule finishes the run later.
 */
function finishWithError(
  scope: Construct,
  name: string,
  fns: SyncFunctions,
  runIdPath: string,
  outcome: 'failed' | 'needs_reauth',
  fail: sfn.Fail,
): sfn.IChainable {
  return invoke(scope, name, fns.finish, {
    payload: sfn.TaskInput.fromObject({
      runId: sfn.JsonPath.stringAt(runIdPath),
      outcome,
      error: sfn.JsonPath.objectAt('$.error'),
    }),
    resultPath: sfn.JsonPath.DISCARD,
  })
    .addCatch(fail, { errors: ['States.ALL'], resultPath: FINISH_ERROR_PATH })
    .next(fail);
}

/** Where a failed MarkFailed / MarkNeedsReauth puts finish-sync's own error, beside the run's. */
export const FINISH_ERROR_PATH = '$.finishError';

export function buildSyncDefinition(
  scope: Construct,
  fns: SyncFunctions,
  opts: SyncDefinitionOptions,
): sfn.IChainable {
  // A plan that failed before the run item existed ends here too: finish-sync reports it as an
  // unplanned failed run (sync.failed with the plan's own error), and the Cause stays the plan's.
  const markFailed = finishWithError(
    scope,
    STATE_NAMES.markFailed,
    fns,
    '$.runId',
    'failed',
    new sfn.Fail(scope, STATE_NAMES.runFail, { error: 'SyncFailed', causePath: '$.error.Cause' }),
  );

  const markReauth = finishWithError(
    scope,
    STATE_NAMES.markReauth,
    fns,
    '$.runId',
    'needs_reauth',
    new sfn.Fail(scope, STATE_NAMES.reauthFail, { error: REAUTH_ERROR, cause: REAUTH_CAUSE }),
  );

  const onError = { resultPath: '$.error' };
  const busy = new sfn.Choice(scope, STATE_NAMES.busyChoice)
    .when(
      sfn.Condition.and(
        sfn.Condition.isPresent('$.ifRunning'),
        sfn.Condition.stringEquals('$.ifRunning', 'skip'),
      ),
      new sfn.Succeed(scope, STATE_NAMES.busySkip),
    )
    .otherwise(
      new sfn.Fail(scope, STATE_NAMES.busyFail, { error: RUN_IN_PROGRESS_ERROR, causePath: '$.error.Cause' }),
    );
  const refused = new sfn.Fail(scope, STATE_NAMES.refused, {
    errorPath: '$.error.Error',
    causePath: '$.error.Cause',
  });
  // plan-sync gets the execution's id beside its input: a late status-change event of an older
  // execution of a resumed run must not end the newer one (finish-sync compares the two).
  const plan = invoke(scope, STATE_NAMES.plan, fns.plan, {
    payload: sfn.TaskInput.fromObject({
      input: sfn.JsonPath.entirePayload,
      // The start time: plan-sync estimates whether the run's REST writes fit in what is left (issue 24).
      execution: {
        id: sfn.JsonPath.stringAt('$$.Execution.Id'),
        startTime: sfn.JsonPath.stringAt('$$.Execution.StartTime'),
      },
    }),
  })
    .addCatch(busy, { ...onError, errors: [RUN_IN_PROGRESS_ERROR] })
    .addCatch(refused, { ...onError, errors: [...REFUSAL_ERRORS] })
    .addCatch(markFailed, { ...onError, errors: ['States.ALL'] });
  // Past the REST deadline with records pending, finish-sync hands the run to a new execution of it
  // (issue 24 item 4): the deadline says when, the execution's own input what the continuation gets,
  // and its id that this execution still owns the run (a retried finish after the hand-over is stale).
  const finish = invoke(scope, STATE_NAMES.finish, fns.finish, {
    payload: sfn.TaskInput.fromObject({
      runId: sfn.JsonPath.stringAt('$.runId'),
      outcome: 'completed',
      restDeadline: sfn.JsonPath.numberAt('$.restDeadline'),
      executionArn: sfn.JsonPath.stringAt('$$.Execution.Id'),
      executionInput: sfn.JsonPath.objectAt('$$.Execution.Input'),
    }),
  }).addCatch(markFailed, { ...onError, errors: ['States.ALL'] });
  const inline = inlineMap(scope, fns, opts)
    .addCatch(markReauth, { ...onError, errors: [REAUTH_ERROR] })
    .addCatch(markFailed, { ...onError, errors: ['States.ALL'] });
  // A child execution's failure reaches the parent as States.ExceedToleratedFailureThreshold (the
  // child has marked a dead grant itself): both go to MarkFailed, which leaves a needs_reauth run so.
  const distributed = distributedMap(scope, fns, opts)
    .addCatch(markReauth, { ...onError, errors: [REAUTH_ERROR] })
    .addCatch(markFailed, { ...onError, errors: ['States.ALL'] });
  // plan-sync returns chunkCount and mapThreshold (its own decision, an input override, or 0 when the
  // stack forces the Distributed Map); the chunk list is in the payload only for the inline branch.
  const choose = new sfn.Choice(scope, STATE_NAMES.mapChoice)
    .when(sfn.Condition.numberGreaterThanJsonPath('$.chunkCount', '$.mapThreshold'), distributed.next(finish))
    .otherwise(inline.next(finish));
  const hdl = hdlBranch(scope, fns, choose, (task) =>
    task
      .addCatch(markReauth, { ...onError, errors: [REAUTH_ERROR] })
      .addCatch(markFailed, { ...onError, errors: ['States.ALL'] }),
  );
  // plan-sync chose the run's write path (issue 24): HDL loads first, then the REST Map settles every
  // chunk (HDL's records from the ledger without an HCM call, the rest through REST).
  const writePath = new sfn.Choice(scope, STATE_NAMES.writeChoice)
    .when(
      sfn.Condition.and(
        sfn.Condition.isPresent('$.writeMode'),
        sfn.Condition.stringEquals('$.writeMode', 'hdl'),
      ),
      hdl,
    )
    .otherwise(choose);
  return sfn.Chain.start(inputDefaults(scope)).next(plan).next(writePath);
}

export type FunctionKind = keyof SyncFunctions;

/** renderDefinition's stand-in for the stack's manifest bucket; the local manifest store uses it too. */
export const RENDERED_MANIFEST_BUCKET = 'goal-sync-manifests';

/** Placeholder ARNs of the rendered definition, by function. */
export const PLACEHOLDER_FUNCTION_ARNS: Record<FunctionKind, string> = {
  plan: 'arn:aws:lambda:us-east-1:000000000000:function:plan-sync',
  chunk: 'arn:aws:lambda:us-east-1:000000000000:function:sync-chunk',
  finish: 'arn:aws:lambda:us-east-1:000000000000:function:finish-sync',
  hdl: 'arn:aws:lambda:us-east-1:000000000000:function:hdl-load',
};

// Pseudo parameters CDK leaves as tokens in ARNs it formats (the ItemReader's states:::s3 resource).
const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '000000000000',
  'AWS::URLSuffix': 'amazonaws.com',
};

/** Turns the CloudFormation intrinsics left by Stack.resolve into plain strings. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (!value || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === 'Ref' && typeof obj.Ref === 'string' && obj.Ref in PSEUDO) {
    return PSEUDO[obj.Ref];
  }
  if (keys.length === 1 && keys[0] === 'Fn::Join') {
    const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
    return parts.map(plain).join(sep);
  }
  return Object.fromEntries(keys.map((k) => [k, plain(obj[k])]));
}

/**
 * Plain ASL JSON (tokens resolved) of the same definition, built in a throwaway App/Stack with
 * placeholder ARNs arn:aws:lambda:us-east-1:000000000000:function:<name>; used by the local runner and the tests.
 */
export interface RenderOptions extends Omit<SyncDefinitionOptions, 'distributed'> {
  /** `bucket: true` (or any bucket) renders the stack's fixed-bucket ItemReader with the placeholder name. */
  distributed?: Omit<DistributedMapOptions, 'bucket'> & { bucket?: boolean | s3.IBucket };
}

export function renderDefinition(opts: RenderOptions): {
  asl: Record<string, unknown>;
  functionArns: Record<FunctionKind, string>;
} {
  const app = new App();
  const stack = new Stack(app, 'RenderSyncDefinition', {
    env: { account: '000000000000', region: 'us-east-1' },
  });
  const fns: SyncFunctions = {
    plan: lambda.Function.fromFunctionArn(stack, 'Plan', PLACEHOLDER_FUNCTION_ARNS.plan),
    chunk: lambda.Function.fromFunctionArn(stack, 'Chunk', PLACEHOLDER_FUNCTION_ARNS.chunk),
    finish: lambda.Function.fromFunctionArn(stack, 'Finish', PLACEHOLDER_FUNCTION_ARNS.finish),
    hdl: lambda.Function.fromFunctionArn(stack, 'Hdl', PLACEHOLDER_FUNCTION_ARNS.hdl),
  };
  // A caller's bucket belongs to another construct tree: stand in a placeholder of the same kind.
  const dist = opts.distributed;
  const manifestBucket = dist?.bucket
    ? s3.Bucket.fromBucketName(stack, 'Manifest', RENDERED_MANIFEST_BUCKET)
    : undefined;
  const local: SyncDefinitionOptions = dist
    ? { ...opts, distributed: { ...dist, bucket: manifestBucket } }
    : { maxConcurrency: opts.maxConcurrency };
  const definition = buildSyncDefinition(stack, fns, local);
  const graph = new sfn.StateGraph(sfn.Chain.start(definition).startState, 'sync');
  const asl = plain(stack.resolve(graph.toGraphJson())) as Record<string, unknown>;
  return { asl, functionArns: { ...PLACEHOLDER_FUNCTION_ARNS } };
}
