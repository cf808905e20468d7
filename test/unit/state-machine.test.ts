import { createRequire } from 'node:module';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import {
  PLACEHOLDER_FUNCTION_ARNS,
  REAUTH_ERROR,
  RENDERED_MANIFEST_BUCKET,
  RETRY_ERRORS,
  renderDefinition,
  STATE_NAMES,
} from '../../infra/state-machine.ts';
import { ReauthRequiredError, TransientError } from '../../lambdas/core/errors.ts';

// asl-validator ships CommonJS without types: this is its documented call shape.
type AslValidator = (
  definition: unknown,
  opts?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: (sep?: string) => string };
const validate = createRequire(import.meta.url)('asl-validator') as AslValidator;

type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };
type AslDefinition = ConstructorParameters<typeof StateMachine>[0];
type State = Record<string, unknown> & {
  Type: string;
  States?: Record<string, State>;
  ItemProcessor?: { States: Record<string, State> };
};

function states(asl: Record<string, unknown>): Record<string, State> {
  return asl.States as Record<string, State>;
}

describe('state machine definition', () => {
  it('one definition: a Choice after PlanSync sends runs above mapThreshold to the Distributed Map', () => {
    const { asl } = renderDefinition({ maxConcurrency: 7 });
    const top = states(asl);
    expect(top[STATE_NAMES.plan]?.Next).toBe(STATE_NAMES.writeChoice);
    expect(top[STATE_NAMES.writeChoice]?.Default).toBe(STATE_NAMES.mapChoice);
    expect(top[STATE_NAMES.mapChoice]).toEqual({
      Type: 'Choice',
      Choices: [
        {
          Variable: '$.chunkCount',
          NumericGreaterThanPath: '$.mapThreshold',
          Next: STATE_NAMES.distributedChunks,
        },
      ],
      Default: STATE_NAMES.chunks,
    });
    expect(top[STATE_NAMES.chunks]?.Next).toBe(STATE_NAMES.finish);
    expect(top[STATE_NAMES.distributedChunks]?.Next).toBe(STATE_NAMES.finish);
    // Both branches end a run the same way: a dead grant or any other error.
    expect(top[STATE_NAMES.distributedChunks]?.Catch).toEqual(top[STATE_NAMES.chunks]?.Catch);
  });

  it('the HDL branch: build, submit, poll in a Wait loop (no Lambda sleeps), record, then the REST Map', () => {
    const { asl, functionArns } = renderDefinition({ maxConcurrency: 7 });
    const top = states(asl);
    const choice = top[STATE_NAMES.writeChoice] as unknown as { Choices: Array<{ Next: string }> };
    expect(choice.Choices.map((c) => c.Next)).toEqual([STATE_NAMES.hdlBuild]);
    expect(JSON.stringify(choice.Choices[0])).toContain('"StringEquals":"hdl"');
    for (const name of [
      STATE_NAMES.hdlBuild,
      STATE_NAMES.hdlSubmit,
      STATE_NAMES.hdlPoll,
      STATE_NAMES.hdlRecord,
    ]) {
      expect(top[name]?.Resource).toBe(functionArns.hdl);
      // Every step ends a run like the Maps do: a dead grant, or any other error (a stuck data set).
      expect(top[name]?.Catch).toEqual(top[STATE_NAMES.chunks]?.Catch);
    }
    expect(top[STATE_NAMES.hdlBuild]?.Next).toBe(STATE_NAMES.hdlSubmit);
    expect(top[STATE_NAMES.hdlSubmit]?.Next).toBe(STATE_NAMES.hdlPoll);
    expect(top[STATE_NAMES.hdlPoll]?.Next).toBe(STATE_NAMES.hdlStatus);
    expect(top[STATE_NAMES.hdlStatus]).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.hdlPoll.pending', NumericGreaterThan: 0, Next: STATE_NAMES.hdlWait }],
      Default: STATE_NAMES.hdlRecord,
    });
    expect(top[STATE_NAMES.hdlWait]).toMatchObject({
      Type: 'Wait',
      SecondsPath: '$.hdlPoll.waitSeconds',
      Next: STATE_NAMES.hdlPoll,
    });
    expect(top[STATE_NAMES.hdlRecord]?.Next).toBe(STATE_NAMES.mapChoice);
    const result = validate(asl);
    expect(result.isValid, result.errorsText('\n')).toBe(true);
  });

  it('inline branch is valid ASL with references-only Map items and the error paths', () => {
    const { asl, functionArns } = renderDefinition({ maxConcurrency: 7 });
    const result = validate(asl);
    expect(result.isValid, result.errorsText('\n')).toBe(true);

    const top = states(asl);
    expect(asl.StartAt).toBe(STATE_NAMES.inputDefaults);
    expect(top[STATE_NAMES.inputDefaults]?.Next).toBe(STATE_NAMES.plan);
    expect(top[STATE_NAMES.plan]?.Resource).toBe(functionArns.plan);
    const map = top[STATE_NAMES.chunks]!;
    expect(map.Type).toBe('Map');
    expect(map.MaxConcurrency).toBe(7);
    expect(map.ItemsPath).toBe('$.chunks');
    expect(map.ResultPath).toBeNull();
    expect(map.ItemSelector).toEqual({
      'runId.$': '$.runId',
      'connectionId.$': '$.connectionId',
      'source.$': '$.source',
      'attempt.$': '$.attempt',
      'generation.$': '$.generation',
      // The execution's REST deadline: a pass that starts later defers (issue 24 item 4).
      'restDeadline.$': '$.restDeadline',
      'chunk.$': '$$.Map.Item.Value',
    });
    const catches = map.Catch as Array<{ ErrorEquals: string[]; Next: string }>;
    expect(catches[0]).toMatchObject({ ErrorEquals: [REAUTH_ERROR], Next: STATE_NAMES.markReauth });
    expect(catches[1]).toMatchObject({ ErrorEquals: ['States.ALL'], Next: STATE_NAMES.markFailed });
    expect(top[STATE_NAMES.reauthFail]).toMatchObject({ Type: 'Fail', Error: REAUTH_ERROR });

    const chunk = map.ItemProcessor!.States[STATE_NAMES.chunk]!;
    expect(chunk.Resource).toBe(PLACEHOLDER_FUNCTION_ARNS.chunk);
    const retries = chunk.Retry as Array<Record<string, unknown>>;
    expect(retries.flatMap((r) => r.ErrorEquals as string[])).toEqual(
      expect.arrayContaining([
        'Lambda.TooManyRequestsException',
        'TransientError',
        'LeaseTimeoutError',
        'CheckpointConflictError',
      ]),
    );
    for (const r of retries) {
      expect(r).toMatchObject({ JitterStrategy: 'FULL', BackoffRate: 2 });
      expect(r.MaxDelaySeconds).toBeGreaterThan(0);
    }
    // ReauthRequiredError must never be retried: a dead grant stays dead.
    expect(retries.flatMap((r) => r.ErrorEquals as string[])).not.toContain(REAUTH_ERROR);
    expect(chunk.ResultPath).toBe('$.result');
  });

  it('distributed branch is valid ASL with an S3 ItemReader, ItemBatcher and tolerated failures', () => {
    for (const distributed of [undefined, { toleratedFailurePercentage: 5, maxItemsPerBatch: 2 }] as const) {
      const { asl } = renderDefinition({ maxConcurrency: 100, distributed });
      const result = validate(asl);
      expect(result.isValid, result.errorsText('\n')).toBe(true);
      const map = states(asl)[STATE_NAMES.distributedChunks]!;
      expect(map.ItemReader).toMatchObject({
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSON' },
        Parameters: { 'Bucket.$': '$.manifest.bucket', 'Key.$': '$.manifest.key' },
      });
      expect(map.ItemBatcher).toEqual({ MaxItemsPerBatch: distributed === undefined ? 4 : 2 });
      // CDK omits a 0 (the ASL default).
      expect(map.ToleratedFailurePercentage ?? 0).toBe(distributed === undefined ? 0 : 5);
      expect(map.MaxConcurrency).toBe(100);
      expect(map.ItemProcessor).toMatchObject({
        ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
      });
      const child = map.ItemProcessor!.States;
      expect(child[STATE_NAMES.batch]?.Catch).toEqual([
        expect.objectContaining({ ErrorEquals: [REAUTH_ERROR], Next: STATE_NAMES.childMarkReauth }),
      ]);
      // The inline branch keeps the inline limit beside it.
      expect(states(asl)[STATE_NAMES.chunks]?.MaxConcurrency).toBe(40);
    }
    // The stack's form: a fixed bucket (the placeholder name when rendered).
    const { asl } = renderDefinition({ maxConcurrency: 5, distributed: { bucket: true } });
    expect(states(asl)[STATE_NAMES.distributedChunks]?.ItemReader).toMatchObject({
      Parameters: { Bucket: RENDERED_MANIFEST_BUCKET, 'Key.$': '$.manifest.key' },
    });
  });

  it('the validator does reject a broken definition (the checks above can fail)', () => {
    const { asl } = renderDefinition({ maxConcurrency: 2 });
    const broken = structuredClone(asl) as { States: Record<string, State> };
    broken.States[STATE_NAMES.plan]!.Next = 'NoSuchState';
    expect(validate(broken).isValid).toBe(false);
  });

  it('caps the inline Map at its limit of 40, the Distributed Map is not capped', () => {
    const top = states(renderDefinition({ maxConcurrency: 41 }).asl);
    expect(top[STATE_NAMES.chunks]?.MaxConcurrency).toBe(40);
    expect(top[STATE_NAMES.distributedChunks]?.MaxConcurrency).toBe(41);
    expect(() => renderDefinition({ maxConcurrency: 0 })).toThrow(/>= 1/);
  });

  it('retries cover the Lambda service errors CDK leaves out', () => {
    expect(RETRY_ERRORS.lambdaService).toContain('Lambda.TooManyRequestsException');
  });
});

interface Calls {
  chunk: JSONValue[];
  finish: JSONValue[];
}

const RUN_INPUT = { runId: 'r1', connectionId: 'c1', source: { uri: 'goals.jsonl', format: 'jsonl' } };

/** Runs the rendered ASL with aws-local-stepfunctions and fake handlers for the three functions. */
function runLocally(
  chunkHandler: (input: JSONValue, callNo: number) => JSONValue | Promise<JSONValue>,
  restDeadline = 0,
) {
  const { asl } = renderDefinition({ maxConcurrency: 3 });
  const calls: Calls = { chunk: [], finish: [] };
  const plan = (input: JSONValue): JSONValue => {
    const i = (input as { input: { runId: string; connectionId: string; source: JSONValue } }).input;
    return {
      runId: i.runId,
      connectionId: i.connectionId,
      source: i.source,
      attempt: 1,
      generation: 1,
      chunkCount: 3,
      mapThreshold: 765,
      chunks: [0, 1, 2],
      restDeadline,
    };
  };
  const chunk = (input: JSONValue) => {
    calls.chunk.push(input);
    return chunkHandler(input, calls.chunk.length);
  };
  const finish = (input: JSONValue): JSONValue => {
    calls.finish.push(input);
    const i = input as { runId: string; outcome: string };
    return { runId: i.runId, status: i.outcome };
  };
  const machine = new StateMachine(asl as unknown as AslDefinition);
  const execution = machine.run(RUN_INPUT, {
    overrides: {
      taskResourceLocalHandlers: {
        [STATE_NAMES.plan]: plan,
        [STATE_NAMES.chunk]: chunk,
        [STATE_NAMES.finish]: finish,
        [STATE_NAMES.markReauth]: finish,
        [STATE_NAMES.markFailed]: finish,
      },
      retryIntervalOverrides: { [STATE_NAMES.chunk]: 0 },
      waitTimeOverrides: { [STATE_NAMES.chunkWait]: 0 },
    },
    // Step Functions always names an execution; the definition's first state reads the name.
    context: {
      Execution: {
        Id: 'arn:aws:states:us-east-1:000000000000:execution:sync:exec-1',
        Name: 'exec-1',
        Input: RUN_INPUT,
      },
    } as never,
  });
  return { result: execution.result, calls };
}

const indexOf = (input: JSONValue): number => (input as { chunk: number }).chunk;

describe('state machine execution (aws-local-stepfunctions)', () => {
  it('loops a chunk while its pass is partial, waiting only for a foreign claim, then finishes', async () => {
    const passes = new Map<number, number>();
    const { result, calls } = runLocally((input) => {
      const index = indexOf(input);
      const pass = (passes.get(index) ?? 0) + 1;
      passes.set(index, pass);
      // Chunk 0: out of time once; chunk 1: claim contention once (waitSeconds > 0); chunk 2: done at once.
      const partial = (index === 0 || index === 1) && pass === 1;
      return {
        index,
        status: partial ? 'partial' : 'complete',
        waitSeconds: partial && index === 1 ? 5 : 0,
        counts: { created: 1 },
      };
    });
    await expect(result).resolves.toEqual({ runId: 'r1', status: 'completed' });
    expect(Object.fromEntries(passes)).toEqual({ 0: 2, 1: 2, 2: 1 });
    // Each Map item carries references only, the same on every pass.
    expect(calls.chunk[0]).toMatchObject({
      runId: 'r1',
      connectionId: 'c1',
      attempt: 1,
      generation: 1,
      source: { uri: 'goals.jsonl' },
    });
    expect(calls.finish).toEqual([
      {
        runId: 'r1',
        outcome: 'completed',
        restDeadline: 0,
        executionArn: 'arn:aws:states:us-east-1:000000000000:execution:sync:exec-1',
        executionInput: RUN_INPUT,
      },
    ]);
  });

  it('ends a chunk loop on deferred as on complete, the deadline in every item and in the finish', async () => {
    const passes = new Map<number, number>();
    const deadline = Date.parse('2026-12-06T06:00:00Z');
    const { result, calls } = runLocally((input) => {
      const index = indexOf(input);
      passes.set(index, (passes.get(index) ?? 0) + 1);
      // Chunk 0 out of time once, then deferred; chunks 1 and 2 deferred at once: no pass repeats after.
      const status = index === 0 && passes.get(index) === 1 ? 'partial' : 'deferred';
      return { index, status, waitSeconds: 0, counts: {} };
    }, deadline);
    await expect(result).resolves.toEqual({ runId: 'r1', status: 'completed' });
    expect(Object.fromEntries(passes)).toEqual({ 0: 2, 1: 1, 2: 1 });
    for (const c of calls.chunk) expect(c).toMatchObject({ restDeadline: deadline });
    expect(calls.finish).toHaveLength(1);
    expect(calls.finish[0]).toMatchObject({ restDeadline: deadline, executionInput: RUN_INPUT });
  });

  it('retries a TransientError from a chunk and still completes', async () => {
    let failed = false;
    const { result, calls } = runLocally((input) => {
      if (indexOf(input) === 2 && !failed) {
        failed = true;
        throw new TransientError('HCM answered 503');
      }
      return { index: indexOf(input), status: 'complete', waitSeconds: 0, counts: {} };
    });
    await expect(result).resolves.toMatchObject({ status: 'completed' });
    expect(calls.chunk.filter((c) => indexOf(c) === 2)).toHaveLength(2);
    expect(calls.finish).toHaveLength(1);
  });

  it('routes ReauthRequiredError to MarkNeedsReauth and fails with that error name', async () => {
    const { result, calls } = runLocally((input) => {
      if (indexOf(input) === 1) throw new ReauthRequiredError('c1', 'invalid_grant');
      return { index: indexOf(input), status: 'complete', waitSeconds: 0, counts: {} };
    });
    const error = await result.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ExecutionError);
    expect(((error as ExecutionError).cause as Error).name).toBe(REAUTH_ERROR);
    // Not retried: exactly one call for chunk 1.
    expect(calls.chunk.filter((c) => indexOf(c) === 1)).toHaveLength(1);
    expect(calls.finish).toHaveLength(1);
    expect(calls.finish[0]).toMatchObject({
      runId: 'r1',
      outcome: 'needs_reauth',
      error: { Error: REAUTH_ERROR },
    });
  });

  it('routes any other error to MarkFailed and fails the execution with SyncFailed', async () => {
    const { result, calls } = runLocally(() => {
      const err = new Error('bad chunk');
      err.name = 'ConfigError';
      throw err;
    });
    const error = await result.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(((error as ExecutionError).cause as Error).name).toBe('SyncFailed');
    expect(calls.finish.map((f) => (f as { outcome: string }).outcome)).toEqual(['failed']);
    expect(calls.finish[0]).toMatchObject({ error: { Error: 'ConfigError', Cause: 'bad chunk' } });
  });

  it("a MarkFailed that fails itself still ends in RunFailed with the run's own cause (the status rule finishes later)", async () => {
    const { asl } = renderDefinition({ maxConcurrency: 3 });
    let finishes = 0;
    const error = await new StateMachine(asl as unknown as AslDefinition)
      .run(
        { runId: 'r2', source: { uri: 's3://b/g.jsonl' } },
        {
          overrides: {
            taskResourceLocalHandlers: {
              [STATE_NAMES.plan]: () => {
                const err = new Error("execution input: unknown field 'sourse'");
                err.name = 'ConfigError';
                throw err;
              },
              [STATE_NAMES.markFailed]: () => {
                finishes += 1;
                const err = new Error('checkpoint table unreachable');
                err.name = 'ConfigError';
                throw err;
              },
            },
          },
          context: {
            Execution: { Id: 'arn:aws:states:us-east-1:000000000000:execution:sync:r2', Name: 'r2' },
          } as never,
        },
      )
      .result.catch((e: unknown) => e);
    expect(finishes).toBe(1);
    expect(((error as ExecutionError).cause as Error).name).toBe('SyncFailed');
    expect(((error as ExecutionError).cause as Error).message).toBe(
      "execution input: unknown field 'sourse'",
    );
  });

  it('a console start with only a source: the run id is the execution name, also when planning fails', async () => {
    const { asl } = renderDefinition({ maxConcurrency: 3 });
    const planned: JSONValue[] = [];
    const finished: JSONValue[] = [];
    const machine = new StateMachine(asl as unknown as AslDefinition);
    const run = (input: JSONValue) =>
      machine.run(input, {
        overrides: {
          taskResourceLocalHandlers: {
            [STATE_NAMES.plan]: (event: JSONValue) => {
              planned.push(event);
              const err = new Error('input rejected: s3://b/g.jsonl holds no records');
              err.name = 'InputRejectedError';
              throw err;
            },
            [STATE_NAMES.markFailed]: (event: JSONValue) => {
              finished.push(event);
              return {};
            },
          },
        },
        context: {
          Execution: {
            Id: 'arn:aws:states:us-east-1:000000000000:execution:sync:console-start-1',
            Name: 'console-start-1',
          },
        } as never,
      }).result;
    const error = await run({ source: { uri: 's3://b/g.jsonl' } }).catch((e: unknown) => e);
    expect(((error as ExecutionError).cause as Error).name).toBe('SyncFailed');
    expect(planned[0]).toEqual({
      input: { runId: 'console-start-1', source: { uri: 's3://b/g.jsonl' } },
      // The start time: plan-sync's duration estimate counts the time left from it (issue 24).
      execution: {
        id: 'arn:aws:states:us-east-1:000000000000:execution:sync:console-start-1',
        startTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      },
    });
    expect(finished[0]).toMatchObject({
      runId: 'console-start-1',
      outcome: 'failed',
      error: { Error: 'InputRejectedError' },
    });
    // An explicit run id wins over the execution name.
    await run({ runId: 'nightly-7', source: { uri: 's3://b/g.jsonl' } }).catch(() => undefined);
    expect(planned[1]).toMatchObject({ input: { runId: 'nightly-7' } });
  });
});
