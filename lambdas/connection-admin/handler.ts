import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import {
  type AdminRequest,
  describe,
  exchangeAuthorizationCode,
  parseAdminRequest,
  TokenBroker,
  withBootstrapRefreshToken,
} from '#core/token/index.ts';
import { ConfigError, ReauthRequiredError } from '../core/errors.ts';
import { createLogger, createMetrics } from '../core/observability.ts';
import type { TokenBrokerDeps } from '../token-broker/handler.ts';

export const SERVICE_NAME = 'connection-admin';

/** The code exchange's own deadline: one attempt, never retried (a code is single-use). */
export const DEFAULT_EXCHANGE_TIMEOUT_MS = 15_000;

export type ConnectionAdminDeps = TokenBrokerDeps & {
  /** The connection's secret: the stack's prefix plus the id, never a name taken from the request. */
  secretIdFor: (connectionId: string) => string;
  exchangeTimeoutMs?: number;
};

/** What `describe` answers: what the browser step needs, nothing secret. */
export interface ConnectionDescription {
  connectionId: string;
  secretId: string;
  clientId: string;
  scope?: string;
  tokenUrl: string;
}

/**
 * The connection-admin Lambda (`goal-sync connect`): takes a one-time authorization code (exchanged
 * here, with the client secret only this function and the broker may read) or a refresh token, and
 * hands it to the broker's `connect` in process. It answers the connection's state, never a token; the
 * token hand-out (get/refresh) lives in the token broker, which people may not invoke.
 */
export function createConnectionAdminHandler(deps: ConnectionAdminDeps) {
  const logger = deps.logger ?? createLogger(SERVICE_NAME);
  const metrics = deps.metrics ?? createMetrics(SERVICE_NAME);
  const handle = async (req: AdminRequest): Promise<unknown> => {
    const secretId = deps.secretIdFor(req.connectionId);
    if (req.action === 'describe') {
      const s = await deps.secrets.getSecret(secretId, { bypassCache: true });
      const out: ConnectionDescription = {
        connectionId: req.connectionId,
        secretId,
        clientId: s.clientId,
        tokenUrl: s.tokenUrl,
        ...(s.scope ? { scope: s.scope } : {}),
      };
      return out;
    }
    let refreshToken = req.refreshToken;
    if (req.authorization) {
      const s = await deps.secrets.getSecret(secretId, { bypassCache: true });
      if (!s.clientSecret) {
        throw new ConfigError(
          `secret ${secretId} has no clientSecret: the code exchange uses client_secret_basic`,
        );
      }
      ({ refreshToken } = await exchangeAuthorizationCode({
        connectionId: req.connectionId,
        tokenUrl: s.tokenUrl,
        clientId: s.clientId,
        clientSecret: s.clientSecret,
        ...req.authorization,
        timeoutMs: deps.exchangeTimeoutMs ?? DEFAULT_EXCHANGE_TIMEOUT_MS,
      }));
    }
    const secrets = refreshToken
      ? withBootstrapRefreshToken(deps.secrets, secretId, refreshToken)
      : deps.secrets;
    const broker = new TokenBroker({ ...deps, secrets, logger, metrics });
    const connected = await broker.connect(req.connectionId, {
      secretId,
      grant: req.grant ?? 'refresh_token',
    });
    const { connections } = await broker.status(req.connectionId);
    return { ...connected, connection: connections[0] };
  };
  const handler = async (event: unknown, _context: Context): Promise<unknown> => {
    const req = parseAdminRequest(event);
    logger.appendKeys({ action: req.action, connectionId: req.connectionId });
    try {
      return await handle(req);
    } catch (err) {
      const log = err instanceof ReauthRequiredError ? logger.warn.bind(logger) : logger.error.bind(logger);
      log('connection admin request failed', { error: describe(err) });
      throw err;
    } finally {
      logger.removeKeys(['action', 'connectionId']);
    }
  };
  return middy(handler)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}
