import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { openAwsGoalSource } from '#core/source/index.ts';
import { ENV, requireEnv } from '../core/env.ts';
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

export const handler = createPlanSyncHandler({
  doc,
  checkpointTable: requireEnv(ENV.checkpointTable),
  // Only s3:// URIs in the stack's source bucket: never a path inside the function's own sandbox.
  openSource: (ref) => openAwsGoalSource(ref, { s3, sourceBucket }),
  manifest: manifestBucket ? new S3ChunkManifest(s3, manifestBucket) : undefined,
  defaultConnectionId: process.env[ENV.connectionId],
  // Unset: the inline Map's own limit (plan.ts); planRun refuses a value it cannot honour.
  ...(mapThreshold ? { options: { mapThreshold: Number(mapThreshold) } } : {}),
  logger: createLogger('plan-sync'),
  metrics: createMetrics('plan-sync'),
});
