import { createHash } from 'node:crypto';
import { ConfigError, GrantRejectedError, ReauthRequiredError } from '../../errors.ts';
import type { CallOptions, ConnectionSecret, SecretSource } from '../../ports.ts';
import type { ConnectionItem } from '../connection/connection-item.ts';
import type { LifetimeOptions } from '../expiry.ts';
import type { TokenVault } from '../token-vault.ts';
import { type GrantRetryOptions, obtainToken, type TokenSet } from './grants.ts';

export interface Obtained {
  tokens: TokenSet;
  /** The refresh token to persist with this commit (rotated, or the bootstrap one); undefined keeps the stored one. */
  refreshTokenToStore?: string;
  bootstrapFingerprint?: string;
}

/** Not reversible, short: enough to recognise a bootstrap refresh token that was already spent. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

/** What a grant needs, read under the lease before anything is sent. */
export interface PreparedGrant {
  secret: ConnectionSecret;
  /** refresh_token grant: the token about to be sent (stored one, or the bootstrap one on connect). */
  refreshToken?: string;
  bootstrapFingerprint?: string;
}

/**
 * Picks the grant input for a connection (stored refresh token, or the secret's bootstrap token on
 * `connect`). Runs only under the connection's lease; decrypting the stored token is a KMS call
 * bounded by the lease (`options`).
 */
export async function prepareGrant(
  item: ConnectionItem,
  mode: 'refresh' | 'connect',
  deps: { secrets: SecretSource; vault: TokenVault },
  options?: CallOptions,
): Promise<PreparedGrant> {
  const secret = await deps.secrets.getSecret(item.secretId, { bypassCache: mode === 'connect' });
  if (item.grant !== 'refresh_token') return { secret };
  if (mode === 'connect') {
    const refreshToken = secret.bootstrapRefreshToken;
    if (!refreshToken) throw new ConfigError(`secret ${item.secretId} has no bootstrapRefreshToken`);
    const bootstrapFingerprint = tokenFingerprint(refreshToken);
    if (
      bootstrapFingerprint === item.bootstrapFingerprint ||
      bootstrapFingerprint === item.refreshInFlightFingerprint ||
      item.spentFingerprints?.includes(bootstrapFingerprint)
    ) {
      // Replaying a spent (or possibly spent) refresh token would trip reuse detection and revoke the grant.
      throw new ReauthRequiredError(
        item.connectionId,
        'the secret still holds the bootstrap refresh token already used; store a new one',
      );
    }
    return { secret, refreshToken, bootstrapFingerprint };
  }
  const refreshToken = await deps.vault.openRefreshToken(item, options);
  if (!refreshToken)
    throw new ReauthRequiredError(item.connectionId, 'no refresh token stored; connect again');
  return { secret, refreshToken };
}

/** Calls the token endpoint with a prepared grant. */
export async function callGrant(
  item: ConnectionItem,
  prepared: PreparedGrant,
  mode: 'refresh' | 'connect',
  deps: { secrets: SecretSource; retry: GrantRetryOptions & LifetimeOptions },
): Promise<Obtained> {
  const { refreshToken } = prepared;
  const tokens = await obtainWithCurrentSecret(item, prepared.secret, refreshToken, mode, deps);
  return {
    tokens,
    refreshTokenToStore:
      item.grant === 'refresh_token'
        ? (tokens.refreshToken ?? (mode === 'connect' ? refreshToken : undefined))
        : undefined,
    bootstrapFingerprint: prepared.bootstrapFingerprint,
  };
}

/**
 * invalid_client right after a client-secret rotation usually means our cached copy is stale: re-read
 * the secret once, and retry only if it actually changed. Client authentication fails before the grant
 * is processed, so the refresh token was not consumed and resending it is safe.
 */
async function obtainWithCurrentSecret(
  item: ConnectionItem,
  secret: ConnectionSecret,
  refreshToken: string | undefined,
  mode: 'refresh' | 'connect',
  deps: { secrets: SecretSource; retry: GrantRetryOptions & LifetimeOptions },
): Promise<TokenSet> {
  try {
    return await obtainToken({ grant: item.grant, secret, refreshToken }, deps.retry);
  } catch (err) {
    if (mode === 'connect' || !(err instanceof GrantRejectedError) || err.oauthError !== 'invalid_client')
      throw err;
    const fresh = await deps.secrets.getSecret(item.secretId, { bypassCache: true });
    if (
      fresh.clientId === secret.clientId &&
      fresh.clientSecret === secret.clientSecret &&
      fresh.privateKeyPem === secret.privateKeyPem
    ) {
      throw err;
    }
    return obtainToken({ grant: item.grant, secret: fresh, refreshToken }, deps.retry);
  }
}
