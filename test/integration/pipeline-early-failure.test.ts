import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RunStore } from '#core/checkpoint/index.ts';
import { openAwsGoalSource } from '#core/source/index.ts';
import { renderDefinition, STATE_NAMES } from '../../infra/state-machine.ts';
import type { EventType } from '../../lambdas/core/ports.ts';
import { createFinishSyncHandler } from '../../lambdas/finish-sync/handler.ts';
import { createPlanSyncHandler } from '../../lambdas/plan-sync/handler.ts';
import { startTestDynamo, type TestDynamo } from '../support/dynalite.ts';
import { lambdaContext } from './pipeline-harness.ts';

/**
 * A plan that fails before the run item exists (issue 27): the rendered ASL run by
 * aws-local-stepfunctions with the real plan-sync (the AWS source policy, S3 mocked: S3 has no local
 * peer) and the real finish-sync over dynalite. Each failure ends the execution with its own cause and
 * publishes one sync.failed; the status rule's later finish of the same execution changes nothing.
 */
type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };
type AslDefinition = ConstructorParameters<typeof StateMachine>[0];
type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

const BUCKET = 'goal-sync-source';
const s3Mock = mockClient(S3Client);
let dynamo: TestDynamo;

beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  s3Mock.restore();
  await dynamo?.close();
});
beforeEach(() => {
  s3Mock.reset();
  s3Mock
    .on(HeadObjectCommand)
    .rejects(Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));
});

interface Published {
  type: EventType;
  detail: Record<string, unknown>;
}

function machine() {
  const logger = new Logger({ serviceName: 'early-failure', logLevel: 'SILENT' });
  const metrics = () => new Metrics({ namespace: 'Test', serviceName: 'early-failure', logger });
  const common = { doc: dynamo.doc, checkpointTable: dynamo.tables.checkpoints, logger };
  const s3 = new S3Client({ region: 'us-east-1' });
  const events: Published[] = [];
  const plan = createPlanSyncHandler({
    ...common,
    metrics: metrics(),
    openSource: (ref) => openAwsGoalSource(ref, { s3, sourceBucket: BUCKET }),
    defaultConnectionId: 'hcm-default',
  });
  const finish = createFinishSyncHandler({
    ...common,
    metrics: metrics(),
    events: { publish: async (type, detail) => void events.push({ type, detail }) },
  });
  const lambda = (handler: Handler) => async (input: JSONValue) =>
    JSON.parse(
      JSON.stringify((await handler(JSON.parse(JSON.stringify(input)), lambdaContext())) ?? null),
    ) as JSONValue;
  const { asl } = renderDefinition({ maxConcurrency: 2 });
  const arn = (name: string) => `arn:aws:states:us-east-1:000000000000:execution:sync:${name}`;
  const run = (name: string, input: JSONValue) =>
    new StateMachine(asl as unknown as AslDefinition).run(input, {
      overrides: {
        taskResourceLocalHandlers: {
          [STATE_NAMES.plan]: lambda(plan),
          [STATE_NAMES.finish]: lambda(finish),
          [STATE_NAMES.markReauth]: lambda(finish),
          [STATE_NAMES.markFailed]: lambda(finish),
        },
      },
      context: { Execution: { Id: arn(name), Name: name } } as never,
    }).result;
  /** What the ExecutionEndedRule hands finish-sync once the execution has FAILED. */
  const statusRule = (name: string, input: JSONValue, ended: { name: string; message: string }) =>
    finish(
      {
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: {
          executionArn: arn(name),
          name,
          status: 'FAILED',
          input: JSON.stringify(input),
          error: ended.name,
          cause: ended.message,
        },
      },
      lambdaContext(),
    );
  return { run, statusRule, events };
}

const failure = async (p: Promise<unknown>): Promise<ExecutionError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ExecutionError);
  return err as ExecutionError;
};

describe('a plan that fails before the run exists still ends in sync.failed with its own reason', () => {
  it.each([
    [
      'a misspelled field',
      'early-sourse',
      { sourse: { uri: `s3://${BUCKET}/goals.jsonl` } },
      /execution input: unknown field 'sourse' \(did you mean source\?\)/,
    ],
    [
      'a source in another bucket',
      'early-bucket',
      { source: { uri: 's3://someone-elses-bucket/goals.jsonl' } },
      /must be in the stack's source bucket goal-sync-source, not someone-elses-bucket/,
    ],
    [
      'an export not written yet',
      'early-missing',
      { source: { uri: `s3://${BUCKET}/nightly/goals.jsonl` } },
      /nightly\/goals\.jsonl/,
    ],
  ] as const)('%s', async (_what, name, input, reason) => {
    const m = machine();
    const error = await failure(m.run(name, input as unknown as JSONValue));
    const cause = error.cause as Error;
    expect(cause.name).toBe('SyncFailed');
    expect(cause.message).toMatch(reason);
    expect(cause.message).not.toMatch(/does not exist/);

    expect(m.events).toHaveLength(1);
    expect(m.events[0]).toMatchObject({
      type: 'sync.failed',
      detail: { runId: name, status: 'failed', error: 'ConfigError' },
    });
    expect(String(m.events[0]!.detail.cause)).toMatch(reason);

    const runs = new RunStore(dynamo.doc, dynamo.tables.checkpoints);
    expect(await runs.getRun(name)).toBeUndefined();
    expect(await runs.getReport(name)).toMatchObject({
      runId: name,
      status: 'failed',
      planned: false,
      lastError: { error: 'ConfigError' },
    });

    // The status rule's invocation for the same FAILED execution: no error, no second event.
    const again = await m.statusRule(name, input as unknown as JSONValue, cause);
    expect(again).toMatchObject({ runId: name, status: 'failed', changed: false });
    expect(m.events).toHaveLength(1);
  });

  it('a malformed run id: MarkFailed cannot finish it, the status rule does under the execution name (one event)', async () => {
    const m = machine();
    const name = 'early-bad-runid';
    const input = { runId: 'not a run id!', source: { uri: `s3://${BUCKET}/goals.jsonl` } };
    const error = await failure(m.run(name, input));
    const cause = error.cause as Error;
    expect(cause.name).toBe('SyncFailed');
    expect(cause.message).toMatch(/runId: must be 1-128 characters/);
    expect(m.events).toHaveLength(0);
    const out = await m.statusRule(name, input, cause);
    expect(out).toMatchObject({ runId: name, status: 'failed', changed: true });
    expect(m.events).toHaveLength(1);
    expect(m.events[0]!.detail).toMatchObject({ runId: name, error: 'SyncFailed' });
    expect(String(m.events[0]!.detail.cause)).toMatch(/runId: must be 1-128 characters/);
  });

  it('the status rule alone finishes an execution whose MarkFailed never ran (one event)', async () => {
    const m = machine();
    const name = 'early-aborted';
    const input = { source: { uri: `s3://${BUCKET}/goals.jsonl` } };
    const aborted = { name: 'ExecutionAborted', message: 'aborted by hand during PlanSync' };
    const out = await m.statusRule(name, input, aborted);
    expect(out).toMatchObject({ runId: name, status: 'failed', changed: true });
    expect(m.events.map((e) => e.type)).toEqual(['sync.failed']);
    await m.statusRule(name, input, aborted);
    expect(m.events).toHaveLength(1);
  });
});
