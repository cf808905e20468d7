import type { ConnectionLease } from '#core/lease/index.ts';
import { ConnectionRecoveringError, ReauthRequiredError } from '../../errors.ts';
import type { Clock, RefreshTrigger, Scheduler, SecretSource } from '../../ports.ts';
import type { ConnectionItem, ConnectionStatus } from '../connection/connection-item.ts';
import type { ConnectionStore, RetryPolicy } from '../connection/connection-store.ts';
import type { Outbox } from '../connection/outbox.ts';
import type { GrantRetryOptions } from '../oauth/grants.ts';
import type { BrokerTelemetry } from '../telemetry.ts';
import type { TokenVault } from '../token-vault.ts';
import type { TokenRateLimiter } from './token-rate.ts';

/*
 * What a refresh is asked for, what the coordinator and its lease holder are built from, and how an
 * item reads to a caller. Shared by refresh-coordinator.ts and refresh-holder.ts, which would otherwise
 * import each other.
 */

/** refresh: active only. connect: from any status. recover: the sweeper's retry of an auto-retry needs_reauth. */
export type RefreshMode = 'refresh' | 'connect' | 'recover';

/** What a caller needs to see in the item to skip the refresh (e.g. fresh and version >= minVersion). */
export interface TokenState {
  status: ConnectionStatus;
  version: number;
  expiresAt?: number;
  issuedAt?: number;
}
export type TokenNeed = (state: TokenState, now: number) => boolean;

export interface RefreshRequest {
  connectionId: string;
  trigger: RefreshTrigger;
  mode: RefreshMode;
  satisfied: TokenNeed;
}

export interface CoordinatorConfig {
  bufferSeconds: number;
  skewSeconds: number;
  /** Longest a waiter polls before giving up (must exceed the lease so a dead holder is taken over). */
  waitTimeoutMs: number;
  pollStartMs: number;
  pollCapMs: number;
  /** Lease time kept free after the last token endpoint attempt for the commit. */
  commitReserveMs: number;
  grant: Omit<GrantRetryOptions, 'deadline' | 'now' | 'random'>;
  /**
   * How long after the answer one invocation keeps retrying its commit (fenced by owner and version, so
   * it may run past the lease; the in-flight marker, not this time, keeps the spent token from reuse).
   */
  commitPersistMs: number;
  /** Full timeout of one DynamoDB or KMS call under the lease (SDK retries included). */
  callTimeoutMs: number;
  /** The end of the lease no call under it may reach (clock differences, the failure write). */
  leaseMarginMs: number;
  /** Backoff of DynamoDB/KMS retries under the lease (they retry while a whole call still fits). */
  storeRetry: RetryPolicy;
  /** Auto-recovery backoff of a needs_reauth that consumed nothing (equal jitter, doubling). */
  recoverBaseMs: number;
  recoverCapMs: number;
  faults: { crashAfterSendRate: number };
  /** Test probe: called at each step of a refresh (crash campaigns kill a process at one of them). */
  probe?: (phase: string, connectionId: string) => void;
  random: () => number;
}

export interface CoordinatorDeps {
  store: ConnectionStore;
  lease: ConnectionLease;
  vault: TokenVault;
  secrets: SecretSource;
  scheduler: Scheduler;
  telemetry: BrokerTelemetry;
  outbox: Outbox;
  /** The fleet-wide token-endpoint rate every request (and retry) takes a slot of. */
  limiter: TokenRateLimiter;
  clock: Clock;
  config: CoordinatorConfig;
  /** The token endpoint's HTTP client (global fetch by default; the interleaving tests' IdP model). */
  fetch?: typeof fetch;
  scheduleProactive(connectionId: string, at: number): Promise<void>;
}

/**
 * needs_reauth retries by the sweeper a caller waits through (1 min doubling: about half an hour) before
 * it is told a human must act.
 */
export const MAX_SELF_RECOVERY_RETRIES = 5;

/** What a caller of a needs_reauth connection gets: come back later (self-recovering), or re-auth. */
export function notConnectedError(item: ConnectionItem): ConnectionRecoveringError | ReauthRequiredError {
  const reason = item.lastError ?? 'connection is not connected';
  if (item.autoRetry && item.retryAt !== undefined && (item.retryCount ?? 0) <= MAX_SELF_RECOVERY_RETRIES)
    return new ConnectionRecoveringError(item.connectionId, reason, item.retryAt);
  return new ReauthRequiredError(item.connectionId, reason);
}

/** An item counts as holding a usable token only if it is active and has one. */
export const stateOf = (item: ConnectionItem): TokenState => ({
  status: item.status === 'active' && item.accessToken === undefined ? 'needs_reauth' : item.status,
  version: item.version,
  expiresAt: item.expiresAt,
  issuedAt: item.issuedAt,
});
