import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AdaptiveLimiter, HcmGoalsClient, mappingFromEnv } from '#core/hcm/index.ts';
import { openAwsGoalSource } from '#core/source/index.ts';
import { BrokerTokenProvider } from '#core/token/index.ts';
import { awsHcmCeiling } from '../core/adapters/aws/hcm-ceiling.ts';
import { LambdaBrokerTransport } from '../core/adapters/aws/lambda-broker-transport.ts';
import { s3IndexGet } from '../core/adapters/aws/s3-goal-index-reader.ts';
import { ENV, numberEnv, requireEnv } from '../core/env.ts';
import { createLogger, createMetrics } from '../core/observability.ts';
import { createHdlLoadHandler } from './handler.ts';

// AWS composition root (module scope: the token cache and the pacer survive across warm invocations).
const s3 = new S3Client({});
const sourceBucket = requireEnv(ENV.sourceBucket);
const manifestBucket = requireEnv(ENV.manifestBucket);
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
const tokens = new BrokerTokenProvider(
  new LambdaBrokerTransport(new LambdaClient({}), requireEnv(ENV.tokenBrokerFunction)),
  { bufferSeconds: numberEnv(ENV.tokenBufferSeconds, 120) },
);
const hcmBaseUrl = requireEnv(ENV.hcmBaseUrl);
const hcmCeiling = awsHcmCeiling(doc, requireEnv(ENV.checkpointTable));
const clients = new Map<string, HcmGoalsClient>();
const recordsPerFile = process.env[ENV.hdlRecordsPerFile];

export const handler = createHdlLoadHandler({
  doc,
  checkpointTable: requireEnv(ENV.checkpointTable),
  openSource: (ref) => openAwsGoalSource(ref, { s3, sourceBucket }),
  // Parts (zips as base64, record lists) beside the run's chunk list in the manifest bucket.
  objects: {
    async put(key, body) {
      await s3.send(new PutObjectCommand({ Bucket: manifestBucket, Key: key, Body: body }));
    },
    get: s3IndexGet(s3, manifestBucket),
  },
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
  // Unset: the stack has no HDL (plan-sync never takes the branch); a step invoked anyway says so.
  sourceSystemOwner: process.env[ENV.hdlSourceSystemOwner] ?? '',
  mapping: mappingFromEnv(process.env[ENV.goalMapping]),
  ...(recordsPerFile ? { recordsPerFile: Number(recordsPerFile) } : {}),
  logger: createLogger('hdl-load'),
  metrics: createMetrics('hdl-load'),
});
