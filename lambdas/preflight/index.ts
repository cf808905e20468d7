import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { mappingFromEnv } from '#core/hcm/index.ts';
import { formatFromUri, openAwsGoalSource } from '#core/source/index.ts';
import { LambdaBrokerTransport } from '../core/adapters/aws/lambda-broker-transport.ts';
import { ENV, numberEnv, requireEnv } from '../core/env.ts';
import { createLogger } from '../core/observability.ts';
import { createPreflightHandler, SERVICE_NAME } from './handler.ts';

/** The stack's HCM request ceiling (context hcmMaxRequestsPerSecond); unset only outside the stack. */
const CEILING_ENV = ENV.hcmMaxRequestsPerSecond;
const DEFAULT_CEILING = 10; // the stack's default (infra/stack-config.ts)

// AWS composition root: clients live for the container's lifetime.
const s3 = new S3Client({});
const sourceBucket = requireEnv(ENV.sourceBucket);
const ceilingSet = process.env[CEILING_ENV] !== undefined;

export const handler = createPreflightHandler({
  hcmBaseUrl: requireEnv(ENV.hcmBaseUrl),
  broker: new LambdaBrokerTransport(new LambdaClient({}), requireEnv(ENV.tokenBrokerFunction)),
  // Only s3:// URIs in the stack's source bucket, as plan-sync reads them.
  openSource: (uri) => openAwsGoalSource({ uri, format: formatFromUri(uri) }, { s3, sourceBucket }),
  defaultConnectionId: requireEnv(ENV.connectionId),
  ceiling: {
    requestsPerSecond: numberEnv(CEILING_ENV, DEFAULT_CEILING),
    from: ceilingSet ? "the stack's hcmMaxRequestsPerSecond" : `default ${DEFAULT_CEILING}`,
  },
  // As plan-sync reads it: the page size the plan-wide read asks for (the stack leaves the default).
  pageSize: Number(process.env[ENV.goalIndexPageSize] || 500),
  mapping: mappingFromEnv(process.env[ENV.goalMapping]),
  logger: createLogger(SERVICE_NAME),
});
