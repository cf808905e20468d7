import type { IssuedToken } from '../ports.ts';

/**
 * How a 401 is judged (issue 26). A resource server may check the token at any moment until it answers,
 * and its clock may differ from ours by a little; so a 401 on a token that was expired, or nearly, when
 * the answer came is token timing (a slow machine, a queue behind the pacer, a slow pod): refresh and
 * retry. Only a 401 on a token that still had a clear margin left says the grant itself is refused.
 */
export type UnauthorizedCause = 'late' | 'refused';

/** Lifetime assumed for the margin when the token does not say when it was issued. */
const UNKNOWN_LIFETIME_MS = 120_000;
/** The margin is a quarter of the lifetime, within these bounds (1 s covers second-resolution `exp`). */
const MIN_MARGIN_MS = 1_000;
const MAX_MARGIN_MS = 30_000;
const MARGIN_SHARE = 0.25;

/** Refresh-and-retry rounds one call makes for 401s caused by token timing, each with a newer token. */
export const MAX_LATE_TOKEN_RETRIES = 4;

export function lateMarginMs(token: Pick<IssuedToken, 'expiresAt' | 'issuedAt'>): number {
  const lifetimeMs =
    token.issuedAt !== undefined ? Math.max(0, token.expiresAt - token.issuedAt) : UNKNOWN_LIFETIME_MS;
  return Math.min(MAX_MARGIN_MS, Math.max(MIN_MARGIN_MS, lifetimeMs * MARGIN_SHARE));
}

export function judgeUnauthorized(
  token: Pick<IssuedToken, 'expiresAt' | 'issuedAt'>,
  answeredAt: number,
): UnauthorizedCause {
  return token.expiresAt - answeredAt < lateMarginMs(token) ? 'late' : 'refused';
}
