import { type LeaseResult, newLeaseOwner } from '#core/lease/index.ts';
import {
  ConnectionDisabledError,
  ConnectionNotFoundError,
  LeaseTimeoutError,
  TransientError,
} from '../../errors.ts';
import type { IssuedToken } from '../../ports.ts';
import { sleepOn } from '../../retry.ts';
import type { ConnectionItem } from '../connection/connection-item.ts';
import { proactiveScheduleName } from '../schedule.ts';
import { describe } from '../telemetry.ts';
import type { CallBudget } from './budget.ts';
import { LeaseHolder } from './refresh-holder.ts';
import { type CoordinatorDeps, notConnectedError, type RefreshRequest, stateOf } from './refresh-request.ts';

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
