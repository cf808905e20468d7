import { randomUUID } from 'node:crypto';
import type { PreparedSeal } from '#core/crypto/index.ts';
import { isTransientAwsError } from '../../aws-errors.ts';
import {
  ConfigError,
  ConnectionRecoveringError,
  CryptoError,
  GrantRejectedError,
  ReauthRequiredError,
  RefreshTokenMayBeConsumedError,
  SimulatedCrashError,
  TokenCommitError,
  TransientError,
} from '../../errors.ts';
import type { IssuedToken } from '../../ports.ts';
import { protocolGuards } from '../../protocol-guards.ts';
import { sleepOn, timeoutOn } from '../../retry.ts';
import type { ConnectionItem } from '../connection/connection-item.ts';
import { type CommitInput, fencedOut, isFencedOut } from '../connection/connection-store.ts';
import { outboxEvent } from '../connection/outbox.ts';

import {
  callGrant,
  type Obtained,
  type PreparedGrant,
  prepareGrant,
  tokenFingerprint,
} from '../oauth/obtain.ts';
import { DEFAULT_TOKEN_TIMEOUT_MS } from '../oauth/token-endpoint.ts';
import { proactiveFireAt } from '../schedule.ts';
import { describe } from '../telemetry.ts';
import { CallBudget, retryWithin } from './budget.ts';
import type { CoordinatorDeps, RefreshRequest } from './refresh-request.ts';
import { MAX_SELF_RECOVERY_RETRIES, stateOf } from './refresh-request.ts';

export const REFRESH_OUTCOME_UNKNOWN = 'refresh outcome unknown';
const COMMIT_FAILED = 'rotated refresh token could not be persisted';

/**
 * One refresh under a held lease (invariants 1, 2, 5): read, [marker], grant, extend, seal, commit.
 * Every DynamoDB and KMS call runs within the lease (CallBudget); every way out either commits, records
 * the failure (clearing the marker only when nothing may have been consumed), or leaves the marker for
 * the next holder to turn into needs_reauth "refresh outcome unknown".
 */
export class LeaseHolder {
  private readonly budget: CallBudget;
  /** Fingerprint of the refresh token this holder marked as about to be sent. */
  private markedFingerprint: string | undefined;

  constructor(
    private readonly d: CoordinatorDeps,
    private readonly req: RefreshRequest,
    private readonly owner: string,
    private readonly leaseExpiresAt: number,
    private readonly read: (budget: CallBudget) => Promise<ConnectionItem>,
  ) {
    const { config, clock } = d;
    this.budget = new CallBudget(leaseExpiresAt - config.leaseMarginMs, clock, config.callTimeoutMs);
  }

  async run(): Promise<IssuedToken> {
    const { vault, clock } = this.d;
    let item: ConnectionItem;
    try {
      item = await this.read(this.budget);
    } catch (err) {
      await this.release();
      throw err;
    }
    if (this.req.satisfied(stateOf(item), clock.now())) {
      await this.release();
      return vault.open(item);
    }
    if (item.refreshInFlight !== undefined && this.req.mode !== 'connect' && protocolGuards.inFlightMarker)
      return this.staleMarker(item);
    this.probe('acquired');

    let obtained: Obtained;
    let seals: Seals | undefined;
    try {
      const prepared = await prepareGrant(item, grantMode(this.req), this.d, this.budget.call('KMS Decrypt'));
      // Everything that can wait or fail before the send comes before the marker: a holder that dies
      // waiting for a rate slot leaves no "outcome unknown" behind for a request it never sent, and a
      // KMS outage found here costs nothing, where after the answer it would cost the rotated token.
      if (protocolGuards.keysBeforeSend) seals = await this.prepareSeals(item);
      this.probe('prepared');
      if (protocolGuards.slotBeforeMarker) {
        // Nothing waits between the marker and the send: a marker write slower than the slot's slack
        // sends a little late rather than wait for another slot with the marker written (a holder
        // dying in that wait would leave "outcome unknown" for a request never sent). The fleet's
        // rates keep IDCS's limits far enough away for that (15/s of 40/s, 900/min of 1,000/min).
        await this.firstSlot();
        this.probe('slotted');
        await this.writeMarker(item, prepared);
      } else {
        await this.writeMarker(item, prepared);
        await this.firstSlot();
        this.probe('slotted');
      }
      this.probe('sending');
      let first = true;
      obtained = await callGrant(item, prepared, grantMode(this.req), {
        secrets: this.d.secrets,
        retry: {
          ...this.d.config.grant,
          skewSeconds: this.d.config.skewSeconds,
          deadline: this.leaseExpiresAt - this.d.config.commitReserveMs,
          now: () => clock.now(),
          sleep: (ms) => sleepOn(clock, ms),
          timeout: (ms) => timeoutOn(clock, ms),
          fetch: this.d.fetch,
          random: this.d.config.random,
          // The first attempt's slot was taken above; each retry takes its own.
          admit: async (latestStart) => {
            if (first) first = false;
            else await this.d.limiter.acquire(latestStart);
          },
        },
      });
    } catch (err) {
      discardSeals(seals);
      return this.grantFailed(item, err);
    }
    this.probe('answered');
    if (this.d.config.faults.crashAfterSendRate > this.d.config.random()) {
      discardSeals(seals);
      throw new SimulatedCrashError('simulated broker crash after the token endpoint answered');
    }
    return this.commit(item, obtained, seals);
  }

  /** Both data keys of the commit, fetched before the send (the refresh one only for a rotating grant). */
  private async prepareSeals(item: ConnectionItem): Promise<Seals> {
    const { vault, config } = this.d;
    const opts = { ...config.storeRetry, retryOn: isTransientAwsError };
    const key = (purpose: 'access' | 'refresh') =>
      retryWithin(
        this.budget,
        'KMS GenerateDataKey',
        (o) => vault.prepareSeal(item.connectionId, purpose, o),
        opts,
      );
    const [access, refresh] = await Promise.allSettled([
      key('access'),
      item.grant === 'refresh_token' ? key('refresh') : Promise.resolve(undefined),
    ]);
    if (access.status === 'fulfilled' && refresh.status === 'fulfilled')
      return { access: access.value, refresh: refresh.value };
    discardSeals({
      access: access.status === 'fulfilled' ? access.value : undefined,
      refresh: refresh.status === 'fulfilled' ? refresh.value : undefined,
    });
    throw access.status === 'rejected' ? access.reason : (refresh as PromiseRejectedResult).reason;
  }

  /** The rate slot of the first attempt, by the last moment the attempt could still start. */
  private async firstSlot(): Promise<void> {
    const { config, limiter } = this.d;
    const timeoutMs = config.grant.timeoutMs ?? DEFAULT_TOKEN_TIMEOUT_MS;
    await limiter.acquire(this.leaseExpiresAt - config.commitReserveMs - timeoutMs);
  }

  private async writeMarker(item: ConnectionItem, prepared: PreparedGrant): Promise<void> {
    if (prepared.refreshToken === undefined || !protocolGuards.inFlightMarker) return;
    const ok = await this.d.store.markInFlight(
      {
        connectionId: item.connectionId,
        owner: this.owner,
        expectedVersion: item.version,
        fingerprint: tokenFingerprint(prepared.refreshToken),
        now: this.d.clock.now(),
      },
      this.budget,
    );
    if (!ok) throw new TransientError(`lost the refresh lease of ${item.connectionId} before sending`);
    this.markedFingerprint = tokenFingerprint(prepared.refreshToken);
  }

  private async commit(
    item: ConnectionItem,
    obtained: Obtained,
    prepared: Seals | undefined,
  ): Promise<IssuedToken> {
    const { vault, clock, config, telemetry } = this.d;
    const { tokens } = obtained;
    let version: number;
    let accessTokenEnvelope: string;
    let seals: Seals | undefined = prepared;
    const nextProactiveAt = proactiveFireAt(tokens, config.bufferSeconds, config.random);
    const reactivation = item.status === 'needs_reauth' && item.version > 0;
    try {
      await this.extend();
      this.probe('extended');
      // Mutation B5 only: without keys taken before the send, KMS is called here, after the token was spent.
      seals = prepared ?? (await this.prepareSeals(item));
      const access = seals.access.seal(tokens.accessToken);
      const refresh = await this.sealRefresh(item, obtained.refreshTokenToStore, seals.refresh);
      accessTokenEnvelope = access;
      this.probe('sealed');
      version = await this.commitPersisting({
        connectionId: item.connectionId,
        expectedVersion: item.version,
        expectedStatus: item.status,
        owner: this.owner,
        commitId: randomUUID(),
        accessTokenEnvelope: access,
        refreshTokenEnvelope: refresh,
        bootstrapFingerprint: obtained.bootstrapFingerprint,
        expiresAt: tokens.expiresAt,
        issuedAt: tokens.issuedAt,
        trigger: this.req.trigger,
        nextProactiveAt,
        event: reactivation
          ? outboxEvent(
              'connection.reactivated',
              item.connectionId,
              { version: item.version + 1 },
              clock.now(),
            )
          : undefined,
        now: clock.now(),
      });
    } catch (err) {
      discardSeals(seals);
      return this.commitFailed(item, obtained, err);
    }
    this.probe('committed');
    const issued: IssuedToken = {
      accessToken: tokens.accessToken,
      expiresAt: tokens.expiresAt,
      version,
      issuedAt: tokens.issuedAt,
    };
    vault.remember(item.connectionId, accessTokenEnvelope, issued);
    telemetry.refreshed(item.connectionId, this.req.trigger, version, tokens.expiresAt);
    if (reactivation) {
      telemetry.reactivated(item.connectionId, version);
      await this.d.outbox.afterTransition(item.connectionId);
    }
    await this.d.scheduleProactive(item.connectionId, nextProactiveAt);
    return issued;
  }

  /** With the key taken before the send; a KMS call only if a refresh token came back unforeseen. */
  private async sealRefresh(
    item: ConnectionItem,
    refreshToken: string | undefined,
    prepared: PreparedSeal | undefined,
  ): Promise<string | undefined> {
    if (refreshToken === undefined) {
      prepared?.discard();
      return undefined;
    }
    if (prepared) return prepared.seal(refreshToken);
    const { vault, config } = this.d;
    return retryWithin(
      this.budget,
      'KMS GenerateDataKey',
      (o) => vault.seal(item.connectionId, 'refresh', refreshToken, o),
      { ...config.storeRetry, retryOn: isTransientAwsError },
    );
  }

  /**
   * The commit, retried past the lease until it lands or another owner fences it out. Its write is
   * conditioned on this owner, version and status, so it can land only while no one else has taken the
   * lease (whoever does finds the in-flight marker and flags it), and that marker, not the lease's clock,
   * keeps the spent token from being sent again. Between rounds a read tells "fenced" from "still ours";
   * commitPersistMs only bounds how long one invocation keeps trying.
   */
  private async commitPersisting(input: CommitInput): Promise<number> {
    const { store, clock, config } = this.d;
    if (!protocolGuards.commitPersistsPastLease) return store.commit(input, this.budget);
    const giveUpAt = clock.now() + config.commitPersistMs;
    const roundMs = Math.max(3 * config.callTimeoutMs, 1_000);
    let round = this.budget; // first: what is left of the (extended) lease
    for (let attempt = 0; ; attempt++) {
      try {
        return await store.commit(input, round);
      } catch (err) {
        if (isFencedOut(err)) throw err;
        const { baseMs, capMs, random } = config.storeRetry;
        const pause = Math.floor(random() * Math.min(capMs, baseMs * 2 ** attempt));
        if (clock.now() + pause + config.callTimeoutMs > giveUpAt) throw err;
        await sleepOn(clock, pause);
        const seen = await this.commitState(input);
        if (seen === 'landed') return input.expectedVersion + 1;
        if (seen === 'fenced') throw fencedOut(input.connectionId, err);
        round = new CallBudget(Math.min(giveUpAt, clock.now() + roundMs), clock, config.callTimeoutMs);
      }
    }
  }

  /** One consistent read between commit rounds; 'unknown' when even the read fails (keep trying). */
  private async commitState(input: CommitInput): Promise<'landed' | 'fenced' | 'ours' | 'unknown'> {
    const { store, clock, config } = this.d;
    let item: ConnectionItem | undefined;
    try {
      item = await store.get(input.connectionId, { abortSignal: timeoutOn(clock, config.callTimeoutMs) });
    } catch {
      return 'unknown';
    }
    if (item?.lastCommitId === input.commitId) return 'landed';
    const ours =
      item !== undefined &&
      item.leaseOwner === this.owner &&
      item.version === input.expectedVersion &&
      item.status === input.expectedStatus;
    return ours ? 'ours' : 'fenced';
  }

  /** Right after the grant returned: the sealing and the commit get a whole lease of their own. */
  private async extend(): Promise<void> {
    const { lease, clock, config } = this.d;
    if (!protocolGuards.leaseBoundCommit) return;
    try {
      const extended = await retryWithin(
        this.budget,
        'lease extend',
        (o) => lease.extend(this.req.connectionId, this.owner, clock.now(), o),
        { ...config.storeRetry, retryOn: isTransientAwsError },
      );
      if (extended === false) throw new TransientError(`lost the refresh lease of ${this.req.connectionId}`);
      this.budget.extendTo(extended - config.leaseMarginMs);
    } catch (err) {
      if (err instanceof TransientError && err.message.startsWith('lost the refresh lease')) throw err;
      // Not extended (slow or throttled): the commit still has the rest of the original lease.
      this.d.telemetry.logger.warn('lease not extended', {
        connectionId: this.req.connectionId,
        error: describe(err),
      });
    }
  }

  /** A marker left by a holder that died or lost its answer: the stored refresh token is never sent. */
  private async staleMarker(item: ConnectionItem): Promise<never> {
    this.probe('stale-marker');
    await this.toNeedsReauth(item, REFRESH_OUTCOME_UNKNOWN, undefined);
    throw new ReauthRequiredError(item.connectionId, REFRESH_OUTCOME_UNKNOWN);
  }

  /** Fatal -> needs_reauth (auto-retried when nothing rotating was consumed). Transient -> recorded, lease released. */
  private async grantFailed(item: ConnectionItem, err: unknown): Promise<never> {
    const { telemetry } = this.d;
    telemetry.refreshFailed(item.connectionId, this.req.trigger, err);
    const reason = fatalReason(err);
    if (reason !== undefined) {
      const recoverable = consumedNothing(err, item.grant === 'refresh_token');
      const retry = recoverable ? this.nextRetry(item) : undefined;
      const marked = await this.toNeedsReauth(item, reason, retry).catch(async (e: unknown) => {
        // Mutation B3 only: the pre-fix holder forgot its "never resend" decision when this write failed.
        if (!protocolGuards.unknownOutcomeKeepsMarker) await this.recordFailure(item, err);
        throw e;
      });
      if (!marked)
        throw new TransientError(
          `lost the refresh lease of ${item.connectionId} while refreshing`,
          undefined,
          { cause: err },
        );
      if (retry && retry.count <= MAX_SELF_RECOVERY_RETRIES && this.req.mode !== 'recover')
        throw new ConnectionRecoveringError(item.connectionId, reason, retry.at, { cause: err });
      throw err instanceof ReauthRequiredError
        ? err
        : new ReauthRequiredError(item.connectionId, reason, { cause: err });
    }
    // Transient grant failures (429, 5xx, not sent) consumed nothing; an unclear one is fatal above.
    await this.recordFailure(item, err, this.req.mode === 'recover' ? this.nextRetry(item) : undefined);
    if (err instanceof TransientError && this.req.mode !== 'recover')
      await telemetry.refreshFailedEvent(item.connectionId, this.req.trigger, err);
    throw err;
  }

  /**
   * The token endpoint answered but the pair could not be persisted. If it rotated the refresh token the
   * old one is spent and the new one lost: needs_reauth in one owner+status-conditioned retried write
   * (if even that fails, the marker stays and the next holder does it). Otherwise nothing was lost.
   */
  private async commitFailed(item: ConnectionItem, obtained: Obtained, err: unknown): Promise<never> {
    const { telemetry } = this.d;
    telemetry.refreshFailed(item.connectionId, this.req.trigger, err);
    const rotated = item.grant === 'refresh_token' && obtained.tokens.refreshToken !== undefined;
    if (rotated && !protocolGuards.commitFailureUnderLease) await this.recordFailure(item, err);
    if (rotated) {
      await this.toNeedsReauth(item, COMMIT_FAILED, undefined).catch((e: unknown) =>
        telemetry.logger.error('needs_reauth not written; the in-flight marker stays', {
          error: describe(e),
        }),
      );
    } else {
      await this.recordFailure(item, err);
    }
    throw err instanceof TokenCommitError ? err : new TokenCommitError(item.connectionId, { cause: err });
  }

  /** One conditioned, retried transition write; its event is drained from the outbox. */
  private async toNeedsReauth(
    item: ConnectionItem,
    reason: string,
    retry: { at: number; count: number } | undefined,
  ): Promise<boolean> {
    const { store, clock, telemetry, outbox } = this.d;
    const now = clock.now();
    // A token a marker named (another holder's, or this one's) may be spent: remembered past the marker.
    const spentFingerprint = item.refreshInFlightFingerprint ?? this.markedFingerprint;
    const event =
      item.status === 'needs_reauth'
        ? undefined // no status change, no second event
        : outboxEvent(
            'connection.needs_reauth',
            item.connectionId,
            { reason, trigger: this.req.trigger, autoRetry: retry !== undefined },
            now,
          );
    const result = await store.markNeedsReauth(
      {
        connectionId: item.connectionId,
        owner: this.owner,
        from: item.status,
        reason,
        retry,
        event,
        ...(spentFingerprint ? { spentFingerprint } : {}),
        transitionId: event?.eventId ?? randomUUID(),
        now,
      },
      this.failureBudget(),
    );
    if (result === 'fenced') return false;
    if (event) {
      telemetry.needsReauth(item.connectionId, reason, this.req.trigger);
      await outbox.afterTransition(item.connectionId);
    }
    return true;
  }

  /**
   * The failure record: the error, the lease given back, the in-flight marker cleared. Only for failures
   * that consumed nothing (and for the mutation check's reverted guards); best effort, the lease expires anyway.
   */
  private async recordFailure(
    item: ConnectionItem,
    err: unknown,
    retry?: { at: number; count: number },
  ): Promise<void> {
    await this.d.store
      .recordFailureAndRelease(
        {
          connectionId: item.connectionId,
          owner: this.owner,
          message: describe(err).message,
          now: this.d.clock.now(),
          clearMarker: true,
          retry,
        },
        this.failureBudget(),
      )
      .catch((e: unknown) =>
        this.d.telemetry.logger.warn('failure record not written', { error: describe(e) }),
      );
  }

  private nextRetry(item: ConnectionItem): { at: number; count: number } {
    const { recoverBaseMs, recoverCapMs, random } = this.d.config;
    const count = (item.retryCount ?? 0) + 1;
    const ceiling = Math.min(recoverCapMs, recoverBaseMs * 2 ** (count - 1));
    return { at: this.d.clock.now() + Math.floor(ceiling / 2 + (random() * ceiling) / 2), count };
  }

  /** Failure writes are owner-conditioned, so they may run past the lease: a few call timeouts more. */
  private failureBudget(): CallBudget {
    const { clock, config } = this.d;
    return new CallBudget(clock.now() + 3 * config.callTimeoutMs, clock, config.callTimeoutMs);
  }

  private async release(): Promise<void> {
    await this.d.lease.release(this.req.connectionId, this.owner).catch(() => undefined);
  }

  private probe(phase: string): void {
    this.d.config.probe?.(phase, this.req.connectionId);
  }
}

const grantMode = (req: RefreshRequest): 'refresh' | 'connect' =>
  req.mode === 'connect' ? 'connect' : 'refresh';

/** The reason to flag needs_reauth, or undefined when the failure is worth retrying later. */
function fatalReason(err: unknown): string | undefined {
  if (err instanceof GrantRejectedError) return err.message;
  if (err instanceof RefreshTokenMayBeConsumedError) return `${err.reason} (${err.message})`;
  if (err instanceof ReauthRequiredError) return err.reason;
  if (err instanceof ConfigError) return `configuration: ${err.message}`;
  // A renamed connection, a copied item, a key the broker may no longer use: no retry opens it.
  if (err instanceof CryptoError) return `stored refresh token cannot be decrypted: ${err.message}`;
  return undefined;
}

/**
 * Whether a fatal failure left nothing rotating spent, so a later retry cannot hurt: grants without a
 * rotating secret, configuration errors (nothing sent), and client authentication failures (IDCS checks
 * the client before it processes the refresh token).
 */
function consumedNothing(err: unknown, rotating: boolean): boolean {
  if (err instanceof ConfigError) return true;
  if (err instanceof GrantRejectedError)
    return !rotating || err.oauthError === 'invalid_client' || err.oauthError === 'unauthorized_client';
  return false;
}

interface Seals {
  access: PreparedSeal;
  refresh: PreparedSeal | undefined;
}

function discardSeals(seals: Partial<Seals> | undefined): void {
  seals?.access?.discard();
  seals?.refresh?.discard();
}
