import type { Context } from 'aws-lambda';
import {
  DEFAULT_BUFFER_SECONDS,
  DEFAULT_TOKEN_ENDPOINT_INSTANCES,
  type OutboxRelay,
} from '#core/token/index.ts';
import { awsBrokerDeps } from '../core/adapters/aws/broker-deps.ts';
import { ENV, numberEnv } from '../core/env.ts';
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

// `connect` is the connection-admin function's (people may invoke that one, never this one).
const inner = createTokenBrokerHandler(
  {
    ...awsBrokerDeps(targetArn),
    options: {
      bufferSeconds: numberEnv(ENV.tokenBufferSeconds, DEFAULT_BUFFER_SECONDS),
      outboxRelay: outboxRelayEnv(),
      tokenEndpointInstances: numberEnv(ENV.tokenEndpointInstances, DEFAULT_TOKEN_ENDPOINT_INSTANCES),
    },
  },
  { refuse: ['connect'] },
);

export const handler = (event: unknown, context: Context): Promise<unknown> => {
  // Unqualified: a schedule must target the function, not the version that happened to run.
  invokedArn ??= context.invokedFunctionArn?.split(':').slice(0, 7).join(':');
  return inner(event, context);
};
