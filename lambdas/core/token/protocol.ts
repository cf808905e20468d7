import {
  CheckpointConflictError,
  ConfigError,
  ConnectionDisabledError,
  ConnectionNotFoundError,
  ConnectionRecoveringError,
  CryptoError,
  LeaseTimeoutError,
  ReauthRequiredError,
  TokenCommitError,
  TransientError,
} from '../errors.ts';
import { maskSecrets } from '../mask.ts';
import * as z from '../zod.ts';

const connectionId = z.string().check(z.minLength(1), z.maxLength(256));
const trigger = z.enum(['proactive', 'jit', 'afterUnauthorized', 'sweep', 'connect']);
const grant = z.enum(['refresh_token', 'client_credentials', 'jwt_bearer']);

/** What callers send to the TokenBroker Lambda. Tokens never travel in requests, only in get/refresh answers. */
export const brokerRequestSchema = z.discriminatedUnion('action', [
  z.object({
    action: z.enum(['get', 'refresh']),
    connectionId,
    minVersion: z.optional(z.int().check(z.nonnegative())),
    trigger: z.optional(trigger),
  }),
  z.object({ action: z.literal('proactive'), connectionId }),
  z.object({ action: z.literal('sweep') }),
  z.object({ action: z.literal('status'), connectionId: z.optional(connectionId) }),
  z.object({
    action: z.literal('connect'),
    connectionId,
    secretId: z.string().check(z.minLength(1)),
    grant,
  }),
]);

export type BrokerRequest = z.infer<typeof brokerRequestSchema>;

/**
 * Parses a request. The EventBridge Scheduler payload and the rate(5 minutes) rule send the same JSON.
 * The error lists field paths only: a request must not carry secrets, but never echo one if it does.
 */
export function parseBrokerRequest(event: unknown): BrokerRequest {
  const parsed = brokerRequestSchema.safeParse(event);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || 'action'))].join(', ');
    throw new ConfigError(`invalid token broker request (${fields})`);
  }
  return parsed.data;
}

/** The error shape Lambda reports for a function error (and our in-process transport mimics). */
export interface FunctionErrorPayload {
  errorType?: string;
  errorMessage?: string;
}

const REAUTH_PREFIX = /^connection .+? needs re-authentication: /;

/**
 * Rebuilds the typed error a broker threw on the other side of an invoke, so `ReauthRequiredError`
 * (and the retryable ones) keep their name and class across the hop.
 */
export function errorFromPayload(
  payload: FunctionErrorPayload,
  request: Partial<{ connectionId: string }>,
): Error {
  const type = payload.errorType ?? 'Error';
  const message = payload.errorMessage ?? type;
  const id = request.connectionId ?? 'unknown';
  const withMessage = <E extends Error>(err: E): E => {
    err.message = message;
    return err;
  };
  switch (type) {
    case 'ReauthRequiredError':
      return new ReauthRequiredError(id, message.replace(REAUTH_PREFIX, ''));
    case 'ConnectionRecoveringError': {
      const at = Date.parse(/next try ([^)\s]+)\)/.exec(message)?.[1] ?? '');
      return withMessage(
        new ConnectionRecoveringError(id, message, Number.isNaN(at) ? Date.now() + 60_000 : at),
      );
    }
    case 'TransientError':
      return new TransientError(message);
    case 'LeaseTimeoutError':
      return withMessage(new LeaseTimeoutError(id, 0));
    case 'ConnectionNotFoundError':
      return withMessage(new ConnectionNotFoundError(id));
    case 'ConnectionDisabledError':
      return withMessage(new ConnectionDisabledError(id));
    case 'TokenCommitError':
      return withMessage(new TokenCommitError(id));
    case 'ConfigError':
      return new ConfigError(message);
    case 'CryptoError':
      return new CryptoError(message);
    case 'CheckpointConflictError':
      return new CheckpointConflictError(message);
  }
  // Lambda's own failures (timeout, out of memory, crashed runtime) are worth retrying.
  if (type.startsWith('Sandbox.') || type.startsWith('Runtime.'))
    return new TransientError(`token broker failed: ${type}: ${message}`);
  const err = new Error(maskSecrets(message));
  err.name = type;
  return err;
}
