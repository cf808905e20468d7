import { describe, expect, it } from 'vitest';
import { outboxEvent, parseTokenResponse, toConnectionItem, toConnectionView } from '#core/token/index.ts';
import { GrantRejectedError, ReauthRequiredError } from '../../lambdas/core/errors.ts';
import { maskingReplacer } from '../../lambdas/core/observability.ts';
import { MemoryEventBus } from '../../local/adapters/memory-event-bus.ts';

const JWT = `eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.${'c'.repeat(64)}.${'s'.repeat(64)}`;
const OPAQUE_RT = 'rt_7f3a9c2e8b1d4f6a0c5e9b2d7f1a3c8e';

describe('masking across the broker', () => {
  it('errors built from IdP bodies carry no token', () => {
    let err: Error | undefined;
    try {
      parseTokenResponse(
        400,
        JSON.stringify({
          error: 'invalid_grant',
          error_description: `grant for ${JWT} refresh_token=${OPAQUE_RT}`,
        }),
        null,
      );
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeInstanceOf(GrantRejectedError);
    const reauth = new ReauthRequiredError('c1', err!.message);
    for (const text of [err!.message, reauth.message, reauth.reason]) {
      expect(text).not.toContain(JWT);
      expect(text).not.toContain(OPAQUE_RT);
    }
    expect(reauth.message).toContain('eyJh…');
  });

  it('events from the broker are masked, even if a reason quotes a token', async () => {
    const bus = new MemoryEventBus();
    // Transition events are built for the outbox (stored in the item) and then published.
    const event = outboxEvent(
      'connection.needs_reauth',
      'c1',
      { reason: `bad Bearer ${OPAQUE_RT} and ${JWT}`, trigger: 'jit' },
      Date.now(),
    );
    expect(JSON.stringify(event)).not.toContain(OPAQUE_RT);
    await bus.publish(event.type, event.detail);
    const text = JSON.stringify(bus.events);
    expect(text).not.toContain(JWT);
    expect(text).not.toContain(OPAQUE_RT);
    expect(bus.events[0]!.detail).toMatchObject({ connectionId: 'c1', trigger: 'jit' });
  });

  it('the log replacer masks secret fields and token-like strings anywhere', () => {
    const line = JSON.stringify(
      { accessToken: JWT, nested: { refresh_token: OPAQUE_RT, note: `got ${JWT}` }, connectionId: 'c1' },
      maskingReplacer,
    );
    expect(line).not.toContain(JWT);
    expect(line).not.toContain(OPAQUE_RT);
    expect(line).toContain('"connectionId":"c1"');
  });

  it('a client assertion or private key is masked as a field and inside a form body', () => {
    const opaque = 'not-a-jwt-but-secret-0123456789';
    const line = JSON.stringify(
      {
        client_assertion: opaque,
        clientAssertion: opaque,
        privateKeyPem: opaque,
        body: `client_assertion=${opaque}&x=1`,
      },
      maskingReplacer,
    );
    expect(line).not.toContain(opaque);
  });

  it('the status view of a connection never includes a token or an envelope', () => {
    const item = toConnectionItem({
      connectionId: 'c1',
      status: 'active',
      secretId: 's',
      grant: 'refresh_token',
      accessToken: 'v1.ZW52ZWxvcGU.abc.def.ghi.jkl',
      refreshToken: 'v1.ZW52ZWxvcGU.zzz.yyy.xxx.www',
      expiresAt: 2_000_000,
      issuedAt: 1_000_000,
      version: 4,
      lastError: 'x',
    });
    const view = JSON.stringify(toConnectionView(item, 1_500_000));
    expect(view).not.toContain('v1.');
    expect(view).toContain('"hasRefreshToken":true');
    expect(view).toContain('"expiresInSeconds":500');
  });
});
