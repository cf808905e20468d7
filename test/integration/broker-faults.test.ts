import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionLease } from '#core/lease/index.ts';
import {
  LeaseTimeoutError,
  ReauthRequiredError,
  TokenCommitError,
  TransientError,
} from '../../lambdas/core/errors.ts';
import { HCM_AUDIENCE } from '../../local/constants.ts';
import { type BrokerFixture, record, startBrokerFixture } from './broker-fixture.ts';

let fx: BrokerFixture;
beforeAll(async () => {
  fx = await startBrokerFixture();
});
afterAll(async () => {
  await fx?.close();
});
beforeEach(() => {
  fx.idp.setFaults({ errorRate: 0, latencyMs: 0, dropAfterIssueRate: 0, forceInvalidGrant: false });
  fx.events.clear();
});

const lease = (ms: number) => new ConnectionLease(fx.dynamo.doc, fx.dynamo.tables.connections, ms);

describe('lease holder crash', () => {
  it('a lease whose holder died is taken over once it expires, with one token endpoint call', async () => {
    // The crashed holder's lease is 1 s; this broker's own lease leaves room for its request under load,
    // and its waiters' deadline (10 s) is far beyond the takeover, so a busy machine cannot turn the
    // takeover into a LeaseTimeoutError.
    const broker = fx.broker({ leaseMs: 3_000, waitTimeoutMs: 10_000 });
    const { version } = await fx.connectRefreshToken('crash', broker);
    const taken = await lease(1_000).tryAcquire('crash', 'crashed-holder', Date.now());
    expect(taken.acquired).toBe(true);
    fx.idp.resetStats();
    const started = Date.now();
    const token = await broker.getToken('crash', { minVersion: version + 1 });
    const waitedMs = Date.now() - started;
    expect(token.version).toBe(version + 1);
    expect(waitedMs).toBeGreaterThanOrEqual(900);
    // Taken over when the 1 s lease ran out, not at the waiters' 10 s deadline.
    expect(waitedMs).toBeLessThan(10_000);
    expect(fx.idp.stats().tokenRequests).toBe(1);
    const item = await fx.item('crash');
    expect(item.leaseOwner).toBeUndefined();
    expect(item.leaseContention).toBe(1);
    record('lease-takeover', { leaseMs: 1_000, waitedMs, tokenEndpointCalls: fx.idp.stats().tokenRequests });
  });

  it('a waiter gives up with LeaseTimeoutError at its deadline without calling the IdP', async () => {
    const broker = fx.broker({ leaseMs: 5_000, waitTimeoutMs: 300 });
    const { version } = await fx.connectRefreshToken('stuck', broker);
    await lease(5_000).tryAcquire('stuck', 'slow-holder', Date.now());
    fx.idp.resetStats();
    const started = Date.now();
    await expect(broker.getToken('stuck', { minVersion: version + 1 })).rejects.toBeInstanceOf(
      LeaseTimeoutError,
    );
    // It gave up at its own deadline, not when the holder's 5 s lease ran out (a busy machine may add
    // a few hundred ms to the 300 ms deadline; only waiting for the lease would take 5 s).
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(fx.idp.stats().tokenRequests).toBe(0);
  });

  it('a holder fenced out while at the IdP cannot commit; its marker makes the next holder flag, never replay', async () => {
    // lease 6 s, request timeout 2 s: the grant fits even on a loaded machine; the IdP answers after 1 s.
    const broker = fx.broker({ leaseMs: 6_000, tokenTimeoutMs: 2_000 });
    const { version } = await fx.connectRefreshToken('fenced', broker);
    fx.idp.setFaults({ latencyMs: 1_000 });
    fx.idp.resetStats();
    const pending = broker.getToken('fenced', { minVersion: version + 1 }).catch((e: unknown) => e);
    // Taken over while the request is at the IdP (not after a fixed delay: a slow machine reaches it later).
    while (fx.idp.stats().tokenRequests === 0) await new Promise((r) => setTimeout(r, 10));
    // Another process took the lease over (e.g. its clock ran ahead): the first holder can neither
    // extend nor commit, and its needs_reauth write is fenced out too.
    await fx.dynamo.doc.send(
      new UpdateCommand({
        TableName: fx.dynamo.tables.connections,
        Key: { connectionId: 'fenced' },
        UpdateExpression: 'SET leaseOwner = :o',
        ExpressionAttributeValues: { ':o': 'usurper' },
      }),
    );
    const err = await pending;
    expect(err).toBeInstanceOf(TokenCommitError);
    let item = await fx.item('fenced');
    expect(item.version).toBe(version);
    expect(item.refreshInFlight).toBeDefined();
    // The usurper never finishes: once its lease lapses the next holder finds the marker.
    fx.idp.setFaults({ latencyMs: 0 });
    await expect(fx.broker().getToken('fenced', { minVersion: version + 1 })).rejects.toBeInstanceOf(
      ReauthRequiredError,
    );
    item = await fx.item('fenced');
    expect(item.status).toBe('needs_reauth');
    expect(item.lastError).toBe('refresh outcome unknown');
    expect(item.refreshInFlight).toBeUndefined();
    expect(item.leaseOwner).toBeUndefined();
    expect(fx.idp.stats().tokenRequests).toBe(1);
    expect(fx.idp.stats().reuseDetections).toBe(0);
    expect(fx.events.ofType('connection.needs_reauth')).toHaveLength(1);
  });
});

describe('invariant 2: commit before use, retry the write never the refresh', () => {
  it('a transient commit failure and a lost commit response are retried as writes only', async () => {
    const broker0 = fx.broker();
    const { version } = await fx.connectRefreshToken('flaky-commit', broker0);
    let failures = 0;
    const doc = fx.dynamo.doc;
    // The real dynalite client, with the first commit throttled and the second landing but its answer lost.
    const flaky = new Proxy(doc, {
      get(target, prop, receiver) {
        if (prop !== 'send') return Reflect.get(target, prop, receiver);
        return async (command: { input?: { ExpressionAttributeValues?: Record<string, unknown> } }) => {
          const isCommit = command.input?.ExpressionAttributeValues?.[':commitId'] !== undefined;
          if (isCommit && failures === 0) {
            failures++;
            throw Object.assign(new Error('throttled'), {
              name: 'ProvisionedThroughputExceededException',
              $metadata: {},
            });
          }
          if (isCommit && failures === 1) {
            failures++;
            await target.send(command as Parameters<typeof target.send>[0]);
            throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError', $metadata: {} });
          }
          return target.send(command as Parameters<typeof target.send>[0]);
        };
      },
    });
    const { TokenBroker } = await import('#core/token/index.ts');
    const { createMetrics } = await import('../../lambdas/core/observability.ts');
    const broker = new TokenBroker({
      doc: flaky,
      tableName: fx.dynamo.tables.connections,
      keys: fx.keys,
      secrets: fx.secrets,
      scheduler: fx.scheduler,
      events: fx.events,
      logger: fx.logger,
      metrics: createMetrics('token-broker'),
      options: { storeRetry: { baseMs: 5, capMs: 20 } },
    });
    fx.idp.resetStats();
    const token = await broker.getToken('flaky-commit', { minVersion: version + 1 });
    expect(failures).toBe(2);
    expect(token.version).toBe(version + 1);
    expect(fx.idp.stats().tokenRequests).toBe(1);
    expect((await fx.item('flaky-commit')).version).toBe(version + 1);
    // The committed refresh token is the rotated one: the next refresh works without reuse detection.
    await broker0.replaceToken('flaky-commit');
    expect(fx.idp.stats().reuseDetections).toBe(0);
  });
});

describe('invariant 5: fatal vs transient', () => {
  it('IdP 503 with Retry-After twice then 200 -> success after the waits it asked for', async () => {
    const broker = fx.broker({ random: () => 0.5 }); // Retry-After: 1 outweighs the 100 and 200 ms backoff
    const { version } = await fx.connectRefreshToken('flaky-idp', broker);
    fx.idp.resetStats();
    fx.idp.setFaults({ errorRate: 1, errorStatus: 503 });
    const heal = setInterval(() => {
      if (fx.idp.stats().injectedErrors >= 2) fx.idp.setFaults({ errorRate: 0 });
    }, 2);
    const started = Date.now();
    const token = await broker
      .getToken('flaky-idp', { minVersion: version + 1 })
      .finally(() => clearInterval(heal));
    const elapsedMs = Date.now() - started;
    const stats = fx.idp.stats();
    expect(token.version).toBe(version + 1);
    expect(stats.byStatus).toMatchObject({ '503': 2, '200': 1 });
    expect(stats.tokenRequests).toBe(3);
    expect(elapsedMs).toBeGreaterThanOrEqual(1_990);
    const item = await fx.item('flaky-idp');
    expect(item.status).toBe('active');
    expect(item.lastError).toBeUndefined();
    record('503-503-200', { tokenEndpointCalls: stats.tokenRequests, elapsedMs });
  });

  it('a persistent 503 with Retry-After gives up after the bounded attempts, records it and keeps the refresh token valid', async () => {
    const broker = fx.broker({ backoffBaseMs: 5, backoffCapMs: 20 });
    const { version } = await fx.connectRefreshToken('down-idp', broker);
    fx.idp.resetStats();
    fx.idp.setFaults({ errorRate: 1, errorStatus: 503 });
    await expect(broker.getToken('down-idp', { minVersion: version + 1 })).rejects.toBeInstanceOf(
      TransientError,
    );
    expect(fx.idp.stats().tokenRequests).toBe(4);
    const item = await fx.item('down-idp');
    expect(item.status).toBe('active');
    expect(String(item.lastError)).toContain('503');
    expect(item.leaseOwner).toBeUndefined();
    expect(fx.events.ofType('connection.refresh_failed')).toHaveLength(1);
    fx.idp.setFaults({ errorRate: 0 });
    expect((await broker.getToken('down-idp', { minVersion: version + 1 })).version).toBe(version + 1);
    expect(fx.idp.stats().reuseDetections).toBe(0);
  });

  it('a 500 after the refresh token left is an unknown outcome: needs_reauth, one IdP call, never resent', async () => {
    const broker = fx.broker({ backoffBaseMs: 5, backoffCapMs: 20 });
    const { version } = await fx.connectRefreshToken('gateway-500', broker);
    fx.idp.resetStats();
    fx.idp.setFaults({ errorRate: 1, errorStatus: 500 });
    await expect(broker.getToken('gateway-500', { minVersion: version + 1 })).rejects.toBeInstanceOf(
      ReauthRequiredError,
    );
    expect(fx.idp.stats().tokenRequests).toBe(1);
    const item = await fx.item('gateway-500');
    expect(item.status).toBe('needs_reauth');
    expect(String(item.lastError)).toContain('500');
    expect(fx.events.ofType('connection.needs_reauth')).toHaveLength(1);
    // Whoever comes next sees needs_reauth and sends nothing.
    fx.idp.setFaults({ errorRate: 0 });
    await expect(fx.broker().getToken('gateway-500', { minVersion: version + 1 })).rejects.toBeInstanceOf(
      ReauthRequiredError,
    );
    expect(fx.idp.stats().tokenRequests).toBe(1);
  });

  it('invalid_grant (grant revoked) -> needs_reauth + event, exactly one IdP call, no retry', async () => {
    const brokers = [fx.broker(), fx.broker()];
    const { version, grantId } = await fx.connectRefreshToken('revoked', brokers[0]);
    await fx.idp.revokeGrant(grantId);
    fx.idp.resetStats();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => brokers[i % 2]!.getToken('revoked', { minVersion: version + 1 })),
    );
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ReauthRequiredError);
    }
    expect(fx.idp.stats().tokenRequests).toBe(1);
    expect(fx.idp.stats().errors).toMatchObject({ invalid_grant: 1 });
    const item = await fx.item('revoked');
    expect(item.status).toBe('needs_reauth');
    expect(String(item.lastError)).toContain('invalid_grant');
    const events = fx.events.ofType('connection.needs_reauth');
    expect(events).toHaveLength(1);
    expect(events[0]!.detail).toMatchObject({ connectionId: 'revoked', trigger: 'afterUnauthorized' });
    // Later callers fail fast: no IdP call at all.
    await expect(brokers[1]!.getToken('revoked')).rejects.toBeInstanceOf(ReauthRequiredError);
    expect(fx.idp.stats().tokenRequests).toBe(1);
  });

  it('a dropped token response -> needs_reauth with a clear reason, no loop, no reuse detection', async () => {
    const broker = fx.broker();
    const { version } = await fx.connectRefreshToken('dropped', broker);
    fx.idp.resetStats();
    fx.idp.setFaults({ dropAfterIssueRate: 1 });
    const err = (await broker
      .getToken('dropped', { minVersion: version + 1 })
      .catch((e: unknown) => e)) as ReauthRequiredError;
    expect(err).toBeInstanceOf(ReauthRequiredError);
    expect(err.reason).toContain('token response lost; refresh token may have been rotated');
    fx.idp.setFaults({ dropAfterIssueRate: 0 });
    await expect(broker.getToken('dropped')).rejects.toBeInstanceOf(ReauthRequiredError);
    await expect(broker.proactive('dropped')).resolves.toMatchObject({
      refreshed: false,
      skipped: 'needs_reauth',
    });
    const stats = fx.idp.stats();
    expect(stats.tokenRequests).toBe(1);
    expect(stats.droppedResponses).toBe(1);
    expect(stats.reuseDetections).toBe(0);
    const item = await fx.item('dropped');
    expect(item.status).toBe('needs_reauth');
    expect(item.lastError).toContain('token response lost');
    expect(fx.events.ofType('connection.needs_reauth')).toHaveLength(1);
    record('dropped-response', {
      tokenEndpointCalls: stats.tokenRequests,
      reuseDetections: stats.reuseDetections,
    });
  });

  it('reconnecting a needs_reauth connection with a new refresh token reactivates it (event), a spent one is refused', async () => {
    const broker = fx.broker();
    const { version, grantId } = await fx.connectRefreshToken('again', broker);
    await fx.idp.revokeGrant(grantId);
    await expect(broker.getToken('again', { minVersion: version + 1 })).rejects.toBeInstanceOf(
      ReauthRequiredError,
    );
    fx.idp.resetStats();
    // The secret still holds the bootstrap token that connect already spent: refused without an IdP call.
    await expect(
      broker.connect('again', { secretId: 'secret/again', grant: 'refresh_token' }),
    ).rejects.toBeInstanceOf(ReauthRequiredError);
    expect(fx.idp.stats().tokenRequests).toBe(0);
    // A human re-consents: new grant, new bootstrap token in the secret, connect again.
    const { version: reconnected } = await fx.connectRefreshToken('again', broker);
    expect(reconnected).toBe(version + 1);
    const item = await fx.item('again');
    expect(item.status).toBe('active');
    expect(item.refreshesConnect).toBe(2);
    expect(fx.events.ofType('connection.reactivated')).toHaveLength(1);
    expect(fx.events.ofType('connection.reactivated')[0]!.detail).toMatchObject({
      connectionId: 'again',
      version: reconnected,
    });
    expect((await broker.replaceToken('again')).version).toBe(reconnected + 1);
    // connect re-run with the same (spent) bootstrap token on an active connection is a no-op.
    const calls = fx.idp.stats().tokenRequests;
    await expect(
      broker.connect('again', { secretId: 'secret/again', grant: 'refresh_token' }),
    ).resolves.toMatchObject({
      status: 'active',
      version: reconnected + 1,
    });
    expect(fx.idp.stats().tokenRequests).toBe(calls);
    expect(fx.idp.stats().reuseDetections).toBe(0);
  });

  it('a connect whose answer was lost keeps the bootstrap token as spent: connect again with the same secret sends nothing', async () => {
    const broker = fx.broker();
    const { refreshToken } = await fx.idp.issueRefreshToken({ clientId: fx.idp.clients[0]!.clientId });
    await fx.secrets.putSecret('secret/lost-connect', {
      tokenUrl: fx.idp.tokenUrl,
      clientId: fx.idp.clients[0]!.clientId,
      clientSecret: fx.idp.clients[0]!.clientSecret,
      scope: HCM_AUDIENCE,
      bootstrapRefreshToken: refreshToken,
    });
    fx.idp.resetStats();
    // The IdP rotates the bootstrap token, then the answer is lost.
    fx.idp.setFaults({ dropAfterIssueRate: 1 });
    await expect(
      broker.connect('lost-connect', { secretId: 'secret/lost-connect', grant: 'refresh_token' }),
    ).rejects.toBeInstanceOf(ReauthRequiredError);
    fx.idp.setFaults({ dropAfterIssueRate: 0 });
    const item = await fx.item('lost-connect');
    expect(item.status).toBe('needs_reauth');
    expect(item.refreshInFlight).toBeUndefined();
    expect(fx.idp.stats().tokenRequests).toBe(1);
    // The operator retries the same command: refused without an IdP call, by any broker instance.
    for (const b of [broker, fx.broker()]) {
      const err = await b
        .connect('lost-connect', { secretId: 'secret/lost-connect', grant: 'refresh_token' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReauthRequiredError);
      expect((err as Error).message).toMatch(/already used/);
    }
    expect(fx.idp.stats().tokenRequests).toBe(1);
    expect(fx.idp.stats().reuseDetections).toBe(0);
  });

  it('a stored refresh token that cannot be decrypted (envelope of another connection): needs_reauth with its own reason and event, nothing sent', async () => {
    const broker = fx.broker();
    await fx.connectRefreshToken('undecryptable', broker);
    await fx.connectRefreshToken('undecryptable-donor', broker);
    const donor = await fx.item('undecryptable-donor');
    await fx.dynamo.doc.send(
      new UpdateCommand({
        TableName: fx.dynamo.tables.connections,
        Key: { connectionId: 'undecryptable' },
        UpdateExpression: 'SET refreshToken = :rt',
        ExpressionAttributeValues: { ':rt': donor.refreshToken },
      }),
    );
    await fx.expireStoredToken('undecryptable');
    fx.idp.resetStats();
    fx.events.clear();
    const err = await fx
      .broker()
      .getToken('undecryptable')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReauthRequiredError);
    const item = await fx.item('undecryptable');
    expect(item.status).toBe('needs_reauth');
    expect(String(item.lastError)).toMatch(/stored refresh token cannot be decrypted/);
    // A copied or renamed item never opens by itself: a human reconnects (no sweeper retry, no waiting run).
    expect(item.autoRetry).toBeUndefined();
    expect(fx.events.ofType('connection.needs_reauth')).toHaveLength(1);
    expect(fx.idp.stats().tokenRequests).toBe(0);
  });
});
