/**
 * The small ports the core depends on. AWS adapters live in lambdas/core/adapters/aws/,
 * laptop adapters in local/adapters/. DynamoDB itself is not a port: on the laptop it is dynalite,
 * a real DynamoDB API, so the same DynamoDB adapters run in both places.
 */

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /**
   * Waits `ms` of this clock (default: a real timer). The interleaving tests pass a model clock whose
   * waits their scheduler orders; see retry.ts `sleepOn`.
   */
  sleep?(ms: number): Promise<void>;
  /** A signal that aborts after `ms` of this clock (default: AbortSignal.timeout). */
  timeout?(ms: number): AbortSignal;
}
export const systemClock: Clock = { now: () => Date.now() };

/** Envelope-encryption key source: KMS in AWS, a local 0600 key file on the laptop. */
export interface KeyProvider {
  /** Identifies the wrapping key; stored beside each envelope. */
  readonly keyId: string;
  generateDataKey(
    context: Record<string, string>,
    options?: CallOptions,
  ): Promise<{ plaintext: Uint8Array; encrypted: Uint8Array }>;
  decryptDataKey(
    encrypted: Uint8Array,
    context: Record<string, string>,
    options?: CallOptions,
  ): Promise<Uint8Array>;
}

/** Per-call options for I/O made under a lease: the call is aborted before the lease ends. */
export interface CallOptions {
  abortSignal?: AbortSignal;
}

/** Static client credentials per connection (Secrets Manager in AWS, a file under the state dir locally). */
export interface SecretSource {
  /** `bypassCache`: `connect` must see a secret a human just updated, not a cached copy. */
  getSecret(secretId: string, options?: { bypassCache?: boolean }): Promise<ConnectionSecret>;
}

export type GrantType = 'refresh_token' | 'client_credentials' | 'jwt_bearer';

/**
 * The JSON stored in the connection's secret. Rotating tokens are NOT here: they live encrypted in
 * the connection item in DynamoDB (Secrets Manager's write rate is too low for them).
 */
export interface ConnectionSecret {
  tokenUrl: string;
  clientId: string;
  /** Required for client_secret_basic; absent for a pure JWT-bearer connection. */
  clientSecret?: string;
  scope?: string;
  /**
   * PEM private key (PKCS#8) that signs assertions: the jwt_bearer grant's user assertion, and the client
   * assertion that authenticates a client without `clientSecret`.
   */
  privateKeyPem?: string;
  /** Assertion header `kid`: the alias the key's certificate was imported under in the IDCS app. */
  keyId?: string;
  /** jwt_bearer: the Fusion user name the token acts for (assertion `sub`). */
  subject?: string;
  /** Assertion `aud`; default `https://identity.oraclecloud.com/` (IDCS also takes the domain URL). */
  audience?: string;
  /**
   * refresh_token grant: the refresh token a human obtained out of band; only `connect` reads it.
   * After that the rotating refresh token lives encrypted in DynamoDB.
   */
  bootstrapRefreshToken?: string;
}

/** One-time schedules for proactive refresh (EventBridge Scheduler in AWS, timers locally). */
export interface Scheduler {
  /** Creates or replaces the one-time schedule `name` firing at `at` with `payload`. */
  scheduleOnce(name: string, at: Date, payload: Record<string, unknown>): Promise<void>;
  cancel(name: string): Promise<void>;
}

export type EventType =
  | 'connection.needs_reauth'
  | 'connection.reactivated'
  | 'connection.refresh_failed'
  | 'sync.completed'
  | 'sync.failed'
  /** A run handed over to a new execution of itself before the timeout (status continuing, not terminal). */
  | 'sync.continued'
  /** Two goals of one key that two POSTs of ours made (sync/twins.ts): a person decides which goes. */
  | 'sync.twins_found';

/** EventBridge in AWS, an in-process bus locally. Details must already be redacted (no secrets). */
export interface EventPublisher {
  publish(type: EventType, detail: Record<string, unknown>): Promise<void>;
}

/** What the broker hands out: the only shape in which an access token leaves the broker. */
export interface IssuedToken {
  accessToken: string;
  /** Epoch ms, from the JWT `exp` (or `expires_in`). */
  expiresAt: number;
  /** The connection's fencing number when this token was committed. */
  version: number;
  /** Epoch ms the token was issued (JWT `iat`): lets callers cap the freshness buffer for short lifetimes. */
  issuedAt?: number;
}

export type RefreshTrigger = 'proactive' | 'jit' | 'afterUnauthorized' | 'sweep' | 'connect';

/** How workers get tokens: invokes the TokenBroker Lambda in AWS, calls its handler in-process locally. */
export interface TokenProvider {
  /**
   * A token fresh by the configured buffer. With `minVersion`, a token of at least that version is
   * returned (invalidate-if-same: pass the version that just got a 401 plus one).
   */
  getToken(
    connectionId: string,
    options?: { minVersion?: number; trigger?: RefreshTrigger },
  ): Promise<IssuedToken>;
}
