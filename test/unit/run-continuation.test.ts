import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RUN_SK, RunLease, RunStore, runPk } from '#core/checkpoint/index.ts';
import {
  continuationInput,
  continuationName,
  pastRestDeadline,
  restDeadlineOf,
  shouldContinue,
} from '#core/sync/index.ts';
import { SfnExecutionStarter } from '../../lambdas/core/adapters/aws/execution-starter.ts';
import type { EventType } from '../../lambdas/core/ports.ts';
import { createFinishSyncHandler } from '../../lambdas/finish-sync/handler.ts';
import { createPlanSyncHandler, type PlanSyncOutput } from '../../lambdas/plan-sync/handler.ts';
import { createSyncChunkHandler } from '../../lambdas/sync-chunk/handler.ts';
import { startTestDynamo, type TestDynamo } from '../support/dynalite.ts';
import { silentHandlerDeps } from '../support/handler-deps.ts';
import { ArraySource, FakeHcm, goal, TestClock } from './sync-fakes.ts';

/**
 * Issue 24 item 4: a REST run that would not fit in one execution writes until the execution's REST
 * deadline, then continues in a new execution of the same run (docs/hdl.md). Handlers against dynalite,
 * Step Functions' StartExecution through aws-sdk-client-mock.
 */
const SM_ARN = 'arn:aws:states:eu-central-1:111122223333:stateMachine:goal-sync-test-sync';
const HOUR = 3_600_000;
const sfn = mockClient(SFNClient);
let dynamo: TestDynamo;
beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  dynamo = await startTestDynamo();
});
afterEach(() => sfn.reset());
afterAll(async () => {
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  sfn.restore();
  await dynamo.close();
});

const context = (): Context =>
  ({
    functionName: 'test',
    awsRequestId: `req-${Math.random().toString(36).slice(2)}`,
    getRemainingTimeInMillis: () => 600_000,
  }) as unknown as Context;

describe('the REST deadline (pure)', () => {
  it('is the execution start + timeout - reserve; 0 without a timeout', () => {
    const start = Date.parse('2026-12-06T00:00:00Z');
    const s = { requestsPerSecond: 10, executionTimeoutMs: 6 * HOUR, executionStartedAt: start };
    expect(restDeadlineOf({ ...s, now: start + HOUR })).toBe(start + 6 * HOUR - 15 * 60_000);
    expect(restDeadlineOf({ ...s, endReserveMs: 1_000, now: start })).toBe(start + 6 * HOUR - 1_000);
    // A start time "later" than now (clock skew) counts from now.
    expect(restDeadlineOf({ ...s, executionStartedAt: start + 5_000, now: start })).toBe(
      start + 6 * HOUR - 15 * 60_000,
    );
    expect(restDeadlineOf({ requestsPerSecond: 10, now: start })).toBe(0);
    expect(pastRestDeadline(0, start)).toBe(false);
    expect(pastRestDeadline(undefined, start)).toBe(false);
    expect(pastRestDeadline(start, start - 1)).toBe(false);
    expect(pastRestDeadline(start, start)).toBe(true);
  });

  it('continues only with records pending past the deadline, and only after progress', () => {
    const now = 1_000;
    expect(shouldContinue({}, 5, 999, now)).toBe(true);
    expect(shouldContinue({}, 0, 999, now)).toBe(false);
    expect(shouldContinue({}, 5, 1_001, now)).toBe(false);
    expect(shouldContinue({}, 5, 0, now)).toBe(false);
    const handed = { pending: 5, executions: 2, executionName: 'r--2', at: '' };
    expect(shouldContinue({ continuation: handed }, 4, 999, now)).toBe(true);
    // The last execution settled none of what it was handed: no hand-over for ever.
    expect(shouldContinue({ continuation: handed }, 5, 999, now)).toBe(false);
  });

  it('names the continuation after the next attempt, within 80 characters, with the input carried over', () => {
    expect(continuationName('run-1', 2)).toBe('run-1--2');
    const long = 'r'.repeat(80);
    expect(continuationName(long, 12)).toHaveLength(80);
    expect(continuationName(long, 12).endsWith('--12')).toBe(true);
    const run = { runId: 'run-1', connectionId: 'c', source: { uri: 's3://b/k', format: 'jsonl' as const } };
    expect(
      continuationInput(run, { maxInvalid: '10%', ifRunning: 'skip', executionName: 'x', runId: 'old' }),
    ).toEqual({ maxInvalid: '10%', runId: 'run-1', connectionId: 'c', source: run.source, resume: true });
  });
});

function pipeline(source: ArraySource, hcm: FakeHcm, clock: TestClock) {
  const common = { ...silentHandlerDeps(dynamo), clock };
  const published: Array<{ type: EventType; detail: Record<string, unknown> }> = [];
  return {
    published,
    // 0.1 request/s and a 1 h timeout: 3,600 s less the 15 min reserve; 400 goals would not fit.
    plan: createPlanSyncHandler({
      ...common,
      openSource: () => source,
      runBudget: { requestsPerSecond: 0.1, executionTimeoutMs: HOUR },
    }),
    chunk: createSyncChunkHandler({ ...common, openSource: () => source, hcmFor: () => hcm }),
    finish: createFinishSyncHandler({
      ...common,
      events: { publish: async (type, detail) => void published.push({ type, detail }) },
      starter: new SfnExecutionStarter(new SFNClient({}), SM_ARN),
    }),
  };
}

const tasks = (plan: PlanSyncOutput) =>
  (plan.chunks as unknown[]).map((chunk) => ({
    runId: plan.runId,
    connectionId: plan.connectionId,
    source: plan.source,
    attempt: plan.attempt,
    generation: plan.generation,
    restDeadline: plan.restDeadline,
    chunk,
  }));

describe('continuing a run in a new execution (handlers, dynalite)', () => {
  it('writes until the deadline, defers the rest, hands over to <runId>--2, which finishes the run', async () => {
    const source = ArraySource.of(Array.from({ length: 400 }, (_, i) => goal(i)));
    const hcm = new FakeHcm();
    const clock = new TestClock(Date.parse('2026-12-06T00:00:00Z'));
    const p = pipeline(source, hcm, clock);
    const lease = new RunLease(dynamo.doc, dynamo.tables.checkpoints);
    const runs = new RunStore(dynamo.doc, dynamo.tables.checkpoints);
    const executionInput = { runId: 'cont-1', source: { uri: 'g.jsonl' }, maxInvalid: 3, ifRunning: 'skip' };
    const exec1 = 'arn:aws:states:eu-central-1:111122223333:execution:goal-sync-test-sync:cont-1';
    const startTime = new Date(clock.now()).toISOString();
    const plan = (await p.plan(
      {
        input: { ...executionInput, connectionId: 'conn-c', chunkSize: 100 },
        execution: { id: exec1, startTime },
      },
      context(),
    )) as PlanSyncOutput;
    // Not refused any more: it continues. The deadline is the start + 1 h - 15 min.
    expect(plan.writeMode).toBe('rest');
    expect(plan.estimate).toMatchObject({ fits: false, timeLeftSeconds: 2_700 });
    expect(plan.restDeadline).toBe(clock.now() + 45 * 60_000);

    const items = tasks(plan);
    // Two chunks before the deadline, then it passes: the other two defer without a claim or a call.
    for (const t of items.slice(0, 2))
      expect(await p.chunk(t, context())).toMatchObject({ status: 'complete', counts: { created: 100 } });
    clock.advance(46 * 60_000);
    const calls = hcm.goals.length;
    for (const t of items.slice(2))
      expect(await p.chunk(t, context())).toMatchObject({ status: 'deferred', counts: { created: 0 } });
    expect(hcm.goals.length).toBe(calls);
    // A batch of a deferred chunk and nothing partial is deferred as a whole.
    expect(await p.chunk({ Items: items.slice(2), BatchInput: {} }, context())).toMatchObject({
      status: 'deferred',
      indexes: [2, 3],
    });

    sfn.on(StartExecutionCommand).resolves({ executionArn: `${exec1}--2` });
    const finish = {
      runId: 'cont-1',
      outcome: 'completed',
      restDeadline: plan.restDeadline,
      executionArn: exec1,
      executionInput,
    };
    const out = await p.finish(finish, context());
    expect(out).toMatchObject({
      status: 'continuing',
      changed: true,
      continuation: { executionName: 'cont-1--2', started: true, pending: 200 },
    });
    expect(p.published.map((e) => e.type)).toEqual(['sync.continued']);
    expect(p.published[0]!.detail).toMatchObject({
      pending: 200,
      executions: 2,
      executionName: 'cont-1--2',
    });
    // The lease is free before the continuation starts; the run says continuing, not terminal.
    expect((await lease.get('conn-c'))?.runId).toBeUndefined();
    const run = await runs.getRun('cont-1');
    expect(run).toMatchObject({ status: 'continuing', continuation: { pending: 200, executions: 2 } });
    expect(run?.finishedAt).toBeUndefined();
    const started = sfn.commandCalls(StartExecutionCommand);
    expect(started).toHaveLength(1);
    expect(started[0]!.args[0].input).toMatchObject({ stateMachineArn: SM_ARN, name: 'cont-1--2' });
    const input = JSON.parse(started[0]!.args[0].input.input ?? '{}') as Record<string, unknown>;
    // The pinned source, resume, the execution's own settings; never ifRunning skip.
    expect(input).toEqual({
      runId: 'cont-1',
      connectionId: 'conn-c',
      source: run!.source,
      maxInvalid: 3,
      resume: true,
    });

    // A retried finish of the same execution: the same name (already exists), no second event.
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('exists'), { name: 'ExecutionAlreadyExists' }));
    expect(await p.finish(finish, context())).toMatchObject({
      status: 'continuing',
      changed: false,
      continuation: { executionName: 'cont-1--2', started: false },
    });
    // The status rule's report of the old execution's end: not the run's failure.
    const ended = await p.finish(
      {
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: {
          executionArn: exec1,
          name: 'cont-1',
          status: 'TIMED_OUT',
          input: JSON.stringify(executionInput),
        },
      },
      context(),
    );
    expect(ended).toMatchObject({ stale: true, status: 'continuing', changed: false });
    // ...which makes sure the hand-over has its execution (same name: already there, as here).
    const names = () => sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);
    expect(names()).toEqual(['cont-1--2', 'cont-1--2', 'cont-1--2']);
    // A person's abort of it is theirs: nothing is started for it.
    await p.finish(
      {
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: {
          executionArn: exec1,
          name: 'cont-1',
          status: 'ABORTED',
          input: JSON.stringify(executionInput),
        },
      },
      context(),
    );
    expect(names()).toHaveLength(3);
    expect(p.published.map((e) => e.type)).toEqual(['sync.continued']);

    // The continuation: resumes from the ledger, counts what is left, finishes the run.
    const exec2 = `${exec1}--2`;
    const plan2 = (await p.plan(
      { input, execution: { id: exec2, startTime: new Date(clock.now()).toISOString() } },
      context(),
    )) as PlanSyncOutput;
    expect(plan2).toMatchObject({
      resumed: true,
      attempt: 2,
      estimate: { recordsToWrite: 200, fits: true },
    });
    for (const t of tasks(plan2)) {
      // A pass may stop early (its own limits); the Map loops a partial chunk, as here.
      while ((await p.chunk(t, context())).status === 'partial');
    }
    const done = await p.finish(
      { ...finish, restDeadline: plan2.restDeadline, executionArn: exec2, executionInput: input },
      context(),
    );
    expect(done).toMatchObject({ status: 'completed', goals: { created: 400, unsettled: 0 } });
    expect(p.published.map((e) => e.type)).toEqual(['sync.continued', 'sync.completed']);
    expect(hcm.goals).toHaveLength(400);
    // A late retry of the first execution's finish is stale now (a newer execution planned).
    expect(await p.finish(finish, context())).toMatchObject({ stale: true, status: 'completed' });
  });

  it('DynamoDB fails after `continuing`, before the lease release: a retried finish completes the hand-over; with every retry failing, the status rule starts the continuation and it takes the run', async () => {
    const hcm = new FakeHcm();
    const clock = new TestClock(Date.parse('2026-12-06T00:00:00Z'));
    const lease = new RunLease(dynamo.doc, dynamo.tables.checkpoints);
    const runs = new RunStore(dynamo.doc, dynamo.tables.checkpoints);
    // The one write that fails: the run lease's release (its REMOVE), once per finish through `flaky`.
    const isRelease = (c: unknown) =>
      c instanceof UpdateCommand && c.input.UpdateExpression?.startsWith('REMOVE runId') === true;
    let releaseFailures = 0;
    const failingDoc = new Proxy(dynamo.doc, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return (command: unknown) => {
          if (isRelease(command)) {
            releaseFailures++;
            return Promise.reject(
              Object.assign(new Error('Service Unavailable'), {
                name: 'ServiceUnavailable',
                $metadata: { httpStatusCode: 503 },
              }),
            );
          }
          return (target.send as (c: unknown) => Promise<unknown>)(command);
        };
      },
    });
    for (const [v, variant] of (['retried', 'every-retry-failed'] as const).entries()) {
      // Eight goals of people the fake pod assigns (P0200 on), other goals per variant.
      const source = ArraySource.of(Array.from({ length: 8 }, (_, i) => goal(600 + 10 * v + i)));
      const p = pipeline(source, hcm, clock);
      const flaky = createFinishSyncHandler({
        ...silentHandlerDeps(dynamo),
        doc: failingDoc,
        clock,
        events: { publish: async (type, detail) => void p.published.push({ type, detail }) },
        starter: new SfnExecutionStarter(new SFNClient({}), SM_ARN),
      });
      const runId = `cont-3-${variant}`;
      const connectionId = `conn-c3-${variant}`;
      const exec1 = `arn:aws:states:eu-central-1:111122223333:execution:goal-sync-test-sync:${runId}`;
      const executionInput = { runId, connectionId, source: { uri: 'g.jsonl' }, chunkSize: 2 };
      const plan = (await p.plan(
        { input: executionInput, execution: { id: exec1, startTime: new Date(clock.now()).toISOString() } },
        context(),
      )) as PlanSyncOutput;
      const items = tasks(plan);
      expect(await p.chunk(items[0]!, context())).toMatchObject({
        status: 'complete',
        counts: { created: 2 },
      });
      clock.advance(46 * 60_000);
      for (const t of items.slice(1))
        expect(await p.chunk(t, context())).toMatchObject({ status: 'deferred' });
      const events = p.published.length;
      sfn.reset();
      sfn.on(StartExecutionCommand).resolves({ executionArn: `${exec1}--2` });
      const finish = {
        runId,
        outcome: 'completed',
        restDeadline: plan.restDeadline,
        executionArn: exec1,
        executionInput,
      };

      // The failing finish: `continuing` and its event are written, the lease is not released, nothing started.
      const failures = releaseFailures;
      await expect(flaky(finish, context())).rejects.toThrow();
      expect(releaseFailures).toBe(failures + 1);
      expect((await runs.getRun(runId))?.status).toBe('continuing');
      expect((await lease.get(connectionId))?.runId).toBe(runId);
      expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
      expect(p.published.slice(events).map((e) => e.type)).toEqual(['sync.continued']);

      if (variant === 'retried') {
        // Step Functions retries the task: the hand-over completes, with no second event.
        expect(await p.finish(finish, context())).toMatchObject({
          status: 'continuing',
          changed: false,
          continuation: { executionName: `${runId}--2`, started: true, pending: 6 },
        });
        expect((await lease.get(connectionId))?.runId).toBeUndefined();
      } else {
        // Every retry failed too: the execution fails, and the status rule starts the continuation.
        await p.finish(
          {
            source: 'aws.states',
            'detail-type': 'Step Functions Execution Status Change',
            detail: {
              executionArn: exec1,
              name: runId,
              status: 'FAILED',
              input: JSON.stringify(executionInput),
            },
          },
          context(),
        );
        // The lease still names this run (its release never happened): the continuation takes it anyway.
        expect((await lease.get(connectionId))?.runId).toBe(runId);
      }
      const started = sfn.commandCalls(StartExecutionCommand);
      expect(started.map((c) => c.args[0].input.name)).toEqual([`${runId}--2`]);
      expect(p.published.slice(events).map((e) => e.type)).toEqual(['sync.continued']);

      // The continuation plans (resuming from the ledger), writes what is left and completes the run.
      const input = JSON.parse(started[0]!.args[0].input.input ?? '{}') as Record<string, unknown>;
      const plan2 = (await p.plan(
        { input, execution: { id: `${exec1}--2`, startTime: new Date(clock.now()).toISOString() } },
        context(),
      )) as PlanSyncOutput;
      expect(plan2).toMatchObject({ resumed: true, attempt: 2 });
      for (const t of tasks(plan2)) while ((await p.chunk(t, context())).status === 'partial');
      const done = await p.finish(
        { ...finish, restDeadline: plan2.restDeadline, executionArn: `${exec1}--2`, executionInput: input },
        context(),
      );
      expect(done).toMatchObject({ status: 'completed', goals: { created: 8, unsettled: 0 } });
      expect((await lease.get(connectionId))?.runId).toBeUndefined();
    }
    expect(hcm.goals).toHaveLength(16);
  });

  it('before the deadline, or without progress since the last hand-over, the run ends as before', async () => {
    const source = ArraySource.of(Array.from({ length: 4 }, (_, i) => goal(9_000 + i)));
    const clock = new TestClock(Date.parse('2026-12-06T00:00:00Z'));
    const p = pipeline(source, new FakeHcm(), clock);
    const runs = new RunStore(dynamo.doc, dynamo.tables.checkpoints);
    const plan = (await p.plan(
      { runId: 'cont-2', connectionId: 'conn-c2', source: { uri: 'g.jsonl' }, chunkSize: 2 },
      context(),
    )) as PlanSyncOutput;
    // Nothing ran; the deadline not yet passed: the run ends with its records unsettled.
    const early = await p.finish(
      { runId: 'cont-2', outcome: 'completed', restDeadline: clock.now() + 1_000 },
      context(),
    );
    expect(early).toMatchObject({ status: 'completed_with_failures', goals: { unsettled: 4 } });
    expect(plan.restDeadline).toBeGreaterThan(0);

    // A continuation that settled none of the 4 records it was handed is not handed on again.
    const input = { runId: 'cont-2', connectionId: 'conn-c2', source: { uri: 'g.jsonl' }, resume: true };
    await p.plan(input, context());
    await dynamo.doc.send(
      new UpdateCommand({
        TableName: dynamo.tables.checkpoints,
        Key: { pk: runPk('cont-2'), sk: RUN_SK },
        UpdateExpression: 'SET continuation = :c',
        ExpressionAttributeValues: {
          ':c': { pending: 4, executions: 2, executionName: 'cont-2--2', at: '' },
        },
      }),
    );
    const stuck = await p.finish({ runId: 'cont-2', outcome: 'completed', restDeadline: 1 }, context());
    expect(stuck).toMatchObject({ status: 'completed_with_failures', goals: { unsettled: 4 } });
    expect((await runs.getRun('cont-2'))?.status).toBe('completed_with_failures');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });
});
