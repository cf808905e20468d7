import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReauthRequiredError } from '../../lambdas/core/errors.ts';
import type { EventType } from '../../lambdas/core/ports.ts';
import { createFinishSyncHandler } from '../../lambdas/finish-sync/handler.ts';
import { createPlanSyncHandler } from '../../lambdas/plan-sync/handler.ts';
import { createSyncChunkHandler } from '../../lambdas/sync-chunk/handler.ts';
import { startTestDynamo, type TestDynamo } from '../support/dynalite.ts';
import { silentHandlerDeps } from '../support/handler-deps.ts';
import { ArraySource, FakeHcm, goal } from './sync-fakes.ts';

let dynamo: TestDynamo;
beforeAll(async () => {
  // Keep EMF lines out of the test output; the metric calls themselves still run.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  await dynamo.close();
});

function context(remainingMs = 600_000): Context {
  return {
    functionName: 'test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:test',
    memoryLimitInMB: '256',
    awsRequestId: `req-${Math.random().toString(36).slice(2)}`,
    logGroupName: 'g',
    logStreamName: 's',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function pipeline(source: ArraySource, hcm: FakeHcm) {
  const common = silentHandlerDeps(dynamo);
  const published: EventType[] = [];
  return {
    published,
    plan: createPlanSyncHandler({ ...common, openSource: () => source, options: { maxInlineRefBytes: 100 } }),
    chunk: createSyncChunkHandler({ ...common, openSource: () => source, hcmFor: () => hcm }),
    finish: createFinishSyncHandler({
      ...common,
      events: { publish: async (type) => void published.push(type) },
    }),
  };
}

describe('pipeline handlers', () => {
  it('plan -> chunks (index list read from DynamoDB) -> finish, JSON round-tripped like Lambda', async () => {
    const source = ArraySource.of(
      Array.from({ length: 7 }, (_, i) => goal(i)),
      [3],
    );
    const hcm = new FakeHcm();
    const p = pipeline(source, hcm);
    const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
    const plan = json(
      await p.plan(
        // One invalid record in eight: over the 5% default, so the limit is named.
        {
          runId: 'h-1',
          connectionId: 'conn-h',
          source: { uri: 'goals.jsonl' },
          chunkSize: 3,
          maxInvalid: '20%',
        },
        context(),
      ),
    );
    // 100-byte inline budget forces the index list: items are numbers, refs live in DynamoDB.
    expect(plan).toMatchObject({
      chunkMode: 'indexed',
      chunkCount: 3,
      chunks: [0, 1, 2],
      source: { format: 'jsonl' },
    });
    for (const index of plan.chunks as number[]) {
      const item = {
        runId: plan.runId,
        connectionId: plan.connectionId,
        source: plan.source,
        attempt: plan.attempt,
        chunk: index,
      };
      const result = json(await p.chunk(item, context()));
      expect(result).toMatchObject({ index, status: 'complete', waitSeconds: 0 });
    }
    const finish = await p.finish({ runId: 'h-1', outcome: 'completed' }, context());
    expect(finish).toMatchObject({
      status: 'completed',
      aggregation: 'chunks',
      goals: { total: 8, created: 7, invalid: 1 },
    });
    expect(p.published).toEqual(['sync.completed']);
    expect(hcm.goals).toHaveLength(7);
  });

  it('sync-chunk takes an ItemBatcher batch and reports the worst status', async () => {
    const source = ArraySource.of(Array.from({ length: 4 }, (_, i) => goal(100 + i)));
    const p = pipeline(source, new FakeHcm());
    const plan = await p.plan(
      { runId: 'h-2', connectionId: 'conn-h2', source: { uri: 'g.jsonl' }, chunkSize: 2 },
      context(),
    );
    const items = (plan.chunks as number[]).map((chunk) => ({
      runId: plan.runId,
      connectionId: plan.connectionId,
      source: plan.source,
      attempt: plan.attempt,
      chunk,
    }));
    const result = await p.chunk({ Items: items, BatchInput: {} }, context());
    expect(result).toMatchObject({ index: 0, indexes: [0, 1], status: 'complete', counts: { created: 4 } });
  });

  it('a chunk task of a superseded take of the run lease stops with RunLeaseLostError and writes nothing', async () => {
    const source = ArraySource.of(Array.from({ length: 2 }, (_, i) => goal(300 + i)));
    const hcm = new FakeHcm();
    const p = pipeline(source, hcm);
    const input = { runId: 'h-4', connectionId: 'conn-h4', source: { uri: 'g.jsonl' } };
    const first = await p.plan(input, context());
    // The same run planned again (a second execution of it): a new generation, the first one's tasks are stale.
    const second = await p.plan(input, context());
    expect([first.generation, second.generation]).toEqual([1, 2]);
    const task = (plan: typeof first) => ({
      runId: plan.runId,
      connectionId: plan.connectionId,
      source: plan.source,
      attempt: plan.attempt,
      generation: plan.generation,
      chunk: (plan.chunks as unknown[])[0],
    });
    await expect(p.chunk(task(first), context())).rejects.toMatchObject({
      name: 'RunLeaseLostError',
      message: expect.stringMatching(/generation 1 superseded by 2/),
    });
    expect(hcm.goals).toHaveLength(0);
    expect(await p.chunk(task(second), context())).toMatchObject({
      status: 'complete',
      counts: { created: 2 },
    });
  });

  it('ReauthRequiredError leaves the chunk handler with its name; bad input is a ConfigError', async () => {
    const source = ArraySource.of([goal(200)]);
    const hcm = new FakeHcm();
    hcm.beforeCreate = () => {
      throw new ReauthRequiredError('conn-h3', 'invalid_grant');
    };
    const p = pipeline(source, hcm);
    const plan = await p.plan(
      { runId: 'h-3', connectionId: 'conn-h3', source: { uri: 'g.jsonl' } },
      context(),
    );
    const item = {
      runId: 'h-3',
      connectionId: 'conn-h3',
      source: plan.source,
      attempt: 1,
      chunk: plan.chunks[0],
    };
    await expect(p.chunk(item, context())).rejects.toMatchObject({ name: 'ReauthRequiredError' });
    await expect(p.chunk({ runId: 'h-3', chunk: 0 }, context())).rejects.toMatchObject({
      name: 'ConfigError',
    });
    await expect(
      p.plan({ runId: 'bad id!', connectionId: 'c', source: { uri: 'g.jsonl' } }, context()),
    ).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining('runId'),
    });
    const marked = await p.finish(
      { runId: 'h-3', outcome: 'needs_reauth', error: { Error: 'ReauthRequiredError' } },
      context(),
    );
    expect(marked.status).toBe('needs_reauth');
    expect(p.published).toEqual(['sync.failed']);
  });
});
