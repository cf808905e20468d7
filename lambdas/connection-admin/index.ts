import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DEFAULT_BUFFER_SECONDS } from '#core/token/index.ts';
import { EventBridgePublisher } from '../core/adapters/aws/event-publisher.ts';
import { KmsKeyProvider } from '../core/adapters/aws/kms-key-provider.ts';
import { EventBridgeScheduler } from '../core/adapters/aws/scheduler.ts';
import { SecretsManagerSecretSource } from '../core/adapters/aws/secrets-source.ts';
import { ENV, numberEnv, requireEnv } from '../core/env.ts';
import { createConnectionAdminHandler } from './handler.ts';

/**
 * AWS composition root of the connection-admin Lambda: the broker's adapters, so `connect` writes the
 * same encrypted store; its proactive schedules target the token broker (TOKEN_BROKER_FUNCTION_ARN),
 * and the connection table's stream relays its events like the broker's own.
 */
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
const secretPrefix = requireEnv(ENV.connectionSecretPrefix);
const brokerArn = requireEnv(ENV.brokerFunctionArn);

export const handler = createConnectionAdminHandler({
  doc,
  tableName: requireEnv(ENV.connectionTable),
  keys: new KmsKeyProvider(new KMSClient({}), requireEnv(ENV.kmsKeyId)),
  secrets: new SecretsManagerSecretSource(new SecretsManagerClient({}), {
    tokenUrl: { pinned: requireEnv(ENV.idpTokenUrl) },
  }),
  scheduler: new EventBridgeScheduler(new SchedulerClient({}), {
    groupName: requireEnv(ENV.scheduleGroup),
    roleArn: requireEnv(ENV.schedulerRoleArn),
    targetArn: () => brokerArn,
  }),
  events: new EventBridgePublisher(new EventBridgeClient({}), { eventBusName: requireEnv(ENV.eventBusName) }),
  options: {
    bufferSeconds: numberEnv(ENV.tokenBufferSeconds, DEFAULT_BUFFER_SECONDS),
    outboxRelay: 'stream',
  },
  secretIdFor: (connectionId) => `${secretPrefix}${connectionId}`,
});
