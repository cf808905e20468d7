import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TokenVault } from '#core/token/index.ts';
import { ConnectionRecoveringError, CryptoError, ReauthRequiredError } from '../../lambdas/core/errors.ts';
import type { EventPublisher } from '../../lambdas/core/ports.ts';
import { HCM_AUDIENCE } from '../../local/constants.ts';
import { type BrokerFixture, startBrokerFixture } from './broker-fixture.ts';

/**
 * Issue 11, items 7-9: auto-reactivation of grants that consumed nothing, status transitions conditioned
 * on the current status with their events in an outbox (at least once, stable id, never twice), and
 * the encryption context {connectionId, purpose}.
 */
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

async function clientCredentials(connectionId: string, clientSecret: string): Promise<void> {
  const client = fx.idp.clients[0]!;
  await fx.secrets.putSecret(`secret/${connectionId}`, {
    tokenUrl: fx.idp.tokenUrl,
    clientId: client.clientId,
    clientSecret,
    scope: HCM_AUDIENCE,
  });
}

describe('auto-reactivation of grants with no rotating secret', () => {
  it('a briefly wrong client secret: needs_reauth (auto-retry) once, the sweeper reactivates it with one event', async () => {
    const broker = fx.broker({ recoverBaseMs: 50, recoverCapMs: 200 });
    const good = fx.idp.clients[0]!.clientSecret;
    await clientCredentials('cc-rot', good);
    const { version } = await broker.connect('cc-rot', {
      secretId: 'secret/cc-rot',
      grant: 'client_credentials',
    });
    await clientCredentials('cc-rot', 'wrong-secret');
    // Nothing rotating was spent: callers are told to come back (the run waits), not to re-auth.
    await expect(broker.replaceToken('cc-rot')).rejects.toBeInstanceOf(ConnectionRecoveringError);
    let item = await fx.item('cc-rot');
    expect(item).toMatchObject({ status: 'needs_reauth', autoRetry: true, retryCount: 1 });
    const waiting = await fx
      .broker()
      .getToken('cc-rot')
      .catch((e: unknown) => e);
    expect(waiting).toBeInstanceOf(ConnectionRecoveringError);
    expect((waiting as ConnectionRecoveringError).retryAt).toBe(item.retryAt);
    // Still wrong at the first retry: the backoff grows, no second needs_reauth event.
    await new Promise((r) => setTimeout(r, 120));
    expect((await broker.sweep()).failed).toBe(1);
    item = await fx.item('cc-rot');
    expect(item).toMatchObject({ status: 'needs_reauth', autoRetry: true, retryCount: 2 });
    expect(fx.events.ofType('connection.needs_reauth')).toHaveLength(1);
    // The secret is fixed: the next due sweep reactivates the connection.
    await clientCredentials('cc-rot', good);
    await new Promise((r) => setTimeout(r, 250));
    expect((await broker.sweep()).recovered).toBe(1);
    item = await fx.item('cc-rot');
    expect(item.status).toBe('active');
    expect(item.version).toBe(version + 1);
    expect(item.autoRetry).toBeUndefined();
    expect(fx.events.ofType('connection.reactivated')).toHaveLength(1);
    expect((await broker.getToken('cc-rot')).version).toBe(version + 1);
  });

  it('a refresh_token grant whose token was rejected (invalid_grant) is never retried by the sweeper', async () => {
    const broker = fx.broker({ recoverBaseMs: 10, recoverCapMs: 20 });
    const { version } = await fx.connectRefreshToken('rt-dead', broker);
    fx.idp.setFaults({ forceInvalidGrant: true });
    await expect(broker.getToken('rt-dead', { minVersion: version + 1 })).rejects.toBeInstanceOf(
      ReauthRequiredError,
    );
    expect((await fx.item('rt-dead')).autoRetry).toBeUndefined();
    fx.idp.setFaults({ forceInvalidGrant: false });
    fx.idp.resetStats();
    await new Promise((r) => setTimeout(r, 50));
    await broker.sweep();
    expect(fx.idp.stats().tokenRequests).toBe(0);
    expect(fx.events.ofType('connection.needs_reauth')).toHaveLength(1);
  });
});

describe('transactional outbox', () => {
  it('a failed publish leaves the event in the item; the sweeper delivers it with the same id, once', async () => {
    const seen: Array<{ type: string; detail: Record<string, unknown> }> = [];
    let down = true;
    const flaky: EventPublisher = {
      publish: async (type, detail) => {
        if (down) throw new Error('EventBridge unavailable');
        seen.push({ type, detail });
      },
    };
    const { TokenBroker } = await import('#core/token/index.ts');
    const { createMetrics } = await import('../../lambdas/core/observability.ts');
    const broker = new TokenBroker({
      doc: fx.dynamo.doc,
      tableName: fx.dynamo.tables.connections,
      keys: fx.keys,
      secrets: fx.secrets,
      scheduler: fx.scheduler,
      events: flaky,
      logger: fx.logger,
      metrics: createMetrics('token-broker'),
    });
    const { version } = await fx.connectRefreshToken('outbox', fx.broker());
    fx.idp.setFaults({ forceInvalidGrant: true });
    await expect(broker.getToken('outbox', { minVersion: version + 1 })).rejects.toBeInstanceOf(
      ReauthRequiredError,
    );
    const pending = (await fx.item('outbox')).outbox as Array<{ eventId: string }>;
    expect(pending).toHaveLength(1);
    down = false;
    await broker.sweep();
    await broker.sweep();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      type: 'connection.needs_reauth',
      detail: { eventId: pending[0]!.eventId },
    });
    expect((await fx.item('outbox')).outbox).toEqual([]);
  });
});

describe('encryption context {connectionId, purpose}', () => {
  it('an access envelope cannot be opened as the refresh token of the same connection', async () => {
    const vault = new TokenVault(fx.keys);
    const access = await vault.seal('swap', 'access', 'the-access-token');
    const item = { connectionId: 'swap', refreshToken: access } as Parameters<
      TokenVault['openRefreshToken']
    >[0];
    await expect(vault.openRefreshToken(item)).rejects.toBeInstanceOf(CryptoError);
    const refresh = await vault.seal('swap', 'refresh', 'the-refresh-token');
    expect(await vault.openRefreshToken({ ...item, refreshToken: refresh })).toBe('the-refresh-token');
  });
});
