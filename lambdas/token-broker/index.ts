import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { DEFAULT_BUFFER_SECONDS, type OutboxRelay } from '#core/token/index.ts';
import { EventBridgePublisher } from '../core/adapters/aws/event-publisher.ts';
import { KmsKeyProvider } from '../core/adapters/aws/kms-key-provider.ts';
import { EventBridgeScheduler } from '../core/adapters/aws/scheduler.ts';
import { SecretsManagerSecretSource } from '../core/adapters/aws/secrets-source.ts';
import { ENV, numberEnv, requireEnv } from '../core/env.ts';
import { ConfigError } from '../core/errors.ts';
import { createTokenBrokerHandler } from './handler.ts';

/**
 * AWS composition root of the TokenBroker Lambda. The schedule target defaults to this function's own
 * ARN as Lambda reports it, so the stack need not pass the function its own ARN (a CloudFormation cycle).
 */
let invokedArn: string | undefined;
const targetArn = (): string => {
  const arn = process.env[ENV.brokerFunctionArn] || invokedArn;
  if (!arn) throw new ConfigError(`environment variable ${ENV.brokerFunctionArn} is required`);
  return arn;
};

function outboxRelayEnv(): OutboxRelay {
  const value = process.env[ENV.outboxRelay] || 'inline';
  if (value !== 'inline' && value !== 'stream')
    throw new ConfigError(`environment variable ${ENV.outboxRelay} must be inline or stream`);
  return value;
}

const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

// `connect` is the connection-admin function's (people may invoke that one, never this one).
const inner = createTokenBrokerHandler(
  {
    doc,
    tableName: requireEnv(ENV.connectionTable),
    keys: new KmsKeyProvider(new KMSClient({}), requireEnv(ENV.kmsKeyId)),
    secrets: new SecretsManagerSecretSource(new SecretsManagerClient({}), {
      tokenUrl: { pinned: requireEnv(ENV.idpTokenUrl) },
    }),
    scheduler: new EventBridgeScheduler(new SchedulerClient({}), {
      groupName: requireEnv(ENV.scheduleGroup),
      roleArn: requireEnv(ENV.schedulerRoleArn),
      targetArn,
    }),
    events: new EventBridgePublisher(new EventBridgeClient({}), {
      eventBusName: requireEnv(ENV.eventBusName),
    }),
    options: {
      bufferSeconds: numberEnv(ENV.tokenBufferSeconds, DEFAULT_BUFFER_SECONDS),
      outboxRelay: outboxRelayEnv(),
    },
  },
  { refuse: ['connect'] },
);

export const handler = (event: unknown, context: Context): Promise<unknown> => {
  // Unqualified: a schedule must target the function, not the version that happened to run.
  invokedArn ??= context.invokedFunctionArn?.split(':').slice(0, 7).join(':');
  return inner(event, context);
};
