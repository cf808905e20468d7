import {
  AmbiguousTokenResponseError,
  ConfigError,
  NotStartedError,
  RefreshTokenMayBeConsumedError,
  TransientError,
} from '../../errors.ts';
import type { ConnectionSecret, GrantType } from '../../ports.ts';
import { protocolGuards } from '../../protocol-guards.ts';
import { withBackoff } from '../../retry.ts';
import { type LifetimeOptions, readTokenLifetime } from '../expiry.ts';
import { CLIENT_ASSERTION_TYPE, signClientAssertion, signUserAssertion } from './assertions.ts';
import { DEFAULT_TOKEN_TIMEOUT_MS, postTokenRequest, type TokenResponse } from './token-endpoint.ts';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** What a successful grant yields, plaintext: it exists only between the token endpoint and the commit. */
export interface TokenSet {
  accessToken: string;
  /** A rotated refresh token (refresh_token grant) or the first one (connect); absent if the IdP sent none. */
  refreshToken?: string;
  expiresAt: number;
  issuedAt: number;
}

export interface GrantRetryOptions {
  /** Total attempts including the first (default 4). */
  attempts?: number;
  baseMs?: number;
  capMs?: number;
  timeoutMs?: number;
  /** Absolute epoch ms after which no new attempt starts (the lease must outlive the refresh). */
  deadline?: number;
  random?: () => number;
  now?: () => number;
  /** Backoff waits and request timeouts on the caller's clock (a model clock in interleaving tests). */
  sleep?: (ms: number) => Promise<void>;
  timeout?: (ms: number) => AbortSignal;
  fetch?: typeof fetch;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /**
   * Waits for a slot of the shared token-endpoint rate right before each attempt is sent (retries
   * count against the rate too); throws NotStartedError when none comes by `latestStart`.
   */
  admit?: (latestStart: number) => Promise<void>;
}

export interface GrantInput {
  grant: GrantType;
  secret: ConnectionSecret;
  /** refresh_token grant: the current (decrypted) refresh token. */
  refreshToken?: string;
}

export const GRANT_DEFAULTS = { attempts: 4, baseMs: 200, capMs: 5_000 } as const;

/**
 * Obtains a token with one grant, retrying transient failures with full jitter. The one exception is
 * the ambiguous refresh_token case: the old refresh token may already be spent, so it is never resent.
 */
export async function obtainToken(
  input: GrantInput,
  options: GrantRetryOptions & LifetimeOptions = {},
): Promise<TokenSet> {
  const now = options.now ?? Date.now;
  const response = await withBackoff(
    async () => {
      const timeoutMs = options.timeoutMs ?? DEFAULT_TOKEN_TIMEOUT_MS;
      // Issue 11 case 5: an attempt with a clipped timeout reads a slow answer as "maybe consumed".
      if (options.deadline !== undefined && now() + timeoutMs > options.deadline) {
        throw new NotStartedError(
          `token request not sent: ${Math.max(0, options.deadline - now())} ms left under the lease, an attempt may take ${timeoutMs} ms`,
        );
      }
      if (options.admit) {
        const latestStart =
          options.deadline === undefined ? Number.POSITIVE_INFINITY : options.deadline - timeoutMs;
        await options.admit(latestStart);
        if (now() > latestStart)
          throw new NotStartedError('token request not sent: the rate slot came too late for the lease');
      }
      const form = await grantForm(input, now());
      try {
        return await postTokenRequest({
          tokenUrl: input.secret.tokenUrl,
          form,
          basicAuth: basicAuthOf(input.secret),
          timeoutMs,
          now: now,
          fetch: options.fetch,
          timeout: options.timeout,
        });
      } catch (err) {
        if (input.grant === 'refresh_token' && mayHaveBeenProcessed(err)) {
          throw new RefreshTokenMayBeConsumedError(err.message, undefined, { cause: err });
        }
        throw err;
      }
    },
    {
      attempts: options.attempts ?? GRANT_DEFAULTS.attempts,
      baseMs: options.baseMs ?? GRANT_DEFAULTS.baseMs,
      capMs: options.capMs ?? GRANT_DEFAULTS.capMs,
      random: options.random,
      // A retry is worth its backoff only if the whole next attempt still fits after it.
      deadline:
        options.deadline === undefined
          ? undefined
          : options.deadline - (options.timeoutMs ?? DEFAULT_TOKEN_TIMEOUT_MS),
      now,
      sleep: options.sleep,
      onRetry: options.onRetry,
      retryOn: (err) =>
        err instanceof TransientError &&
        !(err instanceof RefreshTokenMayBeConsumedError) &&
        !(err instanceof NotStartedError),
    },
  );
  return toTokenSet(response, now(), options);
}

/**
 * For a rotating grant, whether a failed attempt may have rotated the refresh token. Only an answer that
 * proves the request was not processed allows a resend: a refused connection (never sent), a 429, or a
 * 503 with Retry-After. A 500, 502, 504 or 408 can come from a gateway after the IdP rotated (issue 26).
 */
function mayHaveBeenProcessed(err: unknown): err is TransientError {
  if (err instanceof AmbiguousTokenResponseError) return true;
  if (!(err instanceof TransientError) || err.status === undefined) return false;
  // Mutation B8 only: the pre-fix client took every 5xx as "nothing consumed".
  if (!protocolGuards.unknownStatusNotResent) return false;
  if (err.status === 429) return false;
  if (err.status === 503 && err.retryAfterMs !== undefined) return false;
  return err.status >= 500 || err.status === 408;
}

function toTokenSet(response: TokenResponse, receivedAt: number, opts: LifetimeOptions): TokenSet {
  const lifetime = readTokenLifetime(response.access_token, response.expires_in, receivedAt, opts);
  return {
    accessToken: response.access_token,
    refreshToken: response.refresh_token,
    expiresAt: lifetime.expiresAt,
    issuedAt: lifetime.issuedAt,
  };
}

function basicAuthOf(secret: ConnectionSecret): { clientId: string; clientSecret: string } | undefined {
  return secret.clientSecret ? { clientId: secret.clientId, clientSecret: secret.clientSecret } : undefined;
}

/**
 * The form body of one grant. The client authenticates with HTTP Basic when the secret has a client
 * secret, otherwise with a client assertion signed by its key (IDCS takes either). Exported for unit tests.
 */
export async function grantForm(input: GrantInput, now: number): Promise<URLSearchParams> {
  const { secret } = input;
  const form = new URLSearchParams();
  switch (input.grant) {
    case 'refresh_token':
      if (!input.refreshToken) throw new ConfigError('refresh_token grant without a refresh token');
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', input.refreshToken);
      break;
    case 'client_credentials':
      form.set('grant_type', 'client_credentials');
      break;
    case 'jwt_bearer':
      form.set('grant_type', JWT_BEARER_GRANT);
      form.set('assertion', await signUserAssertion(secret, now));
      break;
  }
  // A refresh keeps the grant's original scope (RFC 6749 6: omitted = unchanged), so none is sent.
  if (secret.scope && input.grant !== 'refresh_token') form.set('scope', secret.scope);
  if (!secret.clientSecret) {
    if (!secret.privateKeyPem) {
      throw new ConfigError(
        `${input.grant} grant needs clientSecret (HTTP Basic) or privateKeyPem (client assertion) in the connection secret`,
      );
    }
    form.set('client_id', secret.clientId);
    form.set('client_assertion_type', CLIENT_ASSERTION_TYPE);
    form.set('client_assertion', await signClientAssertion(secret, now));
  }
  return form;
}
