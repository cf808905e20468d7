import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsumedTwiceError, GrantStore } from '../../local/idp/grant-store.ts';
import {
  defaultFaults,
  faultDelayMs,
  mergeFaults,
  SlidingMinute,
  TokenBucket,
} from '../../local/idp/idp-faults.ts';

describe('TokenBucket', () => {
  it('admits a burst of one second, then refills at the rate, and says how long to wait', () => {
    let now = 0;
    const bucket = new TokenBucket(4, () => now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([0, 0, 0, 0]);
    expect(bucket.take()).toBe(250);
    now += 100;
    expect(bucket.take()).toBe(150);
    now += 150;
    expect(bucket.take()).toBe(0);
  });

  it('treats rate 0 as unlimited and starts a new rate with a full bucket', () => {
    let now = 0;
    const bucket = new TokenBucket(0, () => now);
    for (let i = 0; i < 100; i++) expect(bucket.take()).toBe(0);
    bucket.setRate(1);
    expect(bucket.take()).toBe(0);
    expect(bucket.take()).toBe(1000);
    now += 1000;
    expect(bucket.take()).toBe(0);
  });
});

describe('SlidingMinute', () => {
  it('admits the limit in any 60 s window, says when the oldest leaves, and counts only what it admits', () => {
    let now = 0;
    const minute = new SlidingMinute(3, () => now);
    const take = () => {
      const wait = minute.waitMs();
      if (wait === 0) minute.admit();
      return wait;
    };
    expect([take(), take()]).toEqual([0, 0]);
    now = 40_000;
    expect(take()).toBe(0);
    expect(take()).toBe(20_000);
    now = 59_999;
    // Refused requests took no place: still the same three admissions, the first leaving at 60,000.
    expect(take()).toBe(1);
    now = 60_000;
    expect([take(), take(), take()]).toEqual([0, 0, 40_000]);
  });

  it('treats 0 as unlimited and starts a new limit with an empty window', () => {
    let now = 0;
    const minute = new SlidingMinute(0, () => now);
    for (let i = 0; i < 2000; i++) {
      expect(minute.waitMs()).toBe(0);
      minute.admit();
    }
    minute.setLimit(1);
    expect(minute.waitMs()).toBe(0);
    minute.admit();
    expect(minute.waitMs()).toBe(60_000);
    now = 60_000;
    expect(minute.waitMs()).toBe(0);
  });
});

describe('faults', () => {
  it('merges partial patches and rejects out-of-range or unknown fields', () => {
    const f = mergeFaults(defaultFaults(), { errorRate: 0.5 });
    expect(mergeFaults(f, { latencyMs: 10 })).toMatchObject({
      errorRate: 0.5,
      latencyMs: 10,
      rateLimitPerSecond: 40,
      rateLimitPerMinute: 1000,
    });
    expect(() => mergeFaults(f, { errorRate: 1.5 })).toThrow();
    expect(() => mergeFaults(f, { errorStatus: 502 as 503 })).toThrow();
    expect(() => mergeFaults(f, { nope: 1 } as never)).toThrow();
  });

  it('adds jitter below jitterMs to the fixed latency', () => {
    const f = { ...defaultFaults(), latencyMs: 100, jitterMs: 50 };
    expect(faultDelayMs(f, () => 0)).toBe(100);
    expect(faultDelayMs(f, () => 0.999)).toBe(149);
  });
});

describe('GrantStore', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('indexes tokens by grant and revokes them together', async () => {
    const store = GrantStore.open();
    const grants = store.adapterFactory('Grant');
    const tokens = store.adapterFactory('RefreshToken');
    await grants.upsert('g1', { clientId: 'c1' }, 60);
    await tokens.upsert('t1', { grantId: 'g1', clientId: 'c1' }, 60);
    await tokens.upsert('t2', { grantId: 'g1', clientId: 'c1' }, 60);
    expect(store.grantIdsOfClient('c1')).toEqual(['g1']);
    expect(store.revokeGrant('g1')).toBe(true);
    expect(await tokens.find('t1')).toBeUndefined();
    expect(await tokens.find('t2')).toBeUndefined();
    expect(store.revokeGrant('g1')).toBe(false);
  });

  it('consumes once: a second consume names the grant so it can be revoked', async () => {
    const tokens = GrantStore.open().adapterFactory('RefreshToken');
    await tokens.upsert('t', { grantId: 'g' }, 60);
    await tokens.consume('t');
    await expect(tokens.consume('t')).rejects.toEqual(new ConsumedTwiceError('g'));
    await expect(tokens.consume('t')).rejects.toMatchObject({ grantId: 'g' });
  });

  it('hides entries once past expiry plus grace and hands out copies', async () => {
    let now = 1_000_000;
    const store = GrantStore.open(undefined, () => now);
    const tokens = store.adapterFactory('RefreshToken');
    await tokens.upsert('t', { grantId: 'g', scope: 'a' }, 10);
    const copy = await tokens.find('t');
    copy!.scope = 'changed';
    expect((await tokens.find('t'))?.scope).toBe('a');
    now += 10_000 + 14_000;
    expect(await tokens.find('t')).toBeDefined();
    now += 2_000;
    expect(await tokens.find('t')).toBeUndefined();
  });

  it('replays the log (consume included), survives a torn last line, and compacts on open', async () => {
    dir = mkdtempSync(join(tmpdir(), 'idp-store-'));
    const file = join(dir, 'grants.jsonl');
    const first = GrantStore.open(file);
    const tokens = first.adapterFactory('RefreshToken');
    await tokens.upsert('keep', { grantId: 'g' }, 600);
    await tokens.consume('keep');
    await tokens.upsert('gone', { grantId: 'g' }, 600);
    await tokens.destroy('gone');
    appendFileSync(file, '{"op":"put","key":"RefreshToken:torn"');

    const second = GrantStore.open(file);
    const again = second.adapterFactory('RefreshToken');
    expect((await again.find('keep'))?.consumed).toEqual(expect.any(Number));
    expect(await again.find('gone')).toBeUndefined();
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
  });
});
