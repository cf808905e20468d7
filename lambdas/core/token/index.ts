/**
 * The public surface of `token/`: what code outside this folder may import (a test enforces it).
 * Everything else in the folder is internal.
 */

export type { BrokerDeps, TokenBrokerOptions } from './broker.ts';
export { TokenBroker } from './broker.ts';
export type { BrokerTransport } from './broker-client.ts';
export { BrokerTokenProvider } from './broker-client.ts';
export type { ConnectionItem } from './connection-item.ts';
export { toConnectionItem, toConnectionView } from './connection-item.ts';
export { connectionSecretSchema, parseConnectionSecret } from './connection-secret.ts';
export { ConnectionStore } from './connection-store.ts';
export {
  DEFAULT_BUFFER_SECONDS,
  effectiveBufferMs,
  FALLBACK_LIFETIME_SECONDS,
  isFresh,
  readTokenLifetime,
} from './expiry.ts';
export { GRANT_DEFAULTS, JWT_BEARER_GRANT, obtainToken } from './grants.ts';
export { Outbox, type OutboxRelay, outboxEvent } from './outbox.ts';
export { isConnectionStreamEvent, relayOutboxes } from './outbox-stream.ts';
export type { BrokerRequest, FunctionErrorPayload } from './protocol.ts';
export { errorFromPayload, parseBrokerRequest } from './protocol.ts';
export type { RateLimitConfig } from './rate-limiter.ts';
export { DynamoTokenRateLimiter } from './rate-limiter.ts';
export {
  inProactiveWindow,
  proactiveFireAt,
  proactiveOffsetBounds,
  proactiveOffsetMs,
  proactiveScheduleName,
} from './schedule.ts';
export { runSweep } from './sweeper.ts';
export { BROKER_METRICS, describe } from './telemetry.ts';
export { basicAuthorization, DEFAULT_TOKEN_TIMEOUT_MS, parseTokenResponse } from './token-endpoint.ts';
export { encryptionContext, TokenVault } from './token-vault.ts';
