import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '#core/checkpoint/index.ts';
import { HcmGoalsClient } from '#core/hcm/index.ts';
import { openGoalSource } from '#core/source/index.ts';
import { REAUTH_ERROR, renderDefinition, STATE_NAMES } from '../../infra/state-machine.ts';
import type { EventType } from '../../lambdas/core/ports.ts';
import { createFinishSyncHandler } from '../../lambdas/finish-sync/handler.ts';
import { createPlanSyncHandler } from '../../lambdas/plan-sync/handler.ts';
import { createSyncChunkHandler } from '../../lambdas/sync-chunk/handler.ts';
import { localWriteTiming } from '../../local/runner/lambdas.ts';
import { writeSampleFile } from '../../local/sample/generate.ts';
import { CONNECTION_ID, lambdaContext, type PipelinePeers, startPipelinePeers } from './pipeline-harness.ts';

/**
 * The rendered ASL executed by aws-local-stepfunctions with the real handlers as its Task states,
 * against the real peers: the definition and the handlers agree on every payload shape.
 */
type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };
type AslDefinition = ConstructorParameters<typeof StateMachine>[0];
type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

let peers: PipelinePeers;
let sourcePath: string;
let invalid = 0;

beforeAll(async () => {
  peers = await startPipelinePeers({ tokenTtlSeconds: 3, hcmFaults: { rateLimitPerSecond: 400 } });
  sourcePath = join(peers.dir, 'sfn.jsonl');
  invalid = (await writeSampleFile(sourcePath, { goals: 300, invalidRate: 0.03, seed: 21 })).invalid;
});

afterAll(async () => {
  await peers?.close();
});

function machine() {
  const logger = new Logger({ serviceName: 'pipeline-sfn', logLevel: 'SILENT' });
  const metrics = () => new Metrics({ namespace: 'Test', serviceName: 'pipeline-sfn', logger });
  const common = { doc: peers.dynamo.doc, checkpointTable: peers.dynamo.tables.checkpoints, logger };
  const openSource = (ref: { uri: string; format: 'jsonl' | 'csv' }) => openGoalSource(ref);
  const hcm = new HcmGoalsClient({
    baseUrl: peers.hcm.url,
    connectionId: CONNECTION_ID,
    tokens: peers.broker.tokenProvider(),
  });
  const events: EventType[] = [];
  // Inline budget of 1 KiB: the plan goes out as an index list, the workers read their ranges.
  const plan = createPlanSyncHandler({
    ...common,
    metrics: metrics(),
    openSource,
    options: { maxInlineRefBytes: 1024 },
  });
  const chunk = createSyncChunkHandler({
    ...common,
    metrics: metrics(),
    openSource,
    hcmFor: () => hcm,
    // The embedded default's timing: unclear writes wait a second, not AWS's minute.
    engine: { timing: localWriteTiming() },
  });
  const finish = createFinishSyncHandler({
    ...common,
    metrics: metrics(),
    events: { publish: async (type) => void events.push(type) },
  });
  // What Lambda does: JSON in, JSON out, the error's name as its type.
  const lambda = (handler: Handler) => async (input: JSONValue) =>
    JSON.parse(
      JSON.stringify((await handler(JSON.parse(JSON.stringify(input)), lambdaContext())) ?? null),
    ) as JSONValue;
  const { asl } = renderDefinition({ maxConcurrency: 3 });
  const run = (runId: string, uri = sourcePath) =>
    new StateMachine(asl as unknown as AslDefinition).run(
      { runId, connectionId: CONNECTION_ID, source: { uri, format: 'jsonl' }, chunkSize: 40 },
      {
        overrides: {
          taskResourceLocalHandlers: {
            [STATE_NAMES.plan]: lambda(plan),
            [STATE_NAMES.chunk]: lambda(chunk),
            [STATE_NAMES.finish]: lambda(finish),
            [STATE_NAMES.markReauth]: lambda(finish),
            [STATE_NAMES.markFailed]: lambda(finish),
          },
          retryIntervalOverrides: { [STATE_NAMES.chunk]: 0 },
          waitTimeOverrides: { [STATE_NAMES.chunkWait]: 100 },
        },
        // Step Functions always names an execution; the definition's first state reads the name.
        context: {
          Execution: { Id: `arn:aws:states:us-east-1:000000000000:execution:sync:${runId}`, Name: runId },
        } as never,
      },
    ).result;
  return { run, events };
}

describe('state machine with the real handlers (aws-local-stepfunctions)', () => {
  it('runs plan -> Map -> finish to completion', async () => {
    const m = machine();
    const out = (await m.run('sfn-ok')) as { status: string; goals: Record<string, number> };
    expect(out).toMatchObject({
      status: 'completed',
      goals: { total: 300, created: 300 - invalid, invalid, failed: 0, unsettled: 0 },
    });
    expect(m.events).toEqual(['sync.completed']);
    expect(peers.hcm.stats()).toMatchObject({ goalsStored: 300 - invalid, duplicates: 0 });
  });

  it('a revoked grant ends in MarkNeedsReauth: run needs_reauth, execution fails with ReauthRequiredError', async () => {
    // Revised goals: every one needs an HCM write, hence a token.
    const revised = join(peers.dir, 'sfn-revised.jsonl');
    await writeSampleFile(revised, { goals: 300, seed: 21, changes: { rate: 1 } });
    await peers.idp.revokeClientGrants(peers.idp.clients[0]!.clientId);
    // Let the cached access token go stale, so the next use needs a refresh that the IdP refuses.
    await new Promise((r) => setTimeout(r, 3_000));
    const m = machine();
    const error = await m.run('sfn-reauth', revised).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ExecutionError);
    expect(((error as ExecutionError).cause as Error).name).toBe(REAUTH_ERROR);
    const run = await new RunStore(peers.dynamo.doc, peers.dynamo.tables.checkpoints).getRun('sfn-reauth');
    expect(run).toMatchObject({ status: 'needs_reauth', lastError: { error: REAUTH_ERROR } });
    expect(m.events).toEqual(['sync.failed']);
  });
});
