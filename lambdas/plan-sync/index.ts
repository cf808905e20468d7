import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AdaptiveLimiter, HcmGoalsClient, mappingFromEnv, PLAN_READ_INITIAL_RATE } from '#core/hcm/index.ts';
import { openAwsGoalSource, S3SourceCopies } from '#core/source/index.ts';
import { BrokerTokenProvider } from '#core/token/index.ts';
import { awsHcmCeiling } from '../core/adapters/aws/hcm-ceiling.ts';
import { LambdaBrokerTransport } from '../core/adapters/aws/lambda-broker-transport.ts';
import { s3GoalIndex } from '../core/adapters/aws/s3-goal-index.ts';
import { ENV, numberEnv, requireEnv } from '../core/env.ts';
import { createLogger, createMetrics } from '../core/observability.ts';
import { createPlanSyncHandler } from './handler.ts';
import { S3ChunkManifest } from './s3-manifest.ts';

// AWS composition root: clients live for the container's lifetime (connection reuse across invocations).
const s3 = new S3Client({});
const sourceBucket = requireEnv(ENV.sourceBucket);
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
const manifestBucket = process.env[ENV.manifestBucket];
const mapThreshold = process.env[ENV.mapThreshold];
// The plan-wide read (issue 15): set by the stack; without them chunks use per-person finders.
const hcmBaseUrl = process.env[ENV.hcmBaseUrl];
const brokerFunction = process.env[ENV.tokenBrokerFunction];
const tokens = brokerFunction
  ? new BrokerTokenProvider(new LambdaBrokerTransport(new LambdaClient({}), brokerFunction), {
      bufferSeconds: numberEnv(ENV.tokenBufferSeconds, 120),
    })
  : undefined;
const clients = new Map<string, HcmGoalsClient>();
// The stack's HCM request ceiling, one per container, shared by its clients (every connection hits one pod).
const hcmCeiling = awsHcmCeiling(doc, requireEnv(ENV.checkpointTable));
const hcmFor =
  hcmBaseUrl && tokens
    ? (connectionId: string) => {
        let client = clients.get(connectionId);
        if (!client) {
          client = new HcmGoalsClient({
            baseUrl: hcmBaseUrl,
            connectionId,
            tokens,
            limiter: new AdaptiveLimiter({ ceiling: hcmCeiling, initialRate: PLAN_READ_INITIAL_RATE }),
          });
          clients.set(connectionId, client);
        }
        return client;
      }
    : undefined;
const indexPageSize = process.env[ENV.goalIndexPageSize];
const indexMinRecords = process.env[ENV.goalIndexMinRecords];

export const handler = createPlanSyncHandler({
  doc,
  checkpointTable: requireEnv(ENV.checkpointTable),
  // Only s3:// URIs in the stack's source bucket: never a path inside the function's own sandbox.
  openSource: (ref) => openAwsGoalSource(ref, { s3, sourceBucket }),
  manifest: manifestBucket ? new S3ChunkManifest(s3, manifestBucket) : undefined,
  // A UTF-8 copy of a source in another encoding or shape: runs/<runId>/attempt-<n>/ of the source
  // bucket (plan-sync may write runs/*; sync-chunk reads only the source bucket).
  sourceCopies: new S3SourceCopies(s3, sourceBucket),
  defaultConnectionId: process.env[ENV.connectionId],
  ...(hcmFor && manifestBucket ? { hcmFor, goalIndex: s3GoalIndex(s3, manifestBucket) } : {}),
  indexOptions: {
    ...(indexPageSize ? { pageSize: Number(indexPageSize) } : {}),
    ...(indexMinRecords ? { minRecords: Number(indexMinRecords) } : {}),
  },
  // Unset: the inline Map's own limit (plan.ts); planRun refuses a value it cannot honour.
  ...(mapThreshold ? { options: { mapThreshold: Number(mapThreshold) } } : {}),
  // The write path (issue 24): HDL only with a source system owner; auto's threshold; the tenant's codes.
  ...(process.env[ENV.hdlSourceSystemOwner]
    ? { hdlSourceSystemOwner: process.env[ENV.hdlSourceSystemOwner] }
    : {}),
  ...(process.env[ENV.hdlThreshold] ? { hdlThreshold: Number(process.env[ENV.hdlThreshold]) } : {}),
  ...(process.env[ENV.goalMapping] ? { mapping: mappingFromEnv(process.env[ENV.goalMapping]) } : {}),
  // The run's REST duration against the execution's time left (issue 24 item 4): the same ceiling the
  // HCM clients keep, the state machine's timeout (the stack sets both).
  runBudget: {
    requestsPerSecond: numberEnv(ENV.hcmMaxRequestsPerSecond, 10),
    ...(process.env[ENV.executionTimeoutSeconds]
      ? { executionTimeoutMs: numberEnv(ENV.executionTimeoutSeconds, 0) * 1000 }
      : {}),
  },
  logger: createLogger('plan-sync'),
  metrics: createMetrics('plan-sync'),
});
