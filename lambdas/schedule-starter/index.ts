import { SFNClient } from '@aws-sdk/client-sfn';
import { SfnExecutionStarter } from '../core/adapters/aws/execution-starter.ts';
import { ENV, requireEnv } from '../core/env.ts';
import { createLogger } from '../core/observability.ts';
import { createScheduleStarterHandler, SERVICE_NAME } from './handler.ts';

// AWS composition root: clients live for the container's lifetime.
export const handler = createScheduleStarterHandler({
  starter: new SfnExecutionStarter(new SFNClient({}), requireEnv(ENV.stateMachineArn)),
  logger: createLogger(SERVICE_NAME),
});
