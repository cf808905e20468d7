import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { HcmGoals } from '#core/hcm/index.ts';
import { HcmGoalsClient } from '#core/hcm/index.ts';
import { openGoalSource } from '#core/source/index.ts';
import type { ChunkTask, FinishOutput, PlanOutput } from '#core/sync/index.ts';
import type { EventType } from '../../lambdas/core/ports.ts';
import { createFinishSyncHandler } from '../../lambdas/finish-sync/handler.ts';
import { createPlanSyncHandler } from '../../lambdas/plan-sync/handler.ts';
import { createSyncChunkHandler, type SyncChunkResult } from '../../lambdas/sync-chunk/handler.ts';
import { createLocalTokenBroker, type LocalTokenBroker } from '../../local/adapters/in-process-broker.ts';
import { HCM_AUDIENCE } from '../../local/constants.ts';
import { type HcmFaults, type HcmSim, startHcmSim } from '../../local/hcm/index.ts';
import { type IdpSim, startIdp } from '../../local/idp/index.ts';
import { localWriteTiming } from '../../local/runner/lambdas.ts';
import { startTestDynamo, type TestDynamo } from '../support/dynalite.ts';

// EMF lines per invocation would drown the output; the metric calls still run.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

export const CONNECTION_ID = 'hcm-it';

/**
 * The real peers of the pipeline, all on 127.0.0.1 with random ports: dynalite, the IdP, the HCM
 * simulator (verifying the IdP's tokens) and the token broker handler in process over the same dynalite.
 */
export interface PipelinePeers {
  dynamo: TestDynamo;
  idp: IdpSim;
  hcm: HcmSim;
  broker: LocalTokenBroker;
  dir: string;
  close(): Promise<void>;
}

export async function startPipelinePeers(o: {
  tokenTtlSeconds: number;
  hcmFaults?: Partial<HcmFaults>;
  /** The simulator's seeded workers (default 20,000). */
  hcmPersons?: number;
}): Promise<PipelinePeers> {
  const dynamo = await startTestDynamo();
  const idp = await startIdp({
    accessTokenTtlSeconds: o.tokenTtlSeconds,
    rateLimitPerSecond: 0,
    rateLimitPerMinute: 0,
  });
  const hcm = await startHcmSim({
    jwksUrl: idp.jwksUrl,
    issuer: idp.issuer,
    faults: o.hcmFaults,
    ...(o.hcmPersons !== undefined ? { persons: o.hcmPersons } : {}),
  });
  const dir = await mkdtemp(join(tmpdir(), 'pipeline-it-'));
  const silent = new Logger({ serviceName: 'token-broker', logLevel: 'SILENT' });
  const broker = await createLocalTokenBroker({
    doc: dynamo.doc,
    tableName: dynamo.tables.connections,
    stateDir: dir,
    logger: silent,
    metrics: new Metrics({ namespace: 'Test', serviceName: 'token-broker', logger: silent }),
    options: { pollStartMs: 20, pollCapMs: 200 },
  });
  const client = idp.clients[0]!;
  const { refreshToken } = await idp.issueRefreshToken({ clientId: client.clientId });
  await broker.secrets.putSecret(`secret/${CONNECTION_ID}`, {
    tokenUrl: idp.tokenUrl,
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    scope: HCM_AUDIENCE,
    bootstrapRefreshToken: refreshToken,
  });
  await broker.transport.call({
    action: 'connect',
    connectionId: CONNECTION_ID,
    secretId: `secret/${CONNECTION_ID}`,
    grant: 'refresh_token',
  });
  return {
    dynamo,
    idp,
    hcm,
    broker,
    dir,
    async close() {
      broker.close();
      await hcm.close();
      await idp.close();
      await dynamo.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function lambdaContext(remainingMs = 600_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    functionName: 'pipeline-it',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:pipeline-it',
    memoryLimitInMB: '512',
    awsRequestId: `req-${Math.random().toString(36).slice(2)}`,
    logGroupName: 'g',
    logStreamName: 's',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

export interface RunOptions {
  runId: string;
  sourcePath: string;
  chunkSize: number;
  /** Map MaxConcurrency: chunk "Lambdas" in parallel, each with its own HCM client and token cache (as containers). */
  concurrency: number;
  /** Wraps each lane's HCM client (fault injection: a crashing worker). */
  wrapHcm?: (hcm: HcmGoals) => HcmGoals;
}

export interface RunResult {
  plan: PlanOutput;
  finish?: FinishOutput;
  /** First error a chunk lane threw (the run was then stopped without finish, like a killed process). */
  crashed?: unknown;
  passes: number;
  events: EventType[];
  brokerRequests: number;
  wallMs: number;
}

/**
 * Drives the handlers the way the state machine does: plan -> Map over chunks with a pool of
 * `concurrency` lanes (a lane repeats a chunk while its pass is partial) -> finish.
 */
export async function runPipeline(peers: PipelinePeers, o: RunOptions): Promise<RunResult> {
  const t0 = Date.now();
  const logger = new Logger({ serviceName: 'pipeline-it', logLevel: 'SILENT' });
  // Metrics with a silent logger: "no metrics to publish" warnings would flood the output.
  const metrics = () => new Metrics({ namespace: 'Test', serviceName: 'pipeline-it', logger });
  const common = { doc: peers.dynamo.doc, checkpointTable: peers.dynamo.tables.checkpoints, logger };
  const openSource = (ref: { uri: string; format: 'jsonl' | 'csv' }) => openGoalSource(ref);
  const events: EventType[] = [];
  const plan = createPlanSyncHandler({ ...common, metrics: metrics(), openSource });
  const finish = createFinishSyncHandler({
    ...common,
    metrics: metrics(),
    events: { publish: async (type) => void events.push(type) },
  });

  const planned = json(
    await plan(
      {
        runId: o.runId,
        connectionId: CONNECTION_ID,
        source: { uri: o.sourcePath },
        chunkSize: o.chunkSize,
        // The harness is about faults, not acceptance (source-acceptance, plan-sync-rejection): small
        // samples with invalid records on purpose must not trip the 5% default.
        maxInvalid: '100%',
      },
      lambdaContext(),
    ),
  );
  const items: ChunkTask[] = (planned.chunks as PlanOutput['chunks']).map((chunk) => ({
    runId: planned.runId,
    connectionId: planned.connectionId,
    source: planned.source,
    attempt: planned.attempt,
    chunk,
  }));

  let next = 0;
  let passes = 0;
  let crashed: unknown;
  let brokerRequests = 0;
  const lane = async () => {
    const tokens = peers.broker.tokenProvider();
    const client = new HcmGoalsClient({ baseUrl: peers.hcm.url, connectionId: CONNECTION_ID, tokens });
    const hcm = o.wrapHcm ? o.wrapHcm(client) : client;
    const chunk = createSyncChunkHandler({
      ...common,
      metrics: metrics(),
      openSource,
      hcmFor: () => hcm,
      // The embedded default's timing: unclear writes wait a second, not AWS's minute.
      engine: { timing: localWriteTiming() },
    });
    try {
      while (crashed === undefined && next < items.length) {
        const item = items[next++]!;
        for (;;) {
          passes += 1;
          const result: SyncChunkResult = json(await chunk(json(item), lambdaContext()));
          if (process.env.DEBUG_PASSES) console.log('PASS', Date.now() - t0, JSON.stringify(result));
          if (result.status === 'complete') break;
          if (result.waitSeconds > 0) await new Promise((r) => setTimeout(r, 200));
        }
      }
    } catch (err) {
      crashed ??= err;
    } finally {
      brokerRequests += tokens.requests;
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, lane));
  const finished =
    crashed === undefined ? json(await finish({ runId: o.runId }, lambdaContext())) : undefined;
  if (crashed !== undefined) {
    // What the stack's execution-status rule does for an execution that died: the run ends failed and
    // gives its connection back, so a resume or the next run can start.
    await finish(
      {
        source: 'aws.states',
        'detail-type': 'Step Functions Execution Status Change',
        detail: {
          executionArn: `arn:test:${o.runId}`,
          status: 'FAILED',
          input: JSON.stringify({ runId: o.runId }),
        },
      },
      lambdaContext(),
    );
  }
  return {
    plan: planned,
    finish: finished,
    crashed,
    passes,
    events,
    brokerRequests,
    wallMs: Date.now() - t0,
  };
}

/** Numbers the report quotes, printed so a CI log shows them. */
export function measure(label: string, values: Record<string, unknown>): void {
  process.stdout.write(`[pipeline-measure] ${label} ${JSON.stringify(values)}\n`);
}
