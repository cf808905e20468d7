import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EventBridgePublisher } from '../core/adapters/aws/event-publisher.ts';
import { SfnExecutionStarter } from '../core/adapters/aws/execution-starter.ts';
import { ENV, requireEnv } from '../core/env.ts';
import { createLogger, createMetrics } from '../core/observability.ts';
import { createFinishSyncHandler } from './handler.ts';

// AWS composition root: clients live for the container's lifetime.
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

export const handler = createFinishSyncHandler({
  doc,
  checkpointTable: requireEnv(ENV.checkpointTable),
  events: new EventBridgePublisher(new EventBridgeClient({}), { eventBusName: requireEnv(ENV.eventBusName) }),
  // A run past its execution's REST deadline continues in a new execution of this state machine (its
  // ARN built from the name by the stack: the state machine references this function).
  starter: new SfnExecutionStarter(new SFNClient({}), requireEnv(ENV.stateMachineArn)),
  logger: createLogger('finish-sync'),
  metrics: createMetrics('finish-sync'),
});
