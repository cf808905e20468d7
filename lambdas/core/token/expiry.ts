import { decodeJwt } from 'jose';
import { TransientError } from '../errors.ts';

/** Defaults of invariant 4: a token is fresh only if it outlives now + buffer. */
export const DEFAULT_BUFFER_SECONDS = 120;
export const DEFAULT_CLOCK_SKEW_SECONDS = 30;
/** The buffer never eats more than this share of a token's lifetime (3-30 s demo tokens stay usable). */
export const MAX_BUFFER_SHARE = 0.25;
/** Opaque token without `expires_in`: assume a short life rather than trusting a nominal hour. */
export const FALLBACK_LIFETIME_SECONDS = 300;

/** When a token stops being usable, on our clock (epoch ms). */
export interface TokenLifetime {
  expiresAt: number;
  issuedAt: number;
}

export interface LifetimeOptions {
  /** Largest IdP-vs-local clock difference we take the JWT's absolute `exp` at face value for. */
  skewSeconds?: number;
}

/**
 * Expiry from the token itself: JWT `exp`/`iat` (decoded, not verified: the resource server verifies),
 * falling back to `expires_in`. If the IdP clock disagrees with ours by more than the allowed skew,
 * the token's own lifetime (exp - iat) is anchored to the moment we received it instead, so a drifting
 * clock can neither make us use an expired token nor refresh a valid one in a loop.
 */
export function readTokenLifetime(
  accessToken: string,
  expiresInSeconds: number | undefined,
  receivedAt: number,
  options: LifetimeOptions = {},
): TokenLifetime {
  const skewMs = (options.skewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS) * 1000;
  const claims = decodeClaims(accessToken);
  if (claims?.exp !== undefined) {
    const expMs = claims.exp * 1000;
    const iatMs = claims.iat !== undefined ? claims.iat * 1000 : undefined;
    if (iatMs !== undefined && Math.abs(receivedAt - iatMs) > skewMs) {
      return { issuedAt: receivedAt, expiresAt: receivedAt + Math.max(0, expMs - iatMs) };
    }
    // No iat: the expires_in the IdP sent with it (if any) is the lifetime; else measure from receipt.
    const issuedAt = iatMs ?? (expiresInSeconds !== undefined ? expMs - expiresInSeconds * 1000 : receivedAt);
    return { issuedAt, expiresAt: expMs };
  }
  const lifetimeSeconds = expiresInSeconds ?? FALLBACK_LIFETIME_SECONDS;
  return { issuedAt: receivedAt, expiresAt: receivedAt + lifetimeSeconds * 1000 };
}

function decodeClaims(token: string): { exp?: number; iat?: number } | undefined {
  if (token.split('.').length !== 3) return undefined;
  try {
    const payload = decodeJwt(token);
    return {
      exp: typeof payload.exp === 'number' ? payload.exp : undefined,
      iat: typeof payload.iat === 'number' ? payload.iat : undefined,
    };
  } catch {
    // Opaque tokens that happen to contain two dots: fall back to expires_in.
    return undefined;
  }
}

/** The buffer actually applied: the configured one, capped at 25% of the lifetime when that is known. */
export function effectiveBufferMs(
  token: { expiresAt: number; issuedAt?: number },
  bufferSeconds = DEFAULT_BUFFER_SECONDS,
): number {
  const bufferMs = bufferSeconds * 1000;
  if (token.issuedAt === undefined) return bufferMs;
  const lifetimeMs = Math.max(0, token.expiresAt - token.issuedAt);
  return Math.min(bufferMs, Math.floor(lifetimeMs * MAX_BUFFER_SHARE));
}

/** Invariant 4: fresh only if the token outlives now + (effective) buffer. */
export function isFresh(
  token: { expiresAt: number; issuedAt?: number },
  now: number,
  bufferSeconds = DEFAULT_BUFFER_SECONDS,
): boolean {
  return token.expiresAt - effectiveBufferMs(token, bufferSeconds) > now;
}

/**
 * What may be handed to a caller: a token of at least `minVersion` that has not expired. A token too
 * short-lived to satisfy the buffer is still usable; an older or expired one is a TransientError (the
 * caller retries later), never a token that would earn a 401 or hide the refresh the caller asked for.
 */
export function assertUsable<T extends { version: number; expiresAt: number }>(
  connectionId: string,
  token: T,
  minVersion: number,
  now: number,
): T {
  if (token.version < minVersion)
    throw new TransientError(
      `connection ${connectionId}: no token of version ${minVersion} or newer could be obtained (newest: ${token.version})`,
    );
  if (token.expiresAt <= now)
    throw new TransientError(
      `connection ${connectionId}: the newest token (version ${token.version}) expired before it could be used`,
    );
  return token;
}
