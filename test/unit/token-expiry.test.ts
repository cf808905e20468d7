import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BUFFER_SECONDS,
  effectiveBufferMs,
  FALLBACK_LIFETIME_SECONDS,
  isFresh,
  readTokenLifetime,
} from '#core/token/index.ts';

const secret = new TextEncoder().encode('k'.repeat(32));
async function jwt(claims: { iat?: number; exp?: number }): Promise<string> {
  const token = new SignJWT({}).setProtectedHeader({ alg: 'HS256' });
  if (claims.iat !== undefined) token.setIssuedAt(claims.iat);
  if (claims.exp !== undefined) token.setExpirationTime(claims.exp);
  return token.sign(secret);
}

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const sec = (ms: number) => Math.floor(ms / 1000);

describe('readTokenLifetime', () => {
  it('takes exp and iat from the JWT when the clocks agree', async () => {
    const token = await jwt({ iat: sec(T0), exp: sec(T0) + 3600 });
    expect(readTokenLifetime(token, 10, T0 + 2_000)).toEqual({ issuedAt: T0, expiresAt: T0 + 3_600_000 });
  });

  it('prefers the JWT exp over a contradicting expires_in', async () => {
    const token = await jwt({ iat: sec(T0), exp: sec(T0) + 600 });
    expect(readTokenLifetime(token, 3600, T0).expiresAt).toBe(T0 + 600_000);
  });

  it('falls back to expires_in for opaque tokens', () => {
    expect(readTokenLifetime('opaque-token-value', 900, T0)).toEqual({
      issuedAt: T0,
      expiresAt: T0 + 900_000,
    });
  });

  it('assumes a short fallback lifetime when an opaque token has no expires_in', () => {
    expect(readTokenLifetime('opaque', undefined, T0).expiresAt).toBe(T0 + FALLBACK_LIFETIME_SECONDS * 1000);
  });

  it('treats a dotted non-JWT as opaque', () => {
    expect(readTokenLifetime('not.a.jwt', 60, T0).expiresAt).toBe(T0 + 60_000);
  });

  it('uses expires_in to date a JWT without iat', async () => {
    const token = await jwt({ exp: sec(T0) + 300 });
    expect(readTokenLifetime(token, 300, T0 + 1_000)).toEqual({ issuedAt: T0, expiresAt: T0 + 300_000 });
  });

  it('anchors the lifetime to receipt when the IdP clock is off by more than the skew', async () => {
    // IdP clock 10 minutes ahead of ours: trusting exp would keep a dead token "fresh" for 10 minutes.
    const idpNow = T0 + 600_000;
    const token = await jwt({ iat: sec(idpNow), exp: sec(idpNow) + 3600 });
    expect(readTokenLifetime(token, undefined, T0)).toEqual({ issuedAt: T0, expiresAt: T0 + 3_600_000 });
  });

  it('keeps absolute exp within the allowed skew and anchors beyond a custom skew', async () => {
    const token = await jwt({ iat: sec(T0) + 20, exp: sec(T0) + 3620 });
    expect(readTokenLifetime(token, undefined, T0).expiresAt).toBe(T0 + 3_620_000);
    expect(readTokenLifetime(token, undefined, T0, { skewSeconds: 5 }).expiresAt).toBe(T0 + 3_600_000);
  });
});

describe('isFresh and the effective buffer', () => {
  it('uses the full 120 s buffer for an hour-long token', () => {
    const token = { issuedAt: T0, expiresAt: T0 + 3_600_000 };
    expect(effectiveBufferMs(token)).toBe(DEFAULT_BUFFER_SECONDS * 1000);
    expect(isFresh(token, token.expiresAt - 120_001)).toBe(true);
    expect(isFresh(token, token.expiresAt - 120_000)).toBe(false);
  });

  it('caps the buffer at 25% of the lifetime for short tokens', () => {
    const token = { issuedAt: T0, expiresAt: T0 + 8_000 };
    expect(effectiveBufferMs(token)).toBe(2_000);
    expect(isFresh(token, T0 + 5_999)).toBe(true);
    expect(isFresh(token, T0 + 6_000)).toBe(false);
  });

  it('honours a configured buffer', () => {
    const token = { issuedAt: T0, expiresAt: T0 + 3_600_000 };
    expect(isFresh(token, token.expiresAt - 20_000, 30)).toBe(false);
    expect(isFresh(token, token.expiresAt - 40_000, 30)).toBe(true);
  });

  it('applies the uncapped buffer when the issue time is unknown', () => {
    expect(isFresh({ expiresAt: T0 + 100_000 }, T0)).toBe(false);
    expect(isFresh({ expiresAt: T0 + 121_000 }, T0)).toBe(true);
  });

  it('never considers an expired token fresh', () => {
    expect(isFresh({ issuedAt: T0, expiresAt: T0 + 3_000 }, T0 + 3_000, 0)).toBe(false);
  });
});
