import { describe, expect, it } from 'vitest';
import { judgeUnauthorized, lateMarginMs } from '#core/hcm/index.ts';

const T = 1_900_000_000_000;

describe('judging a 401 by the token it was sent with', () => {
  it('the margin is a quarter of the lifetime, between 1 s and 30 s', () => {
    expect(lateMarginMs({ issuedAt: T, expiresAt: T + 4_000 })).toBe(1_000);
    expect(lateMarginMs({ issuedAt: T, expiresAt: T + 2_000 })).toBe(1_000);
    expect(lateMarginMs({ issuedAt: T, expiresAt: T + 60_000 })).toBe(15_000);
    expect(lateMarginMs({ issuedAt: T, expiresAt: T + 3_600_000 })).toBe(30_000);
    // No iat: a two-minute life is assumed.
    expect(lateMarginMs({ expiresAt: T + 3_600_000 })).toBe(30_000);
  });

  it('late: expired, or within the margin, when the answer came', () => {
    const token = { issuedAt: T, expiresAt: T + 3_600_000 };
    expect(judgeUnauthorized(token, T + 3_600_001)).toBe('late');
    expect(judgeUnauthorized(token, T + 3_600_000 - 29_999)).toBe('late');
    expect(judgeUnauthorized({ issuedAt: T, expiresAt: T + 4_000 }, T + 3_500)).toBe('late');
  });

  it('refused: the token still had a clear margin left', () => {
    const token = { issuedAt: T, expiresAt: T + 3_600_000 };
    expect(judgeUnauthorized(token, T + 10_000)).toBe('refused');
    expect(judgeUnauthorized(token, T + 3_600_000 - 30_001)).toBe('refused');
    expect(judgeUnauthorized({ issuedAt: T, expiresAt: T + 4_000 }, T + 2_000)).toBe('refused');
  });
});
