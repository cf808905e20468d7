import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTokenRateLimiter, type RateLimitConfig } from '#core/token/index.ts';
import { NoRateSlotError, NotStartedError } from '../../lambdas/core/errors.ts';
import type { Clock } from '../../lambdas/core/ports.ts';
import { documentClient, dynamoClient } from '../../local/adapters/dynalite.ts';
import { peakInWindow } from '../../local/idp/idp-stats.ts';
import { type BrokerFixture, record, startBrokerFixture } from './broker-fixture.ts';

/**
 * Issue 11, fleet scale: the token-endpoint rate holds across broker instances. Each "instance" has its
 * own DynamoDB client against the same dynalite, as concurrent Lambdas would.
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
function instance(config: Partial<RateLimitConfig>, key: string): DynamoTokenRateLimiter {
  const client = dynamoClient(fx.dynamo.endpoint);
  clients.push(client);
  return new DynamoTokenRateLimiter(
    documentClient(client),
    fx.dynamo.tables.connections,
    { ratePerSecond: 10, guardMs: 100, callTimeoutMs: 2_000, random: Math.random, ...config },
    clock,
    key,
  );
}

describe('DynamoTokenRateLimiter (dynalite, concurrent instances)', () => {
  it('6 instances x 8 concurrent callers: never more than the rate in any second, and close to it', async () => {
    const rate = 10;
    const limiters = Array.from({ length: 6 }, () =>
      instance({ ratePerSecond: rate }, '~rate-limit:test-concurrent'),
    );
    const admitted: number[] = [];
    const started = Date.now();
    const perCaller = 1;
    await Promise.all(
      limiters.flatMap((l) =>
        Array.from({ length: 8 }, async () => {
          for (let i = 0; i < perCaller; i++) {
            await l.acquire(Date.now() + 30_000);
            admitted.push(Date.now());
          }
        }),
      ),
    );
    const elapsed = Date.now() - started;
    record('rate-limiter-concurrent', {
      rate,
      conflicts: limiters.reduce((n, l) => n + l.counts.conflicts, 0),
      spent: limiters.reduce((n, l) => n + l.counts.spent, 0),
      callers: 48,
      peak1s: peakInWindow(admitted, 1_000),
      elapsedMs: elapsed,
    });
    expect(admitted).toHaveLength(48);
    expect(peakInWindow(admitted, 1_000)).toBeLessThanOrEqual(rate);
    // Not starved either: 48 requests at 10 per 1.1 s need 4.2 s after the first 10; slots spent by a
    // late wake-up (a loaded 2-core machine: 20-30 seen) add to it, a livelock would not end at all.
    expect(elapsed).toBeLessThan(15_000);
  });

  it('no slot before the deadline: NoRateSlotError (not sent), without waiting for the slot', async () => {
    const l = instance({ ratePerSecond: 1 }, '~rate-limit:test-deadline');
    await l.acquire(Date.now() + 5_000);
    // The next slot of a 1/s limiter comes a second after the one just taken.
    const nextSlotAt = Date.now() + 1_000;
    const err = await l.acquire(Date.now() + 300).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoRateSlotError);
    expect(err).toBeInstanceOf(NotStartedError);
    // Answered before that slot (it did not wait for it), however slow the machine's DynamoDB calls are.
    expect(Date.now()).toBeLessThan(nextSlotAt);
  });

  it('rate 0 is no limit: no DynamoDB call at all', async () => {
    const l = new DynamoTokenRateLimiter(
      documentClient(dynamoClient('http://127.0.0.1:9')), // nothing listens: any call would fail
      fx.dynamo.tables.connections,
      { ratePerSecond: 0, guardMs: 100, callTimeoutMs: 200, random: Math.random },
      clock,
    );
    await expect(l.acquire(Date.now() + 1_000)).resolves.toBeUndefined();
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
