import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerTokenProvider } from '#core/token/index.ts';
import type { IssuedToken } from '../../lambdas/core/ports.ts';
import { createTokenBrokerHandler } from '../../lambdas/token-broker/handler.ts';
import { documentClient, dynamoClient } from '../../local/adapters/dynalite.ts';
import { InProcessBrokerTransport } from '../../local/adapters/in-process-broker.ts';
import { type BrokerFixture, record, startBrokerFixture } from './broker-fixture.ts';

let fx: BrokerFixture;
beforeAll(async () => {
  fx = await startBrokerFixture();
});
afterAll(async () => {
  await fx?.close();
});

describe('invariant 1: one refresh in flight per connection', () => {
  it('50 concurrent getToken calls from 5 broker processes on an expired token -> 1 token endpoint call', async () => {
    fx.idp.setAccessTokenTtlSeconds(2);
    const brokers = Array.from({ length: 5 }, () => fx.broker());
    const { version } = await fx.connectRefreshToken('herd', brokers[0]);
    fx.idp.setAccessTokenTtlSeconds(3600);
    await fx.waitUntilStale('herd'); // the real 2 s JWT is past exp - 25% now
    fx.idp.resetStats();
    const started = Date.now();
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => brokers[i % 5]!.getToken('herd')));
    const elapsedMs = Date.now() - started;
    const stats = fx.idp.stats();
    expect(stats.tokenRequests).toBe(1);
    expect(stats.refreshes).toBe(1);
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
    expect(new Set(tokens.map((t) => t.version))).toEqual(new Set([version + 1]));
    const item = await fx.item('herd');
    expect(item.version).toBe(version + 1);
    expect(item.refreshesJit).toBe(1);
    expect(item.leaseContention as number).toBeGreaterThanOrEqual(1);
    expect(item.leaseOwner).toBeUndefined();
    record('herd-50x5', {
      tokenEndpointCalls: stats.tokenRequests,
      leaseContention: item.leaseContention,
      elapsedMs,
    });
  });

  it('invariant 3: 20 workers hitting 401 on version v (minVersion v+1, via the Lambda handler) -> 1 refresh', async () => {
    const { version } = await fx.connectRefreshToken('w401');
    // Five broker Lambdas, twenty workers each with its own provider (own cache), all over JSON.
    const transports = Array.from({ length: 5 }, () => {
      const handler = createTokenBrokerHandler({
        doc: documentClient(dynamoClient(fx.dynamo.endpoint)),
        tableName: fx.dynamo.tables.connections,
        keys: fx.keys,
        secrets: fx.secrets,
        scheduler: fx.scheduler,
        events: fx.events,
        logger: fx.logger,
        options: { pollStartMs: 20, pollCapMs: 200 },
      });
      return new InProcessBrokerTransport(handler);
    });
    const workers = Array.from({ length: 20 }, (_, i) => new BrokerTokenProvider(transports[i % 5]!));
    const seen = await Promise.all(workers.map((w) => w.getToken('w401')));
    expect(new Set(seen.map((t) => t.version))).toEqual(new Set([version]));
    fx.idp.resetStats();
    const after = await Promise.all(
      workers.map((w) => w.getToken('w401', { minVersion: version + 1, trigger: 'afterUnauthorized' })),
    );
    expect(fx.idp.stats().tokenRequests).toBe(1);
    expect(new Set(after.map((t) => t.accessToken)).size).toBe(1);
    expect(after[0]!.version).toBe(version + 1);
    expect((await fx.item('w401')).refreshesAfterUnauthorized).toBe(1);
    // A late worker still on version v gets v+1 without another refresh (invalidate-if-same).
    const late = await new BrokerTokenProvider(transports[0]!).getToken('w401', { minVersion: version + 1 });
    expect(late.version).toBe(version + 1);
    expect(fx.idp.stats().tokenRequests).toBe(1);
    record('minVersion-20-workers', { tokenEndpointCalls: fx.idp.stats().tokenRequests });
  });

  it('invariant 2: 200 rotation cycles with random concurrency never trip reuse detection', async () => {
    const brokers = Array.from({ length: 5 }, () => fx.broker());
    const { version: start } = await fx.connectRefreshToken('rotate', brokers[0]);
    fx.idp.resetStats();
    let random = 12_345;
    const rand = (n: number) => {
      random = (random * 1_103_515_245 + 12_345) % 2 ** 31;
      return random % n;
    };
    let expected = start;
    let maxCallers = 0;
    const started = Date.now();
    for (let cycle = 0; cycle < 200; cycle++) {
      const callers = 1 + rand(8);
      maxCallers = Math.max(maxCallers, callers);
      const calls: Promise<IssuedToken>[] = [];
      for (let c = 0; c < callers; c++) {
        const broker = brokers[rand(5)]!;
        // Mostly 401-driven callers for the next version, some plain reads and some stale 401s.
        const kind = rand(10);
        if (kind < 7) calls.push(broker.getToken('rotate', { minVersion: expected + 1 }));
        else if (kind < 9) calls.push(broker.getToken('rotate'));
        else calls.push(broker.getToken('rotate', { minVersion: Math.max(1, expected - 1) }));
      }
      // Guarantee the cycle rotates once even if no caller asked for the next version.
      calls.push(brokers[rand(5)]!.replaceToken('rotate', { minVersion: expected + 1 }));
      const tokens = await Promise.all(calls);
      expected += 1;
      for (const t of tokens) expect(t.version).toBeGreaterThanOrEqual(expected - 1);
      expect(Math.max(...tokens.map((t) => t.version))).toBe(expected);
    }
    const elapsedMs = Date.now() - started;
    const stats = fx.idp.stats();
    expect(stats.reuseDetections).toBe(0);
    expect(stats.revocations).toBe(0);
    expect(stats.refreshes).toBe(200);
    expect(stats.tokenRequests).toBe(200);
    const item = await fx.item('rotate');
    expect(item.status).toBe('active');
    expect(item.version).toBe(start + 200);
    // The connection still works: the last rotated refresh token is the one the IdP expects.
    const next = await brokers[0]!.replaceToken('rotate');
    expect(next.version).toBe(start + 201);
    expect(fx.idp.stats().reuseDetections).toBe(0);
    record('rotation-200-cycles', {
      tokenEndpointCalls: stats.tokenRequests,
      refreshes: stats.refreshes,
      reuseDetections: stats.reuseDetections,
      maxCallers,
      elapsedMs,
    });
  });
});
