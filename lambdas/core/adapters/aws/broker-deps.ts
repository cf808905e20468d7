import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BrokerDeps } from '#core/token/index.ts';
import { ENV, requireEnv } from '../../env.ts';
import { EventBridgePublisher } from './event-publisher.ts';
import { KmsKeyProvider } from './kms-key-provider.ts';
import { EventBridgeScheduler } from './scheduler.ts';
import { SecretsManagerSecretSource } from './secrets-source.ts';

/**
 * The broker's AWS adapters from the function's environment, shared by the token broker and the
 * connection-admin function: both write the same encrypted store, pin the same token endpoint and
 * schedule proactive refreshes on the token broker (`targetArn`).
 */
export function awsBrokerDeps(
  targetArn: () => string,
): Pick<BrokerDeps, 'doc' | 'tableName' | 'keys' | 'secrets' | 'scheduler' | 'events'> {
  return {
    doc: DynamoDBDocumentClient.from(new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    }),
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
  };
}
