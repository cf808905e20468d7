import type { JWK } from 'jose';
import type { IdpTimeline } from '../timeline/types.ts';

/**
 * One registered OAuth client (an IDCS confidential app). The private JWK signs its assertions; the IdP
 * trusts the matching certificate, imported under `certificateAlias`, as IDCS does.
 */
export interface IdpClient {
  clientId: string;
  /** '' for a client without a secret: it authenticates with `client_assertion` only. */
  clientSecret: string;
  /** HTTP Basic or `client_assertion` (client_secret_basic), or `client_assertion` only (private_key_jwt). */
  tokenEndpointAuthMethod: 'client_secret_basic' | 'private_key_jwt';
  /** public+private JWK (RS256) for jwt-bearer */
  privateJwk: JWK;
  publicJwk: JWK;
  /** The alias the certificate was imported under: an assertion's `kid` must equal it. */
  certificateAlias: string;
  /** Self-signed certificate of `publicJwk`; an assertion's `x5t` is its SHA-1 thumbprint. */
  certificatePem: string;
}

export interface IdpOptions {
  /** default '127.0.0.1' */
  host?: string;
  /** default 0 (random) */
  port?: number;
  /** default 3600 */
  accessTokenTtlSeconds?: number;
  /** default 604800 */
  refreshTokenTtlSeconds?: number;
  /** default 40 (IDCS "Token Mgmt" for Oracle Apps); 0 = unlimited */
  rateLimitPerSecond?: number;
  /** default 1000 (IDCS "Token Mgmt" for Oracle Apps), in any 60-second window; 0 = unlimited */
  rateLimitPerMinute?: number;
  /**
   * The Fusion user names the identity domain knows: a user assertion's `sub` must be one of them.
   * Default [DEFAULT_SUBJECT].
   */
  users?: string[];
  /** persist keys, clients, grants, tokens here */
  stateDir?: string;
  /** default ['goal-sync']; secrets generated (or loaded from stateDir) */
  clientIds?: string[];
  /**
   * Clients without a secret: they authenticate with a signed `client_assertion` only (IDCS "client
   * assertion", RFC 7523 2.2). Default none.
   */
  assertionOnlyClientIds?: string[];
  faults?: Partial<IdpFaults>;
}

export interface IdpFaults {
  /** Fixed delay added to every admitted token request. */
  latencyMs: number;
  /** Uniform extra delay in [0, jitterMs). */
  jitterMs: number;
  /** Probability [0, 1] that an admitted token request answers `errorStatus` without touching any token. */
  errorRate: number;
  errorStatus: 500 | 503;
  /** Probability [0, 1] that a successful token response is committed server-side, then the socket is destroyed. */
  dropAfterIssueRate: number;
  /**
   * Probability [0, 1] that a successful token response is committed server-side (a rotation included),
   * then replaced by a gateway's 502: what a load balancer in front of the IdP answers when its upstream
   * went away after doing the work. No client can tell it from a 5xx that touched nothing.
   */
  gatewayErrorAfterIssueRate: number;
  /** Every refresh_token / jwt-bearer request answers 400 invalid_grant (no token is consumed). */
  forceInvalidGrant: boolean;
  /** Token bucket rate and burst; 0 disables the limit. */
  rateLimitPerSecond: number;
  /** Admitted requests in any 60-second window; 0 disables the limit. */
  rateLimitPerMinute: number;
}

export interface IdpStats {
  /** every request that reached /oauth2/v1/token */
  tokenRequests: number;
  /** 'refresh_token' | 'client_credentials' | 'urn:ietf:params:oauth:grant-type:jwt-bearer' ('unknown' if unparsable) */
  byGrant: Record<string, number>;
  /** statuses clients saw: '200' | '400' | '401' | '429' | '500' | '503' (dropped responses are not counted here) */
  byStatus: Record<string, number>;
  accessTokensIssued: number;
  /** successful refresh_token grants (including those whose response was then dropped) */
  refreshes: number;
  /** consumed refresh token presented again (grant revoked) */
  reuseDetections: number;
  /** grants revoked for any reason (reuse, admin revoke, /revoke) */
  revocations: number;
  /** 429s, either limit */
  rateLimited: number;
  /** of those, 429s from the per-minute limit */
  rateLimitedPerMinute: number;
  injectedErrors: number;
  droppedResponses: number;
  /** successful answers replaced by a gateway's 502 (gatewayErrorAfterIssueRate) */
  gatewayErrorsAfterIssue: number;
  /** by OAuth error code: invalid_grant, invalid_client, temporarily_unavailable, server_error, ... */
  errors: Record<string, number>;
  /** grants minted through issueRefreshToken (the browserless "consent") */
  grantsIssued: number;
  /** requests that reached /oauth2/v1/revoke */
  revokeRequests: number;
}

export interface IdpSim {
  /** http://127.0.0.1:PORT, also the `iss` of every token */
  readonly issuer: string;
  /** same as issuer: the base URL of the simulator */
  readonly url: string;
  readonly tokenUrl: string;
  readonly revokeUrl: string;
  readonly jwksUrl: string;
  readonly clients: readonly IdpClient[];
  issueRefreshToken(opts: {
    clientId: string;
    subject?: string;
    scope?: string;
  }): Promise<{ refreshToken: string; grantId: string }>;
  /** admin revoke / password change */
  revokeGrant(grantId: string): Promise<void>;
  revokeClientGrants(clientId: string): Promise<number>;
  stats(): IdpStats;
  /** Arrival time (epoch ms) of every token request since the last reset. */
  tokenRequestTimes(): number[];
  /** Issued access tokens and token endpoint answers over time (the run report's charts). */
  timeline(): IdpTimeline;
  resetStats(): void;
  setFaults(f: Partial<IdpFaults>): IdpFaults;
  faults(): IdpFaults;
  /** Changes the lifetime of access tokens issued from now on (benchmarks shorten it mid-run). */
  setAccessTokenTtlSeconds(seconds: number): void;
  close(): Promise<void>;
}
