import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { proactiveScheduleName } from '#core/token/index.ts';
import { ReauthRequiredError, TokenCommitError, TransientError } from '../../lambdas/core/errors.ts';
import { type DynamoFaultProxy, startDynamoFaultProxy } from '../../local/adapters/dynamo-fault-proxy.ts';
import { type BrokerFixture, record, startBrokerFixture } from './broker-fixture.ts';
import { BrownoutKms } from './brownout-kms.ts';

/**
 * Issue 11, cases 1-6: the refresh lease covers the whole critical section, against dynalite (behind the
 * fault proxy) and the IdP simulator. Every test ends with 0 reuse detections at the IdP.
 */
let fx: BrokerFixture;
let proxy: DynamoFaultProxy;
beforeAll(async () => {
  fx = await startBrokerFixture();
  proxy = await startDynamoFaultProxy(fx.dynamo.endpoint);
});
afterAll(async () => {
  await proxy?.close();
  await fx?.close();
});
beforeEach(() => {
  fx.idp.setFaults({ errorRate: 0, latencyMs: 0, dropAfterIssueRate: 0, rateLimitPerSecond: 0 });
  fx.keys.latencyMs = 0;
  proxy.setRule(undefined);
  proxy.setFaults({ latencyMs: 0, throttleRate: 0, dropAfterApplyRate: 0 });
  fx.events.clear();
});

type Values = Record<string, { S?: string }>;
const values = (body: Record<string, unknown>) => (body.ExpressionAttributeValues ?? {}) as Values;
const isCommit = (op: string, body: Record<string, unknown>) =>
  op === 'UpdateItem' && values(body)[':commitId'] !== undefined;
const isReauthWrite = (op: string, body: Record<string, unknown>) =>
  op === 'UpdateItem' && values(body)[':status']?.S === 'needs_reauth';

const viaProxy = { dynamoEndpoint: '' };
beforeAll(() => {
  viaProxy.dynamoEndpoint = proxy.endpoint;
});

describe('case 1: slow KMS after the grant — the lease is extended, the pair committed and used', () => {
  it('a waiter never takes the lease from a live holder; one token call, 0 reuse', async () => {
    // 2 s for the token request: a loaded machine (load 12 on 2 cores) took the IdP past 500 ms.
    const opts = { ...viaProxy, leaseMs: 8_000, tokenTimeoutMs: 2_000, callTimeoutMs: 1_500 };
    const a = fx.broker(opts);
    const b = fx.broker(opts);
    const { version } = await fx.connectRefreshToken('c1', a);
    fx.keys.latencyMs = 1_100; // decrypt before the POST, two GenerateDataKey after it (in parallel)
    fx.idp.resetStats();
    const started = Date.now();
    const first = a.getToken('c1', { minVersion: version + 1 });
    await new Promise((r) => setTimeout(r, 100));
    const second = b.getToken('c1', { minVersion: version + 1 });
    const [ta, tb] = await Promise.all([first, second]);
    expect(ta.version).toBe(version + 1);
    expect(tb.version).toBe(version + 1);
    expect(tb.accessToken).toBe(ta.accessToken);
    const item = await fx.item('c1');
    expect(item.status).toBe('active');
    expect(item.refreshInFlight).toBeUndefined();
    expect(fx.idp.stats().tokenRequests).toBe(1);
    expect(fx.idp.stats().reuseDetections).toBe(0);
    record('case1-slow-kms', { kmsMs: 1_100, leaseMs: 8_000, ms: Date.now() - started });
  });
});

describe('case 1b: seal + commit fit only inside the extended lease', () => {
  it('the holder commits after its original lease ended; the waiter neither takes the lease nor resends', async () => {
    // Lease 6 s, calls 900 ms, margin 300 ms: the commit reserve is 2 x 900 + 300 = 2.1 s, so the token
    // request must be answered by 3.9 s. Decrypt (600 ms) + IdP latency (2.3 s) put the answer at ~2.95 s.
    // Then every GenerateDataKey is lost until 200 ms + KMS latency before the ORIGINAL lease end: the
    // seal can succeed only after that end. Unextended, the budget ends at 5.7 s and refuses the attempt
    // that would succeed (it needs 900 ms from ~5.6 s); extended at ~2.95 s, the budget ends at ~8.65 s.
    const leaseMs = 6_000;
    const kmsMs = 700;
    const opts = {
      leaseMs,
      callTimeoutMs: 900,
      leaseMarginMs: 300,
      tokenTimeoutMs: 2_800,
      random: () => 0.5,
    };
    const kms = new BrownoutKms(fx.keys);
    const phases = new Map<string, number>();
    let originalLeaseEnd: Promise<number> | undefined;
    const a = fx.broker({
      ...opts,
      keyProvider: kms,
      probe: (phase) => {
        phases.set(phase, Date.now());
        if (phase === 'acquired') kms.lostUntil = Date.now() + leaseMs - kmsMs + 200;
        // The lease as the holder took it, before any extension.
        if (phase === 'sending') originalLeaseEnd = fx.item('c1b').then((i) => i.leaseExpiresAt as number);
      },
    });
    const waiter = fx.broker(opts);
    const { version } = await fx.connectRefreshToken('c1b', fx.broker());
    kms.latencyMs = kmsMs;
    fx.idp.setFaults({ latencyMs: 2_300 });
    fx.idp.resetStats();
    const first = a.getToken('c1b', { minVersion: version + 1 });
    await new Promise((r) => setTimeout(r, 100));
    const second = waiter.getToken('c1b', { minVersion: version + 1 });
    const [ra, rb] = await Promise.allSettled([first, second]);

    // The pair the IdP issued was committed and handed to both callers.
    expect(ra).toMatchObject({ status: 'fulfilled', value: { version: version + 1 } });
    expect(rb).toMatchObject({ status: 'fulfilled', value: { version: version + 1 } });
    // The scenario is the one claimed: the seal needed retries and landed after the original lease end.
    expect(kms.lost.length).toBeGreaterThanOrEqual(2);
    const leaseEnd = await originalLeaseEnd;
    expect(leaseEnd).toBeTypeOf('number');
    expect(phases.get('committed')).toBeGreaterThan(leaseEnd as number);
    const item = await fx.item('c1b');
    expect(item).toMatchObject({ status: 'active', version: version + 1 });
    expect(item.refreshInFlight).toBeUndefined();
    expect(item.leaseOwner).toBeUndefined();
    expect(fx.idp.stats().tokenRequests).toBe(1);
    expect(fx.idp.stats().reuseDetections).toBe(0);
    expect(fx.events.ofType('connection.needs_reauth')).toHaveLength(0);
    record('case1b-extended-lease', {
      leaseMs,
      kmsMs,
      lostGenerateDataKey: kms.lost.length,
      answeredMs: (phases.get('answered') ?? 0) - (phases.get('acquired') ?? 0),
      committedAfterLeaseEndMs: (phases.get('committed') ?? 0) - (leaseEnd ?? 0),
    });
  });
});

describe('case 2: the holder dies after sending, before committing', () => {
  it('the next holder finds the in-flight marker: needs_reauth "refresh outcome unknown", one event, never resent', async () => {
    const dying = fx.broker({ leaseMs: 3_000, faults: { crashAfterSendRate: 1 } });
    const { version } = await fx.connectRefreshToken('c2', fx.broker());
    fx.idp.resetStats();
    await expect(dying.getToken('c2', { minVersion: version + 1 })).rejects.toBeInstanceOf(TransientError);
    const left = await fx.item('c2');
    expect(left.leaseOwner).toBeDefined();
    expect(left.refreshInFlight).toBe(left.leaseOwner);
    const next = fx.broker({ leaseMs: 3_000 });
    await expect(next.getToken('c2', { minVersion: version + 1 })).rejects.toMatchObject({
      name: 'ReauthRequiredError',
      reason: 'refresh outcome unknown',
    });
    const item = await fx.item('c2');
    expect(item).toMatchObject({ status: 'needs_reauth', lastError: 'refresh outcome unknown' });
    expect(item.leaseOwner).toBeUndefined();
    expect(fx.idp.stats().tokenRequests).toBe(1);
    expect(fx.idp.stats().reuseDetections).toBe(0);
    const events = fx.events.ofType('connection.needs_reauth');
    expect(events).toHaveLength(1);
    expect(events[0]!.detail.eventId).toMatch(/^c2:connection.needs_reauth:/);
    // A later caller is answered from the item: no IdP call at all.
    await expect(next.getToken('c2')).rejects.toBeInstanceOf(ReauthRequiredError);
    expect(fx.idp.stats().tokenRequests).toBe(1);
  });
});

describe('case 3: lost token response plus a throttled needs_reauth write', () => {
  it('the write is retried through throttling: needs_reauth once, one event', async () => {
    const broker = fx.broker({ ...viaProxy, leaseMs: 10_000, callTimeoutMs: 3_000, tokenTimeoutMs: 1_000 });
    const { version } = await fx.connectRefreshToken('c3a', broker);
    let throttled = 0;
    proxy.setRule(({ operation, body }) => {
      if (isReauthWrite(operation, body) && throttled < 4) {
        throttled++;
        return 'throttle';
      }
      return undefined;
    });
    fx.idp.setFaults({ dropAfterIssueRate: 1 });
    fx.idp.resetStats();
    await expect(broker.getToken('c3a', { minVersion: version + 1 })).rejects.toBeInstanceOf(
      ReauthRequiredError,
    );
    expect(throttled).toBe(4);
    const item = await fx.item('c3a');
    expect(item.status).toBe('needs_reauth');
    expect(String(item.lastError)).toMatch(/token response lost/);
    expect(item.refreshInFlight).toBeUndefined();
    expect(fx.events.ofType('connection.needs_reauth')).toHaveLength(1);
    expect(fx.idp.stats().reuseDetections).toBe(0);
  });

  it('when the write fails for good, the marker stays and the next holder flags it without resending', async () => {
    const broker = fx.broker({ ...viaProxy, leaseMs: 3_000, callTimeoutMs: 200 });
    const { version } = await fx.connectRefreshToken('c3b', fx.broker());
    proxy.setRule(({ operation, body }) => (isReauthWrite(operation, body) ? 'throttle' : undefined));
    fx.idp.setFaults({ dropAfterIssueRate: 1 });
    fx.idp.resetStats();
    await expect(broker.getToken('c3b', { minVersion: version + 1 })).rejects.toBeInstanceOf(Error);
    expect((await fx.item('c3b')).refreshInFlight).toBeDefined();
    expect(fx.events.ofType('connection.needs_reauth')).toHaveLength(0);
    proxy.setRule(undefined);
    fx.idp.setFaults({ dropAfterIssueRate: 0 });
    await expect(
      fx.broker({ leaseMs: 3_000 }).getToken('c3b', { minVersion: version + 1 }),
    ).rejects.toMatchObject({ reason: 'refresh outcome unknown' });
    expect(fx.idp.stats().tokenRequests).toBe(1);
    expect(fx.idp.stats().reuseDetections).toBe(0);
    expect(fx.events.ofType('connection.needs_reauth')).toHaveLength(1);
  });
});

describe('case 4: the commit fails for good', () => {
  it('is retried until the lease deadline minus the margin, then one conditioned write flags it and frees the lease', async () => {
    const leaseMs = 3_000;
    const broker = fx.broker({ ...viaProxy, leaseMs, callTimeoutMs: 300 });
    const { version } = await fx.connectRefreshToken('c4', fx.broker());
    let commits = 0;
    proxy.setRule(({ operation, body }) => {
      if (!isCommit(operation, body)) return undefined;
      commits++;
      return 'throttle';
    });
    fx.idp.resetStats();
    const started = Date.now();
    await expect(broker.getToken('c4', { minVersion: version + 1 })).rejects.toBeInstanceOf(TokenCommitError);
    const elapsed = Date.now() - started;
    // The extension gave the commit a whole lease: it kept trying well past the unextended lease's
    // end (without the extension it gave up at ~1.35 s). The bound leaves room for the SDK's own
    // jittered throttle retries, which put the last attempt anywhere from 1.8 to 2.9 s.
    expect(elapsed).toBeGreaterThan(1_600);
    // Several attempts, however the SDK's own throttle retries happened to be spread (5-9 seen).
    expect(commits).toBeGreaterThanOrEqual(3);
    const item = await fx.item('c4');
    expect(item).toMatchObject({
      status: 'needs_reauth',
      lastError: 'rotated refresh token could not be persisted',
      version,
    });
    expect(item.leaseOwner).toBeUndefined();
    expect(item.refreshInFlight).toBeUndefined();
    expect(fx.events.ofType('connection.needs_reauth')).toHaveLength(1);
    expect(fx.idp.stats().tokenRequests).toBe(1);
    expect(fx.idp.stats().reuseDetections).toBe(0);
    record('case4-commit-retry', { leaseMs, commitAttempts: commits, elapsedMs: elapsed });
  });
});

describe('case 5: no attempt starts unless its whole timeout fits before the deadline', () => {
  it('a 429 whose Retry-After leaves less than a timeout is a plain transient failure, not needs_reauth', async () => {
    const broker = fx.broker({ leaseMs: 4_500, tokenTimeoutMs: 1_000 });
    const { version } = await fx.connectRefreshToken('c5', broker);
    // 0.25 req/s: the first request is answered 429 with Retry-After 3 s at once. The grant deadline
    // is 3.6 s after the lease was taken: a retry at ~3.1 s would get a clipped 0.5 s timeout, shorter
    // than the IdP's 0.8 s latency, and be read as "refresh token may be consumed".
    fx.idp.setFaults({ rateLimitPerSecond: 0.25, latencyMs: 800 });
    fx.idp.resetStats();
    const err = await broker.getToken('c5', { minVersion: version + 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).not.toBeInstanceOf(ReauthRequiredError);
    expect(fx.idp.stats().tokenRequests).toBe(1);
    const item = await fx.item('c5');
    expect(item.status).toBe('active');
    expect(item.refreshInFlight).toBeUndefined();
    expect(item.leaseOwner).toBeUndefined();
    fx.idp.setFaults({ rateLimitPerSecond: 0, latencyMs: 0 });
    expect((await broker.getToken('c5', { minVersion: version + 1 })).version).toBe(version + 1);
    expect(fx.idp.stats().reuseDetections).toBe(0);
  });
});

describe('case 6: a commit that landed on the SDK internal retry', () => {
  it('is recognised by lastCommitId: success, proactive schedule created', async () => {
    const broker = fx.broker(viaProxy);
    const { version } = await fx.connectRefreshToken('c6', broker);
    fx.scheduler.schedules.delete(proactiveScheduleName('c6'));
    let dropped = 0;
    proxy.setRule(({ operation, body }) => {
      if (isCommit(operation, body) && dropped === 0) {
        dropped++;
        return 'drop'; // applied, answer lost: the SDK resends, its condition fails on our own write
      }
      return undefined;
    });
    fx.idp.resetStats();
    const token = await broker.getToken('c6', { minVersion: version + 1 });
    expect(dropped).toBe(1);
    expect(token.version).toBe(version + 1);
    expect(fx.scheduler.schedules.has(proactiveScheduleName('c6'))).toBe(true);
    expect((await fx.item('c6')).status).toBe('active');
    expect(fx.idp.stats().tokenRequests).toBe(1);
    expect(fx.idp.stats().reuseDetections).toBe(0);
  });
});

describe('case 7: a lease acquire whose answer was lost', () => {
  type Keyed = { Key?: { connectionId?: { S?: string } }; ConditionExpression?: string };
  const isAcquire = (op: string, body: Record<string, unknown>, id: string) =>
    op === 'UpdateItem' &&
    (body as Keyed).Key?.connectionId?.S === id &&
    String((body as Keyed).ConditionExpression).includes('attribute_not_exists(#owner)');

  it.each([
    ['the SDK retry fails its condition on our own write', 1],
    ['every SDK attempt loses its answer', Number.POSITIVE_INFINITY],
  ])(
    'is settled by reading the owner (%s): no wait for the lease, no second acquire',
    async (_label, drops) => {
      const id = `c7-${drops}`;
      const broker = fx.broker({ ...viaProxy, leaseMs: 6_000 });
      const { version } = await fx.connectRefreshToken(id, broker);
      let acquires = 0;
      const owners = new Set<string | undefined>();
      proxy.setRule(({ operation, body }) => {
        if (!isAcquire(operation, body, id)) return undefined;
        acquires++;
        owners.add(values(body)[':owner']?.S);
        return acquires <= drops ? 'drop' : undefined;
      });
      fx.idp.resetStats();
      const token = await broker.getToken(id, { minVersion: version + 1 });
      proxy.setRule(undefined);
      expect(token.version).toBe(version + 1);
      expect(acquires).toBeGreaterThanOrEqual(2); // the SDK resent the acquire at least once
      // Without the settling read the caller fails (every answer lost), or waits out its own 6 s lease
      // and acquires again under a new owner id.
      expect(owners.size).toBe(1);
      const item = await fx.item(id);
      expect(item.status).toBe('active');
      expect(item.leaseOwner).toBeUndefined();
      expect(fx.idp.stats().tokenRequests).toBe(1);
      expect(fx.idp.stats().reuseDetections).toBe(0);
    },
  );
});
