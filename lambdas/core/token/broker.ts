import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConnectionLease, DEFAULT_LEASE_MS } from '#core/lease/index.ts';
import { ConnectionDisabledError, ConnectionNotFoundError } from '../errors.ts';
import {
  type Clock,
  type EventPublisher,
  type GrantType,
  type IssuedToken,
  type KeyProvider,
  type RefreshTrigger,
  type Scheduler,
  type SecretSource,
  systemClock,
} from '../ports.ts';
import { CONNECTION_TABLE } from '../tables.ts';
import {
  coordinatorConfig,
  DEFAULT_TOKEN_ENDPOINT_GUARD_MS,
  DEFAULT_TOKEN_ENDPOINT_INSTANCES,
  DEFAULT_TOKEN_ENDPOINT_RATE,
  DEFAULT_TOKEN_ENDPOINT_RATE_PER_MINUTE,
  type TokenBrokerOptions,
} from './broker-options.ts';
import { type ConnectionView, toConnectionView } from './connection/connection-item.ts';
import { ConnectionStore } from './connection/connection-store.ts';
import { Outbox } from './connection/outbox.ts';
import { assertUsable, DEFAULT_BUFFER_SECONDS, isFresh } from './expiry.ts';
import { tokenFingerprint } from './oauth/obtain.ts';
import { RefreshCoordinator } from './refresh/refresh-coordinator.ts';
import { notConnectedError, type RefreshMode, stateOf, type TokenNeed } from './refresh/refresh-request.ts';
import { SingleFlight } from './refresh/single-flight.ts';
import { type TokenRate, type TokenRateCounts, tokenEndpointRate } from './refresh/token-rate.ts';
import { inProactiveWindow, proactiveFireAt, proactiveScheduleName } from './schedule.ts';
import { runSweep, type SweepResult } from './sweeper.ts';
import { BrokerTelemetry } from './telemetry.ts';
import { TokenVault } from './token-vault.ts';

export type { TokenBrokerOptions } from './broker-options.ts';

export interface BrokerDeps {
  doc: DynamoDBDocumentClient;
  tableName?: string;
  keys: KeyProvider;
  secrets: SecretSource;
  scheduler: Scheduler;
  events: EventPublisher;
  logger: Logger;
  metrics: Metrics;
  clock?: Clock;
  /** The token endpoint's HTTP client; global fetch by default. */
  fetch?: typeof fetch;
  options?: TokenBrokerOptions;
}

export type { SweepResult } from './sweeper.ts';

export interface ProactiveResult {
  refreshed: boolean;
  version?: number;
  nextProactiveAt?: number;
  skipped?: string;
}

export interface ConnectResult {
  connectionId: string;
  status: 'active';
  version: number;
  expiresAt: number;
}

/** The token broker: the only component that talks to the token endpoint or holds plaintext tokens. */
export class TokenBroker {
  readonly store: ConnectionStore;
  readonly lease: ConnectionLease;
  private readonly coordinator: RefreshCoordinator;
  private readonly vault: TokenVault;
  private readonly flights = new SingleFlight<IssuedToken>();
  private readonly clock: Clock;
  private readonly bufferSeconds: number;
  private readonly random: () => number;
  private readonly sweepHorizonMs: number;
  private readonly sweepGraceMs: number;
  private readonly telemetry: BrokerTelemetry;
  readonly outbox: Outbox;
  private readonly tokenRate: TokenRate;

  constructor(private readonly deps: BrokerDeps) {
    const o = deps.options ?? {};
    const tableName = deps.tableName ?? CONNECTION_TABLE.defaultName;
    this.clock = deps.clock ?? systemClock;
    this.bufferSeconds = o.bufferSeconds ?? DEFAULT_BUFFER_SECONDS;
    this.random = o.random ?? Math.random;
    this.sweepHorizonMs = o.sweepHorizonMs ?? 10 * 60_000;
    this.sweepGraceMs = o.sweepGraceMs ?? 60_000;
    this.store = new ConnectionStore(deps.doc, tableName);
    this.lease = new ConnectionLease(deps.doc, tableName, o.leaseMs ?? DEFAULT_LEASE_MS);
    this.vault = new TokenVault(deps.keys);
    this.telemetry = new BrokerTelemetry(deps.logger, deps.metrics, deps.events);
    this.outbox = new Outbox(this.store, deps.events, deps.logger, o.outboxRelay ?? 'inline', this.clock);
    const config = coordinatorConfig(o);
    // In the connection table the broker already uses: every instance of the fleet shares it.
    this.tokenRate = tokenEndpointRate(
      deps.doc,
      tableName,
      {
        perSecond: o.tokenEndpointRatePerSecond ?? DEFAULT_TOKEN_ENDPOINT_RATE,
        perMinute: o.tokenEndpointRatePerMinute ?? DEFAULT_TOKEN_ENDPOINT_RATE_PER_MINUTE,
        guardMs: o.tokenEndpointGuardMs ?? DEFAULT_TOKEN_ENDPOINT_GUARD_MS,
        callTimeoutMs: config.callTimeoutMs,
        instances: o.tokenEndpointInstances ?? DEFAULT_TOKEN_ENDPOINT_INSTANCES,
        random: this.random,
      },
      this.clock,
    );
    this.coordinator = new RefreshCoordinator({
      outbox: this.outbox,
      store: this.store,
      lease: this.lease,
      vault: this.vault,
      secrets: deps.secrets,
      scheduler: deps.scheduler,
      telemetry: this.telemetry,
      limiter: this.tokenRate.limiter,
      clock: this.clock,
      fetch: deps.fetch,
      config,
    });
  }

  /**
   * A token fresh by the buffer and of at least `minVersion` (invalidate-if-same: a worker that got a 401
   * on version v passes v + 1, and N such workers cause one refresh).
   */
  async getToken(
    connectionId: string,
    opts: { minVersion?: number; trigger?: RefreshTrigger } = {},
  ): Promise<IssuedToken> {
    const minVersion = opts.minVersion ?? 0;
    const need: TokenNeed = (t, now) =>
      t.status === 'active' && t.version >= minVersion && this.fresh(t, now);
    const item = await this.store.get(connectionId);
    if (!item) throw new ConnectionNotFoundError(connectionId);
    if (item.status === 'disabled') throw new ConnectionDisabledError(connectionId);
    if (item.status === 'needs_reauth') throw notConnectedError(item);
    if (need(stateOf(item), this.clock.now())) return this.vault.open(item);
    const issued = await this.coordinate(
      connectionId,
      need,
      opts.trigger ?? (opts.minVersion ? 'afterUnauthorized' : 'jit'),
      'refresh',
    );
    return assertUsable(connectionId, issued, minVersion, this.clock.now());
  }

  /**
   * A newer token than the current one (or than `minVersion - 1`, the version a caller saw rejected):
   * refreshes unless someone already did. The wire action `refresh` calls this.
   */
  async replaceToken(
    connectionId: string,
    opts: { minVersion?: number; trigger?: RefreshTrigger } = {},
  ): Promise<IssuedToken> {
    let minVersion = opts.minVersion;
    if (minVersion === undefined) {
      const item = await this.store.get(connectionId);
      if (!item) throw new ConnectionNotFoundError(connectionId);
      minVersion = item.version + 1;
    }
    return this.getToken(connectionId, { minVersion, trigger: opts.trigger ?? 'afterUnauthorized' });
  }

  /** The one-time schedule fired: refresh if inside the proactive window, else just reschedule. */
  async proactive(connectionId: string): Promise<ProactiveResult> {
    const item = await this.store.get(connectionId);
    if (!item) throw new ConnectionNotFoundError(connectionId);
    const state = stateOf(item);
    // Not worth a Scheduler retry: a human must act first.
    if (state.status !== 'active' || item.expiresAt === undefined)
      return { refreshed: false, skipped: state.status };
    const token = { expiresAt: item.expiresAt, issuedAt: item.issuedAt };
    if (!inProactiveWindow(token, this.clock.now(), this.bufferSeconds)) {
      const at = item.nextProactiveAt ?? proactiveFireAt(token, this.bufferSeconds, this.random);
      await this.deps.scheduler.scheduleOnce(proactiveScheduleName(connectionId), new Date(at), {
        action: 'proactive',
        connectionId,
      });
      if (item.nextProactiveAt === undefined)
        await this.store.setNextProactiveAt(connectionId, at, item.version);
      return {
        refreshed: false,
        version: item.version,
        nextProactiveAt: at,
        skipped: 'not yet in the proactive window',
      };
    }
    const issued = await this.replaceVersion(connectionId, item.version, 'proactive');
    return { refreshed: issued.version > item.version, version: issued.version };
  }

  /**
   * rate(5 minutes) safety net (sweeper.ts): what the due index lists, refreshed with bounded
   * concurrency under the token-endpoint rate, stopping while a refresh still fits the invocation.
   */
  async sweep(options: { remainingTimeMs?: () => number } = {}): Promise<SweepResult> {
    const o = this.deps.options ?? {};
    const leaseMs = this.lease.durationMs;
    const result = await runSweep(
      {
        store: this.store,
        outbox: this.outbox,
        clock: this.clock,
        config: {
          horizonMs: this.sweepHorizonMs,
          graceMs: this.sweepGraceMs,
          concurrency: o.sweepConcurrency ?? 8,
          reserveMs: 2 * leaseMs + 5_000,
        },
        actions: {
          refresh: async (item) =>
            (await this.replaceVersion(item.connectionId, item.version, 'sweep')).version > item.version,
          recover: async (item) => {
            await this.coordinate(item.connectionId, (t) => t.status === 'active', 'sweep', 'recover');
          },
        },
      },
      options.remainingTimeMs ?? (() => Number.POSITIVE_INFINITY),
    );
    this.telemetry.sweepDone(result);
    return result;
  }

  /**
   * Obtains the first token from the secret (bootstrap refresh token, client credentials or a JWT
   * assertion) and makes the connection active; from needs_reauth that is a reactivation.
   */
  async connect(
    connectionId: string,
    config: { secretId: string; grant: GrantType },
  ): Promise<ConnectResult> {
    await this.store.upsertConfig(connectionId, config, this.clock.now());
    const item = await this.store.get(connectionId);
    if (!item) throw new ConnectionNotFoundError(connectionId);
    if (config.grant === 'refresh_token' && stateOf(item).status === 'active' && item.bootstrapFingerprint) {
      // Re-running connect with the bootstrap token already spent is a no-op, not a replay.
      const secret = await this.deps.secrets.getSecret(config.secretId, { bypassCache: true });
      if (
        secret.bootstrapRefreshToken &&
        tokenFingerprint(secret.bootstrapRefreshToken) === item.bootstrapFingerprint
      ) {
        const issued = await this.vault.open(item);
        return { connectionId, status: 'active', version: issued.version, expiresAt: issued.expiresAt };
      }
    }
    const issued = await this.coordinate(
      connectionId,
      (t) => t.status === 'active' && t.version > item.version,
      'connect',
      'connect',
    );
    return { connectionId, status: 'active', version: issued.version, expiresAt: issued.expiresAt };
  }

  /** The shared rate's admissions, fallback admissions, lost races and late slots of this instance (bench, metrics). */
  rateLimiterCounts(): TokenRateCounts {
    return this.tokenRate.counts();
  }

  /** Masked listing for operators: counters, expiry, lease and last error; never a token. */
  async status(connectionId?: string): Promise<{ connections: ConnectionView[] }> {
    const now = this.clock.now();
    if (connectionId !== undefined) {
      const item = await this.store.get(connectionId);
      if (!item) throw new ConnectionNotFoundError(connectionId);
      return { connections: [toConnectionView(item, now)] };
    }
    const items = await this.store.scan();
    return {
      connections: items
        .map((i) => toConnectionView(i, now))
        .sort((a, b) => a.connectionId.localeCompare(b.connectionId)),
    };
  }

  private fresh(t: { expiresAt?: number; issuedAt?: number }, now: number): boolean {
    return (
      t.expiresAt !== undefined &&
      isFresh({ expiresAt: t.expiresAt, issuedAt: t.issuedAt }, now, this.bufferSeconds)
    );
  }

  /** Refresh unless someone already replaced `version` with a fresh newer one. */
  private replaceVersion(
    connectionId: string,
    version: number,
    trigger: RefreshTrigger,
  ): Promise<IssuedToken> {
    const need: TokenNeed = (t, now) => t.status === 'active' && t.version > version && this.fresh(t, now);
    return this.coordinate(connectionId, need, trigger, 'refresh');
  }

  /**
   * In-process single flight per connection and mode. A caller that joined a flight whose result does
   * not satisfy it (it needs a newer version) starts the next flight; bounded, so it can never spin.
   */
  private async coordinate(
    connectionId: string,
    need: TokenNeed,
    trigger: RefreshTrigger,
    mode: RefreshMode,
  ): Promise<IssuedToken> {
    let issued: IssuedToken | undefined;
    for (let round = 0; round < 3; round++) {
      issued = await this.flights.run(`${mode}:${connectionId}`, () =>
        this.coordinator.run({ connectionId, trigger, mode, satisfied: need }),
      );
      if (need({ status: 'active', ...issued }, this.clock.now())) return issued;
    }
    // Reachable with a token too short-lived to satisfy the buffer, or after lost races: the newest one,
    // which getToken checks (assertUsable) before handing it out.
    return issued as IssuedToken;
  }
}
