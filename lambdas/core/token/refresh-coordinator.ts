import { randomUUID } from 'node:crypto';
import {
  ConfigError,
  ConnectionDisabledError,
  ConnectionNotFoundError,
  LeaseTimeoutError,
  ReauthRequiredError,
  TokenCommitError,
  TransientError,
} from '../errors.ts';
import { type ConnectionLease, newLeaseOwner } from '../lease/lease.ts';
import type { Clock, IssuedToken, RefreshTrigger, Scheduler, SecretSource } from '../ports.ts';
import { sleep } from '../retry.ts';
import type { ConnectionItem, ConnectionStatus } from './connection-item.ts';
import type { ConnectionStore } from './connection-store.ts';
import { type GrantRetryOptions, RefreshTokenMayBeConsumedError, type TokenSet } from './grants.ts';
import { obtainForConnection } from './obtain.ts';
import { proactiveFireAt, proactiveScheduleName } from './schedule.ts';
import { type BrokerTelemetry, describe } from './telemetry.ts';
import { GrantRejectedError } from './token-endpoint.ts';
import type { TokenVault } from './token-vault.ts';

export type RefreshMode = 'refresh' | 'connect';

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
  commitRetry?: { attempts: number; baseMs: number; capMs: number };
  random: () => number;
}

export interface CoordinatorDeps {
  store: ConnectionStore;
  lease: ConnectionLease;
  vault: TokenVault;
  secrets: SecretSource;
  scheduler: Scheduler;
  telemetry: BrokerTelemetry;
  clock: Clock;
  config: CoordinatorConfig;
}

/** An item counts as holding a usable token only if it is active and has one. */
export const stateOf = (item: ConnectionItem): TokenState => ({
  status: item.status === 'active' && item.accessToken === undefined ? 'needs_reauth' : item.status,
  version: item.version,
  expiresAt: item.expiresAt,
  issuedAt: item.issuedAt,
});

/**
 * Invariants 1, 2 and 5 across processes: take the connection's lease or wait for whoever holds it;
 * the holder re-reads, refreshes, commits (fenced) and only then returns the token.
 */
export class RefreshCoordinator {
  constructor(private readonly d: CoordinatorDeps) {}

  async run(req: RefreshRequest): Promise<IssuedToken> {
    const { clock, config } = this.d;
    const started = clock.now();
    let delay = config.pollStartMs;
    let contended = false;
    for (;;) {
      const owner = newLeaseOwner();
      const lease = await this.d.lease.tryAcquire(req.connectionId, owner, clock.now());
      if (lease.acquired) return this.underLease(req, owner, lease.expiresAt);
      if (!contended) {
        contended = true;
        this.d.telemetry.contention(req.connectionId);
        await this.d.store.addLeaseContention(req.connectionId);
      }
      // Wait for the holder: poll with equal jitter (never a zero-delay spin), doubling up to the cap.
      for (;;) {
        const waited = clock.now() - started;
        if (waited >= config.waitTimeoutMs) throw new LeaseTimeoutError(req.connectionId, waited);
        await sleep(Math.min(delay / 2 + config.random() * (delay / 2), config.waitTimeoutMs - waited));
        delay = Math.min(config.pollCapMs, delay * 2);
        const item = await this.read(req);
        const now = clock.now();
        if (req.satisfied(stateOf(item), now)) return this.d.vault.open(item);
        const leaseFree = item.leaseOwner === undefined || (item.leaseExpiresAt ?? 0) < now;
        if (leaseFree && item.lastErrorAt !== undefined && item.lastErrorAt >= started) {
          // The holder failed while we waited: report its failure instead of repeating the attempt.
          throw new TransientError(`refresh by another caller failed: ${item.lastError ?? 'unknown error'}`);
        }
        if (leaseFree) break;
      }
    }
  }

  /** Consistent read plus the status rules of the mode (needs_reauth -> no IdP call, unless connecting). */
  private async read(req: RefreshRequest): Promise<ConnectionItem> {
    const item = await this.d.store.get(req.connectionId);
    if (!item) throw new ConnectionNotFoundError(req.connectionId);
    if (req.mode === 'refresh') {
      if (item.status === 'disabled') throw new ConnectionDisabledError(req.connectionId);
      if (item.status === 'needs_reauth') {
        throw new ReauthRequiredError(req.connectionId, item.lastError ?? 'connection is not connected');
      }
    }
    return item;
  }

  private async underLease(req: RefreshRequest, owner: string, leaseExpiresAt: number): Promise<IssuedToken> {
    const { store, vault, clock, telemetry, config } = this.d;
    let leaseHandled = false;
    try {
      // Someone may have committed between our check and the lease: never refresh twice.
      const item = await this.read(req);
      if (req.satisfied(stateOf(item), clock.now())) return await vault.open(item);

      let obtained: { tokens: TokenSet; refreshTokenToStore?: string; bootstrapFingerprint?: string };
      try {
        obtained = await obtainForConnection(item, req.mode, {
          secrets: this.d.secrets,
          vault,
          retry: {
            ...config.grant,
            skewSeconds: config.skewSeconds,
            deadline: leaseExpiresAt - config.commitReserveMs,
            now: () => clock.now(),
            random: config.random,
          },
        });
      } catch (err) {
        leaseHandled = true;
        return await this.fail(item, owner, req, err);
      }

      const { tokens } = obtained;
      const commitId = randomUUID();
      const accessTokenEnvelope = await vault.seal(req.connectionId, tokens.accessToken);
      const refreshTokenEnvelope =
        obtained.refreshTokenToStore !== undefined
          ? await vault.seal(req.connectionId, obtained.refreshTokenToStore)
          : undefined;
      const nextProactiveAt = proactiveFireAt(tokens, config.bufferSeconds, config.random);
      let version: number;
      try {
        version = await store.commit(
          {
            connectionId: req.connectionId,
            expectedVersion: item.version,
            owner,
            commitId,
            accessTokenEnvelope,
            refreshTokenEnvelope,
            bootstrapFingerprint: obtained.bootstrapFingerprint,
            expiresAt: tokens.expiresAt,
            issuedAt: tokens.issuedAt,
            trigger: req.trigger,
            nextProactiveAt,
            now: clock.now(),
          },
          config.commitRetry,
        );
        leaseHandled = true; // the commit released it
      } catch (err) {
        leaseHandled = true;
        return await this.commitFailed(item, owner, req, tokens, err);
      }

      const issued: IssuedToken = {
        accessToken: tokens.accessToken,
        expiresAt: tokens.expiresAt,
        version,
        issuedAt: tokens.issuedAt,
      };
      vault.remember(req.connectionId, accessTokenEnvelope, issued);
      telemetry.refreshed(req.connectionId, req.trigger, version, tokens.expiresAt);
      if (item.status === 'needs_reauth' && item.version > 0)
        await telemetry.reactivated(req.connectionId, version);
      await this.scheduleProactive(req.connectionId, nextProactiveAt);
      return issued;
    } finally {
      if (!leaseHandled) await this.d.lease.release(req.connectionId, owner).catch(() => undefined);
    }
  }

  /** Fatal -> needs_reauth + event, no retry. Transient (retries exhausted) -> recorded, lease released. */
  private async fail(item: ConnectionItem, owner: string, req: RefreshRequest, err: unknown): Promise<never> {
    const { store, telemetry, clock } = this.d;
    telemetry.refreshFailed(req.connectionId, req.trigger, err);
    const reason = fatalReason(err);
    if (reason !== undefined) {
      const marked = await store.markNeedsReauth(
        req.connectionId,
        reason,
        { expectedVersion: item.version, owner },
        clock.now(),
      );
      if (!marked) {
        // Fenced out: our lease expired and someone else moved the connection on. Let the caller re-read.
        await this.d.lease.release(req.connectionId, owner).catch(() => undefined);
        throw new TransientError(
          `lost the refresh lease of ${req.connectionId} while refreshing`,
          undefined,
          { cause: err },
        );
      }
      await telemetry.needsReauth(req.connectionId, reason, req.trigger);
      throw new ReauthRequiredError(req.connectionId, reason, { cause: err });
    }
    await store.recordFailureAndRelease(req.connectionId, owner, describe(err).message, clock.now());
    if (err instanceof TransientError) await telemetry.refreshFailedEvent(req.connectionId, req.trigger, err);
    throw err;
  }

  /**
   * Invariant 2's failure case: the token endpoint answered but the write did not land. The endpoint
   * is never called again with the old refresh token; if the IdP rotated it, the new one is lost with
   * the failed write, so the connection is flagged for re-auth rather than left to trip reuse detection.
   */
  private async commitFailed(
    item: ConnectionItem,
    owner: string,
    req: RefreshRequest,
    tokens: TokenSet,
    err: unknown,
  ): Promise<never> {
    const { store, telemetry, clock } = this.d;
    telemetry.refreshFailed(req.connectionId, req.trigger, err);
    await this.d.lease.release(req.connectionId, owner).catch(() => undefined);
    if (item.grant === 'refresh_token' && tokens.refreshToken !== undefined) {
      const reason = 'rotated refresh token could not be persisted';
      const marked = await store
        .markNeedsReauth(req.connectionId, reason, { expectedVersion: item.version }, clock.now())
        .catch(() => false);
      if (marked) await telemetry.needsReauth(req.connectionId, reason, req.trigger);
    }
    throw err instanceof TokenCommitError ? err : new TokenCommitError(req.connectionId, { cause: err });
  }

  /** Best effort: a schedule that fails to be created is caught by the sweeper (nextProactiveAt is stored). */
  private async scheduleProactive(connectionId: string, at: number): Promise<void> {
    try {
      await this.d.scheduler.scheduleOnce(proactiveScheduleName(connectionId), new Date(at), {
        action: 'proactive',
        connectionId,
      });
    } catch (err) {
      this.d.telemetry.logger.warn('proactive schedule not created; the sweeper will cover it', {
        connectionId,
        error: describe(err),
      });
    }
  }
}

/** The reason to flag needs_reauth, or undefined when the failure is worth retrying later. */
function fatalReason(err: unknown): string | undefined {
  if (err instanceof GrantRejectedError) return err.message;
  if (err instanceof RefreshTokenMayBeConsumedError) return `${err.reason} (${err.message})`;
  if (err instanceof ReauthRequiredError) return err.reason;
  if (err instanceof ConfigError) return `configuration: ${err.message}`;
  return undefined;
}
