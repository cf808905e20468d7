import { DEFAULT_BUFFER_SECONDS, DEFAULT_TOKEN_ENDPOINT_INSTANCES } from '#core/token/index.ts';
import { awsBrokerDeps } from '../core/adapters/aws/broker-deps.ts';
import { ENV, numberEnv, requireEnv } from '../core/env.ts';
import { createConnectionAdminHandler } from './handler.ts';

/**
 * AWS composition root of the connection-admin Lambda: the broker's adapters, so `connect` writes the
 * same encrypted store; its proactive schedules target the token broker (TOKEN_BROKER_FUNCTION_ARN),
 * and the connection table's stream relays its events like the broker's own.
 */
const secretPrefix = requireEnv(ENV.connectionSecretPrefix);
const brokerArn = requireEnv(ENV.brokerFunctionArn);

export const handler = createConnectionAdminHandler({
  ...awsBrokerDeps(() => brokerArn),
  options: {
    bufferSeconds: numberEnv(ENV.tokenBufferSeconds, DEFAULT_BUFFER_SECONDS),
    outboxRelay: 'stream',
    tokenEndpointInstances: numberEnv(ENV.tokenEndpointInstances, DEFAULT_TOKEN_ENDPOINT_INSTANCES),
  },
  secretIdFor: (connectionId) => `${secretPrefix}${connectionId}`,
});
