import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SETTLE_HORIZON_DEFAULT_MS } from '#core/checkpoint/index.ts';
import { AdaptiveLimiter, HcmGoalsClient, mappingFromEnv } from '#core/hcm/index.ts';
import { openAwsGoalSource } from '#core/source/index.ts';
import { ENGINE_DEFAULTS } from '#core/sync/index.ts';
import { BrokerTokenProvider } from '#core/token/index.ts';
import { awsHcmCeiling } from '../core/adapters/aws/hcm-ceiling.ts';
import { LambdaBrokerTransport } from '../core/adapters/aws/lambda-broker-transport.ts';
import { s3GoalIndexReader } from '../core/adapters/aws/s3-goal-index-reader.ts';
import { ENV, numberEnv, requireEnv } from '../core/env.ts';
import { createLogger, createMetrics } from '../core/observability.ts';
import { createSyncChunkHandler } from './handler.ts';

// AWS composition root. Module scope on purpose: the token cache and the HCM client's adaptive limiter
// survive across invocations of a warm container, so a warm worker neither re-asks the broker nor
// relearns HCM's rate limit.
const s3 = new S3Client({});
const sourceBucket = requireEnv(ENV.sourceBucket);
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
const tokens = new BrokerTokenProvider(
  new LambdaBrokerTransport(new LambdaClient({}), requireEnv(ENV.tokenBrokerFunction)),
  { bufferSeconds: numberEnv(ENV.tokenBufferSeconds, 120) },
);
const hcmBaseUrl = requireEnv(ENV.hcmBaseUrl);
const clients = new Map<string, HcmGoalsClient>();
// The stack's HCM request ceiling, one per container, shared by its clients (every connection hits one pod).
const hcmCeiling = awsHcmCeiling(doc, requireEnv(ENV.checkpointTable));
const manifestBucket = process.env[ENV.manifestBucket];

export const handler = createSyncChunkHandler({
  doc,
  checkpointTable: requireEnv(ENV.checkpointTable),
  // Only s3:// URIs in the stack's source bucket: never a path inside the function's own sandbox.
  openSource: (ref) => openAwsGoalSource(ref, { s3, sourceBucket }),
  hcmFor: (connectionId) => {
    let client = clients.get(connectionId);
    if (!client) {
      client = new HcmGoalsClient({
        baseUrl: hcmBaseUrl,
        connectionId,
        tokens,
        limiter: new AdaptiveLimiter({ ceiling: hcmCeiling }),
      });
      clients.set(connectionId, client);
    }
    return client;
  },
  logger: createLogger('sync-chunk'),
  metrics: createMetrics('sync-chunk'),
  engine: {
    concurrency: numberEnv(ENV.recordConcurrency, ENGINE_DEFAULTS.concurrency),
    mapping: mappingFromEnv(process.env[ENV.goalMapping]),
    timing: { settleHorizonMs: numberEnv(ENV.settleHorizonMs, SETTLE_HORIZON_DEFAULT_MS) },
  },
  // plan-sync's index of existing goals for the run (module scope: its manifests are cached per container).
  ...(manifestBucket ? { goalIndex: s3GoalIndexReader(s3, manifestBucket) } : {}),
});
