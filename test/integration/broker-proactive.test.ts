import { createPrivateKey, type JsonWebKey } from 'node:crypto';
import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenBroker } from '#core/token/index.ts';
import { ConfigError } from '../../lambdas/core/errors.ts';
import { createTokenBrokerHandler } from '../../lambdas/token-broker/handler.ts';
import { InProcessBrokerTransport } from '../../local/adapters/in-process-broker.ts';
import { TimerScheduler } from '../../local/adapters/timer-scheduler.ts';
import { HCM_AUDIENCE } from '../../local/constants.ts';
import { DEFAULT_SUBJECT } from '../../local/idp/index.ts';
import { type BrokerFixture, record, startBrokerFixture } from './broker-fixture.ts';

let fx: BrokerFixture;
beforeAll(async () => {
  fx = await startBrokerFixture({ accessTokenTtlSeconds: 4 });
});
afterAll(async () => {
  await fx?.close();
});

describe('proactive refresh', () => {
  it('the one-time schedule fires before the token goes stale and refreshes it (trigger proactive)', async () => {
    let broker: TokenBroker | undefined;
    const fired: string[] = [];
    const timers = new TimerScheduler(async (payload) => {
      fired.push(String(payload.connectionId));
      await broker!.proactive(String(payload.connectionId));
    });
    broker = fx.broker({ scheduler: timers });
    try {
      const { version } = await fx.connectRefreshToken('pro', broker);
      const first = await fx.item('pro');
      const firstExpiresAt = first.expiresAt as number;
      const lifetime = firstExpiresAt - (first.issuedAt as number);
      expect(timers.pending().map((p) => p.name)).toEqual(['token-refresh-pro']);
      const plannedAt = timers.pending()[0]!.at.getTime();
      expect(plannedAt).toBe(first.nextProactiveAt);
      // A fire far too early (duplicate/stale schedule) only reschedules.
      fx.idp.resetStats();
      await expect(broker.proactive('pro')).resolves.toMatchObject({ refreshed: false, version });
      expect(fx.idp.stats().tokenRequests).toBe(0);

      const deadline = Date.now() + lifetime + 1_000;
      let item = first;
      while (item.version === version && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        item = await fx.item('pro');
      }
      expect(fired[0]).toBe('pro');
      expect(item.version).toBe(version + 1);
      expect(item.refreshesProactive).toBe(1);
      expect(item.refreshesJit ?? 0).toBe(0);
      const refreshedAt = item.lastRefreshAt as number;
      // Planned before the old token stops being fresh (exp - 25% of the lifetime), and carried out by that
      // fire. When the commit lands depends on the machine: at load 13 it came after the 1 s of slack.
      expect(plannedAt).toBeLessThan(firstExpiresAt - lifetime * 0.25);
      expect(refreshedAt).toBeGreaterThanOrEqual(plannedAt);
      expect(fx.idp.stats().refreshes).toBe(1);
      // ...and the next schedule is armed for the new token.
      expect(timers.pending()[0]!.at.getTime()).toBe(item.nextProactiveAt);
      expect(item.nextProactiveAt as number).toBeGreaterThan(refreshedAt);
      record('proactive', { lifetimeMs: lifetime, firedMsBeforeExpiry: firstExpiresAt - refreshedAt });
    } finally {
      timers.closeAll();
      // Its 4 s tokens would be due for the next test's sweep: out of the way.
      await fx.dynamo.doc.send(
        new DeleteCommand({ TableName: fx.dynamo.tables.connections, Key: { connectionId: 'pro' } }),
      );
    }
  });
});

describe('sweep', () => {
  it('refreshes active connections expiring soon whose schedule is missing or overdue, and nothing else', async () => {
    const broker = fx.broker({ sweepHorizonMs: 10 * 60_000, sweepGraceMs: 1_000 });
    fx.idp.setAccessTokenTtlSeconds(3600);
    for (const id of ['sw-missing', 'sw-overdue', 'sw-pending', 'sw-far', 'sw-dead'])
      await fx.connectRefreshToken(id, broker);
    const now = Date.now();
    const set = async (id: string, expr: string, values: Record<string, unknown>) =>
      fx.dynamo.doc.send(
        new UpdateCommand({
          TableName: fx.dynamo.tables.connections,
          Key: { connectionId: id },
          UpdateExpression: expr,
          ExpressionAttributeValues: values,
        }),
      );
    await set('sw-missing', 'SET expiresAt = :e, dueAt = :e REMOVE nextProactiveAt', {
      ':e': now + 5 * 60_000,
    });
    await set('sw-overdue', 'SET expiresAt = :e, dueAt = :e, nextProactiveAt = :n', {
      ':e': now + 2 * 60_000,
      ':n': now - 60_000,
    });
    await set('sw-pending', 'SET expiresAt = :e, dueAt = :e, nextProactiveAt = :n', {
      ':e': now + 2 * 60_000,
      ':n': now + 30_000,
    });
    // ('sw-far' keeps its hour-long token and future schedule.)
    await fx.dynamo.doc.send(
      new UpdateCommand({
        TableName: fx.dynamo.tables.connections,
        Key: { connectionId: 'sw-dead' },
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': 'needs_reauth' },
      }),
    );
    const before = Object.fromEntries(
      await Promise.all(
        ['sw-missing', 'sw-overdue', 'sw-pending', 'sw-far'].map(async (id) => [
          id,
          (await fx.item(id)).version,
        ]),
      ),
    );
    fx.idp.resetStats();
    const result = await broker.sweep();
    expect(result).toMatchObject({
      recovered: 0,
      refreshed: 2,
      overdue: 1,
      failed: 0,
      deferred: 0,
    });
    expect(fx.idp.stats().tokenRequests).toBe(2);
    expect((await fx.item('sw-missing')).version).toBe(before['sw-missing'] + 1);
    expect((await fx.item('sw-overdue')).refreshesSweep).toBe(1);
    expect((await fx.item('sw-pending')).version).toBe(before['sw-pending']);
    expect((await fx.item('sw-far')).version).toBe(before['sw-far']);
    // A second sweep finds nothing left to do.
    expect((await broker.sweep()).refreshed).toBe(0);
  });
});

describe('grants against the IdP', () => {
  it('client_credentials and jwt_bearer connections connect and refresh', async () => {
    fx.idp.setAccessTokenTtlSeconds(3600);
    const client = fx.idp.clients[0]!;
    const broker = fx.broker();
    await fx.secrets.putSecret('secret/cc', {
      tokenUrl: fx.idp.tokenUrl,
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      scope: HCM_AUDIENCE,
    });
    const privateKeyPem = createPrivateKey({ key: client.privateJwk as JsonWebKey, format: 'jwk' })
      .export({ type: 'pkcs8', format: 'pem' })
      .toString();
    await fx.secrets.putSecret('secret/jwt', {
      tokenUrl: fx.idp.tokenUrl,
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      privateKeyPem,
      keyId: client.certificateAlias,
      subject: DEFAULT_SUBJECT,
      scope: HCM_AUDIENCE,
    });
    fx.idp.resetStats();
    const cc = await broker.connect('cc', { secretId: 'secret/cc', grant: 'client_credentials' });
    const jwt = await broker.connect('jwt', { secretId: 'secret/jwt', grant: 'jwt_bearer' });
    expect(cc.status).toBe('active');
    expect(jwt.status).toBe('active');
    for (const id of ['cc', 'jwt']) {
      const token = await broker.replaceToken(id);
      expect(decodeJwt(token.accessToken).aud).toContain(HCM_AUDIENCE);
      expect((await fx.item(id)).refreshToken).toBeUndefined();
    }
    expect(fx.idp.stats().byGrant).toMatchObject({
      client_credentials: 2,
      'urn:ietf:params:oauth:grant-type:jwt-bearer': 2,
    });
  });
});

describe('the Lambda handler', () => {
  it('answers status without any token and rejects malformed requests with ConfigError', async () => {
    const handler = createTokenBrokerHandler({
      doc: fx.dynamo.doc,
      tableName: fx.dynamo.tables.connections,
      keys: fx.keys,
      secrets: fx.secrets,
      scheduler: fx.scheduler,
      events: fx.events,
      logger: fx.logger,
    });
    const transport = new InProcessBrokerTransport(handler);
    fx.idp.setAccessTokenTtlSeconds(3600);
    await fx.connectRefreshToken('listed');
    const token = await transport.call<{ accessToken: string; version: number }>({
      action: 'get',
      connectionId: 'listed',
    });
    const listing = await transport.call<{ connections: Record<string, unknown>[] }>({ action: 'status' });
    const text = JSON.stringify(listing);
    const stored = await fx.item('listed');
    expect(listing.connections.find((c) => c.connectionId === 'listed')).toMatchObject({
      status: 'active',
      version: token.version,
      hasRefreshToken: true,
    });
    expect(text).not.toContain(token.accessToken);
    expect(text).not.toContain(String(stored.accessToken));
    expect(text).not.toContain(String(stored.refreshToken));
    await expect(transport.call({ action: 'explode' } as never)).rejects.toBeInstanceOf(ConfigError);
  });
});
