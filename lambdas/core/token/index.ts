/**
 * The public surface of `token/`: what code outside this folder may import (a test enforces it).
 * Everything else in the folder is internal.
 */

export { type AdminRequest, adminRequestSchema, parseAdminRequest } from './admin-protocol.ts';
export { withBootstrapRefreshToken } from './bootstrap-secret.ts';
export type { BrokerDeps, TokenBrokerOptions } from './broker.ts';
export { TokenBroker } from './broker.ts';
export type { BrokerTransport } from './broker-client.ts';
export { BrokerTokenProvider } from './broker-client.ts';
export { DEFAULT_TOKEN_ENDPOINT_INSTANCES, DEFAULT_TOKEN_ENDPOINT_RATE } from './broker-options.ts';
export type { ConnectionItem } from './connection/connection-item.ts';
export {
  CONNECTION_PUBLIC_ATTRIBUTES,
  toConnectionItem,
  toConnectionView,
  toPublicConnectionView,
} from './connection/connection-item.ts';
export { ConnectionStore } from './connection/connection-store.ts';
export { Outbox, type OutboxRelay, outboxEvent } from './connection/outbox.ts';
export { isConnectionStreamEvent, relayOutboxes } from './connection/outbox-stream.ts';
export {
  DEFAULT_BUFFER_SECONDS,
  effectiveBufferMs,
  FALLBACK_LIFETIME_SECONDS,
  isFresh,
  readTokenLifetime,
} from './expiry.ts';
export {
  type CodeExchange,
  type ExchangedGrant,
  exchangeAuthorizationCode,
} from './oauth/code-exchange.ts';
export {
  checkTokenUrl,
  connectionSecretSchema,
  parseConnectionSecret,
  type TokenUrlPolicy,
} from './oauth/connection-secret.ts';
export { GRANT_DEFAULTS, JWT_BEARER_GRANT, obtainToken } from './oauth/grants.ts';
export { basicAuthorization, DEFAULT_TOKEN_TIMEOUT_MS, parseTokenResponse } from './oauth/token-endpoint.ts';
export type { BrokerRequest, FunctionErrorPayload } from './protocol.ts';
export { errorFromPayload, parseBrokerRequest } from './protocol.ts';
export {
  TOKEN_RATE_LIMIT_KEY,
  type TokenRateCounts,
  type TokenRateSettings,
  tokenEndpointRate,
} from './refresh/token-rate.ts';
export {
  inProactiveWindow,
  proactiveFireAt,
  proactiveOffsetBounds,
  proactiveOffsetMs,
  proactiveScheduleName,
} from './schedule.ts';
export { runSweep } from './sweeper.ts';
export { BROKER_METRICS, describe } from './telemetry.ts';
export { encryptionContext, TokenVault } from './token-vault.ts';
