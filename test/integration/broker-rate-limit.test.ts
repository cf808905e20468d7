import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKEN_RATE_LIMIT_KEY, type TokenRateSettings, tokenEndpointRate } from '#core/token/index.ts';
import { NoRateSlotError, NotStartedError } from '../../lambdas/core/errors.ts';
import type { Clock } from '../../lambdas/core/ports.ts';
import { documentClient, dynamoClient } from '../../local/adapters/dynalite.ts';
import { startDynamoFaultProxy } from '../../local/adapters/dynamo-fault-proxy.ts';
import { peakInWindow } from '../../local/idp/idp-stats.ts';
import { type BrokerFixture, record, startBrokerFixture } from './broker-fixture.ts';
import { virtualClock } from './virtual-clock.ts';

/**
 * Issue 26: the token-endpoint rate is the sharded fail-soft limiter of core/rate. Each "instance" has
 * its own DynamoDB client against the same dynalite, as concurrent Lambdas would.
 */
let fx: BrokerFixture;
const clients: ReturnType<typeof dynamoClient>[] = [];
beforeAll(async () => {
  fx = await startBrokerFixture({ accessTokenTtlSeconds: 3600 });
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await fx?.close();
});

const clock: Clock = { now: () => Date.now() };
function instance(config: Partial<TokenRateSettings> & { key: string }, on: Clock = clock) {
  const client = dynamoClient(fx.dynamo.endpoint);
  clients.push(client);
  return tokenEndpointRate(
    documentClient(client),
    fx.dynamo.tables.connections,
    {
      perSecond: 10,
      perMinute: 600,
      guardMs: 100,
      callTimeoutMs: 2_000,
      instances: 10,
      random: Math.random,
      ...config,
    },
    on,
  );
}

describe('the token-endpoint rate (dynalite, concurrent instances)', () => {
  it('40 instances with one caller each at 15/s: every caller gets its slot, with few lost races and none over the rate', async () => {
    const rate = 15;
    const rates = Array.from({ length: 40 }, () =>
      instance({ perSecond: rate, perMinute: 900, guardMs: 250, key: '~rate-limit:test-40' }),
    );
    const admitted: number[] = [];
    const started = Date.now();
    await Promise.all(
      rates.map(async (r) => {
        await r.limiter.acquire(Date.now() + 30_000);
        admitted.push(Date.now());
      }),
    );
    const conflicts = rates.reduce((n, r) => n + r.counts().conflicts, 0);
    record('token-rate-40-callers', {
      rate,
      callers: 40,
      slots: admitted.length,
      lostRaces: conflicts,
      spent: rates.reduce((n, r) => n + r.counts().spent, 0),
      peak1s: peakInWindow(admitted, 1_000),
      elapsedMs: Date.now() - started,
    });
    expect(admitted).toHaveLength(40);
    expect(rates.every((r) => r.counts().fallback === 0)).toBe(true);
    expect(peakInWindow(admitted, 1_000)).toBeLessThanOrEqual(rate);
    // One item read-and-write raced by all 40 lost ~19 races per slot (758 for 40 slots); spread over
    // 4 shards with a doubling backoff that hops shards, 1-2 per slot (74 with another suite beside it), 2.2 beside two busy
    // processes (89, npm run test:loaded): the bound is 5 per slot, a quarter of the unsharded design's.
    expect(conflicts).toBeLessThanOrEqual(5 * admitted.length);
  });

  it('holds the per-minute limit as well as the per-second one', async () => {
    // Virtual time: a minute passes in moments, dynalite's calls stay real.
    const v = virtualClock();
    try {
      const r = instance(
        { perSecond: 4, perMinute: 8, shards: 1, guardMs: 100, key: '~rate-limit:test-minute' },
        v.clock,
      );
      const admitted: number[] = [];
      await Promise.all(
        Array.from({ length: 12 }, async () => {
          await r.limiter.acquire(v.clock.now() + 300_000);
          admitted.push(v.clock.now());
        }),
      );
      admitted.sort((a, b) => a - b);
      expect(admitted).toHaveLength(12);
      expect(peakInWindow(admitted, 1_000)).toBeLessThanOrEqual(4);
      expect(peakInWindow(admitted, 60_000)).toBeLessThanOrEqual(8);
      // The ninth waits for the first to leave the minute.
      expect(admitted[8]! - admitted[0]!).toBeGreaterThanOrEqual(60_000);
    } finally {
      v.stop();
    }
  });

  it('no slot before the deadline: NoRateSlotError (not sent), without waiting for the slot', async () => {
    const r = instance({ perSecond: 1, shards: 1, key: '~rate-limit:test-deadline' });
    await r.limiter.acquire(Date.now() + 5_000);
    // The next slot of a 1/s limiter comes a second after the one just taken.
    const nextSlotAt = Date.now() + 1_000;
    const err = await r.limiter.acquire(Date.now() + 300).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoRateSlotError);
    expect(err).toBeInstanceOf(NotStartedError);
    // Answered before that slot (it did not wait for it), however slow the machine's DynamoDB calls are.
    expect(Date.now()).toBeLessThan(nextSlotAt);
  });

  it('rate 0 is no limit: no DynamoDB call at all', async () => {
    const r = tokenEndpointRate(
      documentClient(dynamoClient('http://127.0.0.1:9')), // nothing listens: any call would fail
      fx.dynamo.tables.connections,
      { perSecond: 0, perMinute: 0, guardMs: 100, callTimeoutMs: 200, instances: 1, random: Math.random },
      clock,
    );
    await expect(r.limiter.acquire(Date.now() + 1_000)).resolves.toBeUndefined();
  });

  it("limiter items throttled: connections still refresh, at the instance's fallback pace, 0 reuse", async () => {
    const proxy = await startDynamoFaultProxy(fx.dynamo.endpoint);
    // Only the limiter's partitions are hot; every connection item answers as usual.
    proxy.setRule(({ body }) => {
      const key = (body.Key as Record<string, { S?: string }> | undefined)?.connectionId?.S ?? '';
      return key.startsWith(TOKEN_RATE_LIMIT_KEY) ? 'throttle' : 'pass';
    });
    try {
      const ids = Array.from({ length: 4 }, (_, i) => `throttled-limiter-${i}`);
      const versions = new Map<string, number>();
      for (const id of ids) versions.set(id, (await fx.connectRefreshToken(id, fx.broker())).version);
      fx.idp.resetStats();
      const sent: number[] = [];
      const broker = fx.broker({
        dynamoEndpoint: proxy.endpoint,
        tokenEndpointRatePerSecond: 15,
        // Alone in its fleet: a tenth of 15/s, 1.5/s.
        tokenEndpointInstances: 1,
        fetch: (input, init) => {
          sent.push(Date.now());
          return fetch(input, init);
        },
      });
      const tokens = await Promise.all(
        ids.map((id) => broker.getToken(id, { minVersion: (versions.get(id) as number) + 1 })),
      );
      for (const [i, t] of tokens.entries()) expect(t.version).toBe((versions.get(ids[i]!) as number) + 1);
      const counts = broker.rateLimiterCounts();
      expect(counts.fallback).toBe(4);
      expect(counts.admitted).toBe(0);
      expect(proxy.stats().throttled).toBeGreaterThan(0);
      expect(fx.idp.stats().reuseDetections).toBe(0);
      // At 1.5/s four sends span at least two seconds (at the fleet's 15/s they could leave together).
      sent.sort((a, b) => a - b);
      expect(sent.at(-1)! - sent[0]!).toBeGreaterThanOrEqual(1_900);
    } finally {
      await proxy.close();
    }
  });
});

describe('brokers share the rate (IdP simulator)', () => {
  it('3 broker instances forcing 15 refreshes at once: at most the rate reaches the IdP per second, 0 reuse', async () => {
    const rate = 4;
    const sent: number[] = [];
    const timedFetch: typeof fetch = (input, init) => {
      sent.push(Date.now());
      return fetch(input, init);
    };
    const brokers = Array.from({ length: 3 }, () =>
      fx.broker({ tokenEndpointRatePerSecond: rate, fetch: timedFetch }),
    );
    const ids = Array.from({ length: 15 }, (_, i) => `rl-${i}`);
    const versions = new Map<string, number>();
    for (const id of ids) versions.set(id, (await fx.connectRefreshToken(id, fx.broker())).version);
    fx.idp.resetStats();
    const tokens = await Promise.all(
      ids.map((id, i) =>
        brokers[i % brokers.length]!.getToken(id, { minVersion: (versions.get(id) as number) + 1 }),
      ),
    );
    for (const [i, t] of tokens.entries()) expect(t.version).toBe((versions.get(ids[i]!) as number) + 1);
    const arrivals = fx.idp.tokenRequestTimes();
    expect(arrivals).toHaveLength(15);
    // What the limiter bounds: when requests leave the brokers. The IdP runs in this process, so its
    // arrival times also carry this event loop's lag: on a loaded machine one request may arrive late
    // enough to share a second with the next slot's (seen: 5 at rate 4 with 4 sent).
    expect(sent).toHaveLength(15);
    expect(peakInWindow(sent, 1_000)).toBeLessThanOrEqual(rate);
    expect(peakInWindow(arrivals, 1_000)).toBeLessThanOrEqual(rate + 1);
    expect(fx.idp.stats().reuseDetections).toBe(0);
    // `status` lists connections only, never the limiter's item.
    const listed = (await brokers[0]!.status()).connections.map((c) => c.connectionId);
    expect(listed.some((id) => id.startsWith('~'))).toBe(false);
    record('rate-limit-brokers', {
      rate,
      brokers: 3,
      refreshes: 15,
      peak1s: peakInWindow(arrivals, 1_000),
      peakSent1s: peakInWindow(sent, 1_000),
      spanMs: Math.max(...arrivals) - Math.min(...arrivals),
    });
  });

  it('a refresh waiting for its rate slot has written no in-flight marker: a holder that dies there leaves nothing to settle', async () => {
    const sent: number[] = [];
    const timedFetch: typeof fetch = (input, init) => {
      sent.push(Date.now());
      return fetch(input, init);
    };
    const ids = Array.from({ length: 4 }, (_, i) => `slot-first-${i}`);
    const versions = new Map<string, number>();
    for (const id of ids) versions.set(id, (await fx.connectRefreshToken(id, fx.broker())).version);
    // 1 request a second: the last of the four waits ~3 s for its slot.
    const broker = fx.broker({ tokenEndpointRatePerSecond: 1, fetch: timedFetch });
    let done = false;
    const refreshes = Promise.all(
      ids.map((id) => broker.getToken(id, { minVersion: (versions.get(id) as number) + 1 })),
    ).finally(() => {
      done = true;
    });
    let worst = 0;
    let polls = 0;
    while (!done) {
      const markers = (await Promise.all(ids.map((id) => fx.item(id)))).filter(
        (item) => item.refreshInFlight !== undefined,
      ).length;
      // A marker is written right before its request leaves; at most one can be between the two.
      worst = Math.max(worst, markers - sent.length);
      polls += 1;
      await new Promise((r) => setTimeout(r, 25));
    }
    const tokens = await refreshes;
    for (const [i, t] of tokens.entries()) expect(t.version).toBe((versions.get(ids[i]!) as number) + 1);
    expect(polls).toBeGreaterThan(5);
    expect(worst).toBeLessThanOrEqual(1);
    expect(sent).toHaveLength(4);
  });
});
