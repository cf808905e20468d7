import {
  type Clock,
  type IssuedToken,
  type RefreshTrigger,
  systemClock,
  type TokenProvider,
} from '../ports.ts';
import { assertUsable, DEFAULT_BUFFER_SECONDS, isFresh } from './expiry.ts';
import type { BrokerRequest } from './protocol.ts';
import { SingleFlight } from './refresh/single-flight.ts';

/** How a worker reaches the broker: Lambda Invoke in AWS, a direct handler call on the laptop. */
export interface BrokerTransport {
  call<T>(req: BrokerRequest): Promise<T>;
}

export interface BrokerTokenProviderOptions {
  /** Same meaning as the broker's buffer; a cached token is reused while fresh by it. Default 120 s. */
  bufferSeconds?: number;
  clock?: Clock;
}

/**
 * The worker side of the broker: caches the last token per connection in memory, asks the broker only
 * when it is no longer fresh or a newer version is required, and shares one request among concurrent
 * callers. `getToken(id, { minVersion: v + 1 })` after a 401 on version v is the invalidate-if-same path.
 */
export class BrokerTokenProvider implements TokenProvider {
  private readonly cache = new Map<string, IssuedToken>();
  private readonly flights = new SingleFlight<IssuedToken>();
  private readonly bufferSeconds: number;
  private readonly clock: Clock;
  /** Broker round trips made (for reports and tests). */
  requests = 0;

  constructor(
    private readonly transport: BrokerTransport,
    options: BrokerTokenProviderOptions = {},
  ) {
    this.bufferSeconds = options.bufferSeconds ?? DEFAULT_BUFFER_SECONDS;
    this.clock = options.clock ?? systemClock;
  }

  async getToken(
    connectionId: string,
    options: { minVersion?: number; trigger?: RefreshTrigger } = {},
  ): Promise<IssuedToken> {
    const minVersion = options.minVersion ?? 0;
    const usable = (t: IssuedToken | undefined): t is IssuedToken =>
      t !== undefined && t.version >= minVersion && isFresh(t, this.clock.now(), this.bufferSeconds);
    const cached = this.cache.get(connectionId);
    if (usable(cached)) return cached;
    // Callers asking for the same minVersion share one broker request; the broker single-flights the rest.
    return this.flights.run(`${connectionId}#${minVersion}`, () =>
      this.fetch(connectionId, minVersion, options.trigger),
    );
  }

  /** Drops the cached token of a connection (e.g. the connection was re-connected). */
  forget(connectionId: string): void {
    this.cache.delete(connectionId);
  }

  private async fetch(
    connectionId: string,
    minVersion: number,
    trigger: RefreshTrigger | undefined,
  ): Promise<IssuedToken> {
    this.requests++;
    const req: BrokerRequest = {
      action: 'get',
      connectionId,
      ...(minVersion > 0 ? { minVersion } : {}),
      ...(trigger ? { trigger } : {}),
    };
    const token = await this.transport.call<IssuedToken>(req);
    const current = this.cache.get(connectionId);
    if (!current || token.version >= current.version) this.cache.set(connectionId, token);
    // The broker checks this too; a worker that sent an older or expired token would earn a 401.
    return assertUsable(connectionId, token, minVersion, this.clock.now());
  }
}
