import { type ConnectionLease, type LeaseResult, newLeaseOwner } from '#core/lease/index.ts';
import {
  ConnectionDisabledError,
  ConnectionNotFoundError,
  ConnectionRecoveringError,
  LeaseTimeoutError,
  ReauthRequiredError,
  TransientError,
} from '../../errors.ts';
import type { Clock, IssuedToken, RefreshTrigger, Scheduler, SecretSource } from '../../ports.ts';
import { sleepOn } from '../../retry.ts';
import type { ConnectionItem, ConnectionStatus } from '../connection/connection-item.ts';
import type { ConnectionStore, RetryPolicy } from '../connection/connection-store.ts';
import type { Outbox } from '../connection/outbox.ts';
import type { GrantRetryOptions } from '../oauth/grants.ts';
import { proactiveScheduleName } from '../schedule.ts';
import { type BrokerTelemetry, describe } from '../telemetry.ts';
import type { TokenVault } from '../token-vault.ts';
import type { CallBudget } from './budget.ts';
import type { TokenRateLimiter } from './rate-limiter.ts';
import { LeaseHolder } from './refresh-holder.ts';

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
  /** How late after its rate slot a request may still leave (half the limiter's guard). */
  slotSlackMs: number;
  grant: Omit<GrantRetryOptions, 'deadline' | 'now' | 'random'>;
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

/** The item's lease when one of `owners` holds it and it has not expired. */
function ownLease(
  item: ConnectionItem,
  owners: Set<string>,
  now: number,
): { owner: string; expiresAt: number } | undefined {
  const { leaseOwner, leaseExpiresAt } = item;
  if (leaseOwner === undefined || leaseExpiresAt === undefined || leaseExpiresAt <= now) return undefined;
  return owners.has(leaseOwner) ? { owner: leaseOwner, expiresAt: leaseExpiresAt } : undefined;
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

/**
 * Invariants 1, 2 and 5 across processes: take the connection's lease or wait for whoever holds it;
 * the holder re-reads, refreshes, commits (fenced) and only then returns the token.
 */
export class RefreshCoordinator {
  readonly deps: CoordinatorDeps;

  constructor(d: Omit<CoordinatorDeps, 'scheduleProactive'>) {
    this.deps = { ...d, scheduleProactive: (id, at) => this.scheduleProactive(id, at) };
  }

  private get d(): CoordinatorDeps {
    return this.deps;
  }

  async run(req: RefreshRequest): Promise<IssuedToken> {
    const { clock, config } = this.d;
    const started = clock.now();
    let delay = config.pollStartMs;
    let contended = false;
    // Owner ids this caller tried the lease with: a write that applied but whose answer was lost (the SDK's
    // retry then fails its condition on our own success, or every retry fails) is recognised on a read.
    const mine = new Set<string>();
    const hold = (owner: string, expiresAt: number) =>
      new LeaseHolder(this.d, req, owner, expiresAt, (budget) => this.read(req, budget)).run();
    for (;;) {
      const owner = newLeaseOwner();
      mine.add(owner);
      const lease = await this.tryAcquire(req, owner);
      if (lease.acquired) return hold(lease.owner, lease.expiresAt);
      if (!contended) {
        contended = true;
        this.d.telemetry.contention(req.connectionId);
        await this.d.store.addLeaseContention(req.connectionId);
      }
      // Wait for the holder: poll with equal jitter (never a zero-delay spin), doubling up to the cap.
      for (;;) {
        const waited = clock.now() - started;
        if (waited >= config.waitTimeoutMs) throw new LeaseTimeoutError(req.connectionId, waited);
        await sleepOn(
          clock,
          Math.min(delay / 2 + config.random() * (delay / 2), config.waitTimeoutMs - waited),
        );
        delay = Math.min(config.pollCapMs, delay * 2);
        const item = await this.read(req);
        const now = clock.now();
        if (req.satisfied(stateOf(item), now)) return this.d.vault.open(item);
        const ours = ownLease(item, mine, now);
        if (ours) return hold(ours.owner, ours.expiresAt);
        const leaseFree = item.leaseOwner === undefined || (item.leaseExpiresAt ?? 0) < now;
        if (leaseFree && item.lastErrorAt !== undefined && item.lastErrorAt >= started) {
          // The holder failed while we waited: report its failure instead of repeating the attempt.
          throw new TransientError(`refresh by another caller failed: ${item.lastError ?? 'unknown error'}`);
        }
        if (leaseFree) break;
      }
    }
  }

  /**
   * The conditional acquire; when it fails with an error after it may have applied, one consistent read
   * settles whether the lease is ours (never a whole lease of everyone waiting on a lost answer).
   */
  private async tryAcquire(req: RefreshRequest, owner: string): Promise<LeaseResult> {
    const { clock, lease, store } = this.d;
    try {
      return await lease.tryAcquire(req.connectionId, owner, clock.now());
    } catch (err) {
      const item = await store.get(req.connectionId).catch(() => undefined);
      const ours = item && ownLease(item, new Set([owner]), clock.now());
      if (ours) return { acquired: true, ...ours };
      throw err;
    }
  }

  /** Consistent read plus the status rules of the mode (needs_reauth -> no IdP call, unless connecting). */
  private async read(req: RefreshRequest, budget?: CallBudget): Promise<ConnectionItem> {
    const item = budget
      ? await this.d.store.getWithin(req.connectionId, budget)
      : await this.d.store.get(req.connectionId);
    if (!item) throw new ConnectionNotFoundError(req.connectionId);
    if (req.mode !== 'connect') {
      if (item.status === 'disabled') throw new ConnectionDisabledError(req.connectionId);
      if (item.status === 'needs_reauth' && !(req.mode === 'recover' && item.autoRetry)) {
        throw notConnectedError(item);
      }
    }
    return item;
  }

  /** Best effort: a schedule that fails to be created is caught by the sweeper (nextProactiveAt is stored). */
  async scheduleProactive(connectionId: string, at: number): Promise<void> {
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
