import { describe, expect, it } from 'vitest';
import {
  effectiveBufferMs,
  inProactiveWindow,
  proactiveFireAt,
  proactiveOffsetBounds,
  proactiveOffsetMs,
  proactiveScheduleName,
} from '#core/token/index.ts';

const T0 = Date.UTC(2030, 0, 1);
const seeded = (seed: number) => () => {
  // Small LCG: reproducible spread over [0, 1).
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};

describe('proactive schedule offset', () => {
  it('draws 60..720 s for an hour-long token (the spread scales with the lifetime), covering the whole range', () => {
    const random = seeded(7);
    const draws = Array.from({ length: 2_000 }, () => proactiveOffsetMs(3_600_000, random));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(60_000);
    expect(Math.max(...draws)).toBeLessThanOrEqual(720_000);
    // Spread, not a constant: both ends of the range are reached within 2% of its width.
    expect(Math.min(...draws)).toBeLessThan(62_400);
    expect(Math.max(...draws)).toBeGreaterThan(177_600);
  });

  it('hits the exact bounds at random() = 0 and random() -> 1', () => {
    expect(proactiveOffsetMs(3_600_000, () => 0)).toBe(60_000);
    expect(proactiveOffsetMs(3_600_000, () => 0.999_999_9)).toBe(720_000);
  });

  it('scales into [10%, 30%] of short lifetimes', () => {
    expect(proactiveOffsetBounds(10_000)).toEqual({ min: 1_000, max: 3_000 });
    expect(proactiveOffsetBounds(300_000)).toEqual({ min: 30_000, max: 90_000 });
    const random = seeded(3);
    for (let i = 0; i < 500; i++) {
      const offset = proactiveOffsetMs(10_000, random);
      expect(offset).toBeGreaterThanOrEqual(1_000);
      expect(offset).toBeLessThanOrEqual(3_000);
    }
  });

  it('always fires before the token goes stale, for every lifetime from 3 s to 24 h', () => {
    const random = seeded(11);
    for (const lifetimeSeconds of [3, 5, 10, 30, 60, 300, 900, 3600, 86_400]) {
      const token = { issuedAt: T0, expiresAt: T0 + lifetimeSeconds * 1000 };
      const staleAt = token.expiresAt - effectiveBufferMs(token, 120);
      for (let i = 0; i < 200; i++) {
        const at = proactiveFireAt(token, 120, random);
        expect(at).toBeLessThan(staleAt);
        expect(at).toBeGreaterThan(token.issuedAt);
        expect(inProactiveWindow(token, at, 120)).toBe(true);
      }
    }
  });

  it('refuses to refresh well before the window (a stale or duplicate fire only reschedules)', () => {
    const token = { issuedAt: T0, expiresAt: T0 + 3_600_000 };
    expect(inProactiveWindow(token, T0 + 60_000, 120)).toBe(false);
    expect(inProactiveWindow(token, token.expiresAt - 120_000 - 720_000, 120)).toBe(true);
  });
});

describe('proactiveScheduleName', () => {
  it('keeps simple ids readable and within EventBridge limits', () => {
    expect(proactiveScheduleName('tenant-a_hcm.prod')).toBe('token-refresh-tenant-a_hcm.prod');
  });

  it('hashes ids with forbidden characters or too long, deterministically and distinctly', () => {
    const a = proactiveScheduleName('tenant a/hcm');
    const b = proactiveScheduleName('x'.repeat(80));
    expect(a).toMatch(/^[0-9A-Za-z_.-]{1,64}$/);
    expect(b).toMatch(/^[0-9A-Za-z_.-]{1,64}$/);
    expect(a).toBe(proactiveScheduleName('tenant a/hcm'));
    expect(a).not.toBe(proactiveScheduleName('tenant b/hcm'));
  });
});
