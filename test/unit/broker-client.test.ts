import { describe, expect, it } from 'vitest';
import {
  type BrokerRequest,
  BrokerTokenProvider,
  type BrokerTransport,
  parseBrokerRequest,
} from '#core/token/index.ts';
import { ReauthRequiredError, TransientError } from '../../lambdas/core/errors.ts';
import type { IssuedToken } from '../../lambdas/core/ports.ts';
import { InProcessBrokerTransport } from '../../local/adapters/in-process-broker.ts';
import { MemoryEventBus } from '../../local/adapters/memory-event-bus.ts';
import { TimerScheduler } from '../../local/adapters/timer-scheduler.ts';

describe('broker protocol', () => {
  it('accepts every action', () => {
    expect(
      parseBrokerRequest({ action: 'get', connectionId: 'c', minVersion: 2, trigger: 'afterUnauthorized' }),
    ).toMatchObject({
      minVersion: 2,
    });
    expect(parseBrokerRequest({ action: 'refresh', connectionId: 'c' }).action).toBe('refresh');
    expect(parseBrokerRequest({ action: 'proactive', connectionId: 'c' }).action).toBe('proactive');
    expect(parseBrokerRequest({ action: 'sweep' }).action).toBe('sweep');
    expect(parseBrokerRequest({ action: 'status' }).action).toBe('status');
    expect(
      parseBrokerRequest({ action: 'connect', connectionId: 'c', secretId: 's', grant: 'jwt_bearer' }).action,
    ).toBe('connect');
  });

  it('rejects malformed requests naming fields, never echoing values', () => {
    expect(() => parseBrokerRequest({ action: 'steal' })).toThrow(/invalid token broker request/);
    expect(() => parseBrokerRequest({ action: 'get' })).toThrow(/connectionId/);
    expect(() => parseBrokerRequest({ action: 'get', connectionId: 'c', minVersion: -1 })).toThrow(
      /minVersion/,
    );
    let message = '';
    try {
      parseBrokerRequest({
        action: 'connect',
        connectionId: 'c',
        secretId: 's',
        grant: 'hunter2-password-grant',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('grant');
    expect(message).not.toContain('hunter2');
  });
});

/** A transport answering like a broker whose stored version moves on when asked for a newer one. */
function fakeBroker(opts: { lifetimeMs: number; now: () => number; delayMs?: number }) {
  let version = 1;
  const calls: BrokerRequest[] = [];
  const transport: BrokerTransport = {
    call: async <T>(req: BrokerRequest): Promise<T> => {
      calls.push(req);
      await new Promise((r) => setTimeout(r, opts.delayMs ?? 5));
      if (req.action === 'get' && (req.minVersion ?? 0) > version) version = req.minVersion!;
      const issuedAt = opts.now();
      const token: IssuedToken = {
        accessToken: `at-v${version}`,
        version,
        issuedAt,
        expiresAt: issuedAt + opts.lifetimeMs,
      };
      return token as T;
    },
  };
  return { transport, calls };
}

describe('BrokerTokenProvider', () => {
  it('serves a fresh cached token without a broker call', async () => {
    let now = 1_000_000;
    const { transport, calls } = fakeBroker({ lifetimeMs: 3_600_000, now: () => now });
    const provider = new BrokerTokenProvider(transport, { clock: { now: () => now } });
    await provider.getToken('c');
    now += 3_000_000;
    expect((await provider.getToken('c')).accessToken).toBe('at-v1');
    expect(calls).toHaveLength(1);
    now += 500_000; // inside the 120 s buffer now
    await provider.getToken('c');
    expect(calls).toHaveLength(2);
  });

  it('shares one broker request among concurrent callers', async () => {
    const { transport, calls } = fakeBroker({ lifetimeMs: 3_600_000, now: Date.now, delayMs: 20 });
    const provider = new BrokerTokenProvider(transport);
    const tokens = await Promise.all(Array.from({ length: 25 }, () => provider.getToken('c')));
    expect(calls).toHaveLength(1);
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
  });

  it('asks for minVersion once for all 401-hit callers and then serves the new version from cache', async () => {
    const { transport, calls } = fakeBroker({ lifetimeMs: 3_600_000, now: Date.now, delayMs: 20 });
    const provider = new BrokerTokenProvider(transport);
    const first = await provider.getToken('c');
    const after401 = await Promise.all(
      Array.from({ length: 20 }, () => provider.getToken('c', { minVersion: first.version + 1 })),
    );
    expect(new Set(after401.map((t) => t.version))).toEqual(new Set([2]));
    expect(calls.filter((c) => c.action === 'get' && c.minVersion === 2)).toHaveLength(1);
    await provider.getToken('c', { minVersion: 2 });
    expect(calls).toHaveLength(2);
  });

  it('refuses a token below the minVersion it asked for, or already expired (TransientError, not a 401 later)', async () => {
    const stale = (token: IssuedToken) =>
      new BrokerTokenProvider({ call: async <T>() => token as T }, { clock: { now: () => 10_000 } });
    const old = await stale({ accessToken: 'at-v1', version: 1, expiresAt: 3_600_000 })
      .getToken('c', { minVersion: 2 })
      .catch((e: unknown) => e);
    expect(old).toBeInstanceOf(TransientError);
    expect((old as Error).message).toMatch(/version 2 or newer.*newest: 1/);
    expect((old as Error).message).not.toContain('at-v1');
    const expired = await stale({ accessToken: 'at-v3', version: 3, expiresAt: 9_000 })
      .getToken('c', { minVersion: 3 })
      .catch((e: unknown) => e);
    expect(expired).toBeInstanceOf(TransientError);
    expect((expired as Error).message).toMatch(/expired before it could be used/);
    // Short-lived but unexpired: too short for the buffer, still handed out.
    const short = await stale({ accessToken: 'at-v4', version: 4, expiresAt: 10_500 }).getToken('c');
    expect(short.version).toBe(4);
  });

  it('propagates typed broker errors', async () => {
    const provider = new BrokerTokenProvider({
      call: async () => {
        throw new ReauthRequiredError('c', 'invalid_grant');
      },
    });
    await expect(provider.getToken('c')).rejects.toBeInstanceOf(ReauthRequiredError);
  });
});

describe('InProcessBrokerTransport', () => {
  it('passes JSON copies both ways and a Lambda-like context', async () => {
    const request: BrokerRequest = { action: 'get', connectionId: 'c' };
    let seen: unknown;
    let functionName = '';
    const transport = new InProcessBrokerTransport(async (event, context) => {
      seen = event;
      functionName = context.functionName;
      return { accessToken: 'a', expiresAt: 1, version: 1, dropped: undefined };
    });
    const out = await transport.call<Record<string, unknown>>(request);
    expect(seen).toEqual(request);
    expect(seen).not.toBe(request);
    expect('dropped' in out).toBe(false);
    expect(functionName).toBe('goal-sync-token-broker');
  });

  it('shutdown can wait for the calls in flight (a refresh at the IdP), bounded', async () => {
    let release: () => void = () => undefined;
    const transport = new InProcessBrokerTransport(
      () =>
        new Promise((resolve) => (release = () => resolve({ accessToken: 'a', expiresAt: 1, version: 1 }))),
    );
    expect(await transport.settled(10)).toBe(true);
    const call = transport.call({ action: 'refresh', connectionId: 'c' });
    expect(transport.pending).toBe(1);
    expect(await transport.settled(20)).toBe(false);
    const waiting = transport.settled(5_000);
    release();
    expect(await waiting).toBe(true);
    await call;
    expect(transport.pending).toBe(0);
  });

  it('rebuilds typed errors like the Lambda transport does', async () => {
    const failing = (err: Error) => new InProcessBrokerTransport(async () => Promise.reject(err));
    const reauth = (await failing(new ReauthRequiredError('c9', 'invalid_grant'))
      .call({ action: 'get', connectionId: 'c9' })
      .catch((e: unknown) => e)) as ReauthRequiredError;
    expect(reauth).toBeInstanceOf(ReauthRequiredError);
    expect(reauth.reason).toBe('invalid_grant');
    const transient = await failing(new TransientError('503'))
      .call({ action: 'sweep' })
      .catch((e: unknown) => e);
    expect(transient).toBeInstanceOf(TransientError);
  });
});

describe('TimerScheduler', () => {
  it('fires once, replaces a schedule of the same name, and cancels', async () => {
    const fired: Record<string, unknown>[] = [];
    const timers = new TimerScheduler((payload) => {
      fired.push(payload);
    });
    await timers.scheduleOnce('a', new Date(Date.now() + 200), { v: 'old' });
    await timers.scheduleOnce('a', new Date(Date.now() + 30), { v: 'new' });
    await timers.scheduleOnce('b', new Date(Date.now() + 30), { v: 'b' });
    await timers.cancel('b');
    expect(timers.pending().map((p) => p.name)).toEqual(['a']);
    await new Promise((r) => setTimeout(r, 300));
    expect(fired).toEqual([{ v: 'new' }]);
    expect(timers.fired).toBe(1);
    expect(timers.pending()).toEqual([]);
  });

  it('fires overdue schedules at once, reports callback errors, and stops on closeAll', async () => {
    const errors: unknown[] = [];
    const timers = new TimerScheduler(
      () => {
        throw new Error('boom');
      },
      { onError: (err) => errors.push(err) },
    );
    await timers.scheduleOnce('late', new Date(Date.now() - 1_000), {});
    await new Promise((r) => setTimeout(r, 20));
    expect(errors).toHaveLength(1);
    await timers.scheduleOnce('x', new Date(Date.now() + 20), {});
    timers.closeAll();
    await timers.scheduleOnce('y', new Date(Date.now() + 20), {});
    await new Promise((r) => setTimeout(r, 60));
    expect(timers.fired).toBe(1);
  });
});

describe('MemoryEventBus', () => {
  it('records redacted events and notifies listeners until unsubscribed', async () => {
    const bus = new MemoryEventBus();
    const heard: string[] = [];
    const off = bus.on((e) => heard.push(e.type));
    await bus.publish('connection.needs_reauth', {
      connectionId: 'c',
      refreshToken: 'rt-very-secret-value-123',
    });
    off();
    await bus.publish('connection.reactivated', { connectionId: 'c' });
    expect(heard).toEqual(['connection.needs_reauth']);
    expect(bus.ofType('connection.needs_reauth')[0]!.detail.refreshToken).not.toContain('secret-value');
    expect(bus.events).toHaveLength(2);
  });
});
