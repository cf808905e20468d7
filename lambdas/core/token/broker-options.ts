import { DEFAULT_LEASE_MS } from '#core/lease/index.ts';
import { ConfigError } from '../errors.ts';
import type { OutboxRelay } from './connection/outbox.ts';
import { DEFAULT_BUFFER_SECONDS, DEFAULT_CLOCK_SKEW_SECONDS } from './expiry.ts';
import { GRANT_DEFAULTS } from './oauth/grants.ts';
import { DEFAULT_TOKEN_TIMEOUT_MS } from './oauth/token-endpoint.ts';
import type { CoordinatorConfig } from './refresh/refresh-request.ts';

export interface TokenBrokerOptions {
  /** Freshness buffer (invariant 4), capped at 25% of the lifetime. Default 120 s. */
  bufferSeconds?: number;
  skewSeconds?: number;
  /** Refresh lease; must exceed timeout x attempts + backoff. Default 30 s. */
  leaseMs?: number;
  /** How long a waiter polls for someone else's refresh. Default 2 x lease + 5 s (a holder may extend once). */
  waitTimeoutMs?: number;
  pollStartMs?: number;
  pollCapMs?: number;
  tokenTimeoutMs?: number;
  attempts?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Full timeout of one DynamoDB/KMS call under the lease. Default min(3 s, lease / 6). */
  callTimeoutMs?: number;
  /** End of the lease no call may reach. Default min(1 s, lease / 10). */
  leaseMarginMs?: number;
  /**
   * How long a holder keeps retrying its commit after the IdP answered, past the lease if need be (the
   * write is fenced by owner and version). Default 45 s: with a 30 s lease it ends before the broker
   * Lambda's 90 s timeout.
   */
  commitPersistMs?: number;
  /** Backoff of DynamoDB/KMS writes retried under the lease. */
  storeRetry?: { baseMs: number; capMs: number };
  /** Auto-recovery of a needs_reauth that consumed nothing: first retry after ~base, doubling to cap. */
  recoverBaseMs?: number;
  recoverCapMs?: number;
  /** Fault injection (`--faults broker.crashAfterSendRate`). */
  faults?: { crashAfterSendRate?: number };
  /** Test probe at each step of a refresh. */
  probe?: (phase: string, connectionId: string) => void;
  /** sweep(): connections expiring within this horizon and without a pending schedule. Default 10 min. */
  sweepHorizonMs?: number;
  /** sweep(): a planned proactive fire this far in the past counts as missed. Default 60 s. */
  sweepGraceMs?: number;
  /** sweep(): refreshes in flight at once. Default 8. */
  sweepConcurrency?: number;
  /**
   * Token-endpoint requests per second of the whole fleet (every instance, every trigger, retries
   * included), held by the sharded limiter of core/rate in the connection table. Default 15: IDCS
   * limits token requests per second and per minute (Oracle Apps domains: 40/s and 1,000/min), and
   * 15/s sustained is 900/min; 0: none.
   */
  tokenEndpointRatePerSecond?: number;
  /** Token-endpoint requests per minute of the whole fleet. Default 900 (1,000/min less a tenth). */
  tokenEndpointRatePerMinute?: number;
  /** Added to the rate's windows for the spread between our send and the IdP's count. Default 250 ms. */
  tokenEndpointGuardMs?: number;
  /**
   * The most broker instances that run at once (the stack passes TOKEN_ENDPOINT_INSTANCES: the broker's
   * reserved concurrency plus the connection-admin function): with the limiter's items throttled each
   * one keeps to the fallback share of the sustained fleet rate divided by this. Default 10.
   */
  tokenEndpointInstances?: number;
  random?: () => number;
  /** Who drains the outbox after a transition (outbox.ts): `stream` where the table's stream drives it. */
  outboxRelay?: OutboxRelay;
}

export const DEFAULT_TOKEN_ENDPOINT_RATE = 15;
export const DEFAULT_TOKEN_ENDPOINT_RATE_PER_MINUTE = 900;
export const DEFAULT_TOKEN_ENDPOINT_GUARD_MS = 250;
export const DEFAULT_TOKEN_ENDPOINT_INSTANCES = 10;
export const DEFAULT_COMMIT_PERSIST_MS = 45_000;

/** Every tunable of the refresh path with its default; the reasoning behind the numbers is in docs/token-broker.md. */
export function coordinatorConfig(o: TokenBrokerOptions): CoordinatorConfig {
  const leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
  const callTimeoutMs = o.callTimeoutMs ?? Math.min(3_000, Math.floor(leaseMs / 6));
  const leaseMarginMs = o.leaseMarginMs ?? Math.min(1_000, Math.floor(leaseMs / 10));
  const config: CoordinatorConfig = {
    bufferSeconds: o.bufferSeconds ?? DEFAULT_BUFFER_SECONDS,
    skewSeconds: o.skewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS,
    waitTimeoutMs: o.waitTimeoutMs ?? 2 * leaseMs + 5_000,
    pollStartMs: o.pollStartMs ?? 50,
    pollCapMs: o.pollCapMs ?? 1_000,
    // Kept free after the last endpoint attempt: a fifth of the lease (at most 5 s), and never less than
    // the extension plus one commit attempt (the crash campaign found a 3 s lease with 1 s calls left
    // no room to extend, so live holders flagged healthy connections).
    commitReserveMs: Math.max(Math.min(5_000, Math.floor(leaseMs / 5)), 2 * callTimeoutMs + leaseMarginMs),
    grant: {
      attempts: o.attempts ?? GRANT_DEFAULTS.attempts,
      baseMs: o.backoffBaseMs ?? GRANT_DEFAULTS.baseMs,
      capMs: o.backoffCapMs ?? GRANT_DEFAULTS.capMs,
      // A short (test) lease scales the request timeout down, or no attempt would ever fit under it.
      timeoutMs: o.tokenTimeoutMs ?? Math.min(DEFAULT_TOKEN_TIMEOUT_MS, Math.floor(leaseMs * 0.4)),
    },
    commitPersistMs: o.commitPersistMs ?? DEFAULT_COMMIT_PERSIST_MS,
    callTimeoutMs,
    leaseMarginMs,
    storeRetry: { baseMs: 50, capMs: 1_000, random: o.random ?? Math.random, ...o.storeRetry },
    recoverBaseMs: o.recoverBaseMs ?? 60_000,
    recoverCapMs: o.recoverCapMs ?? 3_600_000,
    faults: { crashAfterSendRate: o.faults?.crashAfterSendRate ?? 0 },
    probe: o.probe,
    random: o.random ?? Math.random,
  };
  const grantWindowMs = leaseMs - config.commitReserveMs;
  if (grantWindowMs < (config.grant.timeoutMs ?? 0)) {
    // Otherwise every refresh would end "not sent": a silent outage (the crash campaign ran into one).
    throw new ConfigError(
      `lease ${leaseMs} ms leaves ${grantWindowMs} ms for the token request after the commit reserve (${config.commitReserveMs} ms); a request may take ${config.grant.timeoutMs} ms`,
    );
  }
  return config;
}
