import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import {
  BROKER_METRICS,
  type BrokerDeps,
  type BrokerRequest,
  describe,
  isConnectionStreamEvent,
  parseBrokerRequest,
  relayOutboxes,
  TokenBroker,
} from '#core/token/index.ts';
import { ConfigError, ReauthRequiredError } from '../core/errors.ts';
import { createLogger, createMetrics } from '../core/observability.ts';

export const SERVICE_NAME = 'token-broker';

/** What the composition roots inject: AWS adapters in index.ts, dynalite + local adapters on the laptop. */
export type TokenBrokerDeps = Omit<BrokerDeps, 'logger' | 'metrics'> & {
  logger?: Logger;
  metrics?: Metrics;
};

export function buildTokenBroker(deps: TokenBrokerDeps): {
  broker: TokenBroker;
  logger: Logger;
  metrics: Metrics;
} {
  const logger = deps.logger ?? createLogger(SERVICE_NAME);
  const metrics = deps.metrics ?? createMetrics(SERVICE_NAME);
  return { broker: new TokenBroker({ ...deps, logger, metrics }), logger, metrics };
}

/** Routes one request. get/refresh answer IssuedToken: the only place a token leaves the broker. */
export function dispatch(broker: TokenBroker, req: BrokerRequest, context?: Context): Promise<unknown> {
  switch (req.action) {
    case 'get':
      return broker.getToken(req.connectionId, { minVersion: req.minVersion, trigger: req.trigger });
    case 'refresh':
      return broker.replaceToken(req.connectionId, { minVersion: req.minVersion, trigger: req.trigger });
    case 'proactive':
      return broker.proactive(req.connectionId);
    case 'sweep':
      // Stops starting refreshes while one still fits the invocation (a killed sweep is issue 11 case 2).
      return broker.sweep(context ? { remainingTimeMs: () => context.getRemainingTimeInMillis() } : {});
    case 'status':
      return broker.status(req.connectionId);
    case 'connect':
      return broker.connect(req.connectionId, { secretId: req.secretId, grant: req.grant });
  }
}

/**
 * The TokenBroker Lambda: Powertools logger (masking replacer, Lambda context) and EMF metrics around
 * a dispatcher. Errors propagate with their typed name, which is what workers and Step Functions see.
 */
export function createTokenBrokerHandler(
  deps: TokenBrokerDeps,
  options: { refuse?: readonly BrokerRequest['action'][] } = {},
) {
  const { broker, logger, metrics } = buildTokenBroker(deps);
  const refused = new Set(options.refuse ?? []);
  const handler = async (event: unknown, context: Context): Promise<unknown> => {
    metrics.addMetric(BROKER_METRICS.invocations, MetricUnit.Count, 1);
    // The connection table's stream (the deployed stack's outbox relay), not a broker request.
    if (isConnectionStreamEvent(event)) return relayOutboxes(broker.outbox, event);
    const req = parseBrokerRequest(event);
    if (refused.has(req.action)) {
      throw new ConfigError(
        `the token broker does not serve '${req.action}' here (the connection-admin function does)`,
      );
    }
    logger.appendKeys({
      action: req.action,
      connectionId: 'connectionId' in req ? req.connectionId : undefined,
    });
    try {
      return await dispatch(broker, req, context);
    } catch (err) {
      // Re-auth is an expected business state (alarmed via the metric), everything else is an error.
      const log = err instanceof ReauthRequiredError ? logger.warn.bind(logger) : logger.error.bind(logger);
      log('token broker request failed', { error: describe(err) });
      throw err;
    } finally {
      logger.removeKeys(['action', 'connectionId']);
    }
  };
  return middy(handler)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
