import { createPrivateKey, type JsonWebKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenBroker } from '#core/token/index.ts';
import {
  ConnectionRecoveringError,
  ReauthRequiredError,
  SimulatedCrashError,
} from '../../lambdas/core/errors.ts';
import type { KeyProvider } from '../../lambdas/core/ports.ts';
import { startDynamoFaultProxy } from '../../local/adapters/dynamo-fault-proxy.ts';
import { HCM_AUDIENCE } from '../../local/constants.ts';
import { DEFAULT_SUBJECT } from '../../local/idp/index.ts';
import { prng } from '../support/campaign.ts';
import { type BrokerFixture, record, startBrokerFixture } from './broker-fixture.ts';

/**
 * Issue 26's refresh campaign: broker instances force refreshes of refresh_token, client_credentials and
 * jwt-bearer connections through every fault at once: DynamoDB throttling and writes whose answer is
 * lost (a fault proxy), KMS latency bursts, IdP answers lost after the rotation, a gateway's 502 after the
 * rotation, 500s that touched nothing (no client can tell them from the 502s), 503s with Retry-After, and
 * holders that crash right after the IdP answered (the lease and the marker stay, as after a SIGKILL; the
 * crash campaign SIGKILLs real processes at every step of a refresh). Promise: 0 reuse; a needs_reauth
 * transition (one event each) for exactly the token requests of a rotating grant whose outcome was
 * unknown; none for client_credentials and jwt-bearer.
 * REFRESH_CAMPAIGN=10000 runs the full campaign (default 300 here, to keep npm test fast).
 */
const TOTAL = Number(process.env.REFRESH_CAMPAIGN ?? 300);
const ROTATING = 36;
const CLIENT_CREDENTIALS = 12;
const JWT_BEARER = 12;
const WORKERS = 12;
const rng = prng(26);
const random = () => rng.next();

let fx: BrokerFixture;
beforeAll(async () => {
  fx = await startBrokerFixture({ faults: { latencyMs: 2, jitterMs: 6 } });
});
afterAll(async () => {
  await fx?.close();
});

/** KMS with latency bursts: now and then a stretch of calls that take 200-700 ms. */
function burstyKms(keys: KeyProvider): KeyProvider {
  let burstUntil = 0;
  const delay = async () => {
    if (Date.now() > burstUntil && random() < 0.01) burstUntil = Date.now() + 500;
    if (Date.now() < burstUntil) await new Promise((r) => setTimeout(r, 200 + random() * 500));
  };
  return {
    keyId: keys.keyId,
    generateDataKey: async (context, options) => {
      await delay();
      return keys.generateDataKey(context, options);
    },
    decryptDataKey: async (encrypted, context, options) => {
      await delay();
      return keys.decryptDataKey(encrypted, context, options);
    },
  };
}

describe('refresh campaign (issue 26): every fault at once, 0 reuse, needs_reauth only for unknown outcomes', () => {
  it(
    `${TOTAL} refreshes`,
    async () => {
      const proxy = await startDynamoFaultProxy(fx.dynamo.endpoint, {
        faults: { throttleRate: 0.03, dropAfterApplyRate: 0.01, latencyMs: 1 },
        random,
      });
      // Token requests of a rotating grant whose outcome the broker could not know: no answer at all
      // (lost after the rotation), or a 5xx other than a 503 with Retry-After (a 500 that touched
      // nothing, a gateway's 502 after the rotation). Counted apart for the reconnects: a connect that fails so
      // leaves a needs_reauth connection needs_reauth, which is no new transition.
      const unknown = { refresh: 0, reconnect: 0 };
      let crashesRotating = 0;
      const counting =
        (bucket: keyof typeof unknown): typeof fetch =>
        async (input, init) => {
          const rotating =
            new URLSearchParams(String(init?.body ?? '')).get('grant_type') === 'refresh_token';
          try {
            const res = await fetch(input, init);
            const refused = res.status === 503 && res.headers.has('retry-after');
            if (rotating && res.status >= 500 && !refused) unknown[bucket] += 1;
            return res;
          } catch (err) {
            if (rotating) unknown[bucket] += 1;
            throw err;
          }
        };
      const options = {
        dynamoEndpoint: proxy.endpoint,
        keyProvider: burstyKms(fx.keys),
        fetch: counting('refresh'),
        leaseMs: 6_000,
        tokenEndpointRatePerSecond: 0,
        faults: { crashAfterSendRate: 0.004 },
      };
      const brokers: TokenBroker[] = Array.from({ length: 3 }, () => fx.broker(options));
      const clean = fx.broker({
        fetch: counting('reconnect'),
        leaseMs: 6_000,
        tokenEndpointRatePerSecond: 0,
      });
      const client = fx.idp.clients[0]!;
      const rotating = Array.from({ length: ROTATING }, (_, i) => `camp-rt-${i}`);
      const cc = Array.from({ length: CLIENT_CREDENTIALS }, (_, i) => `camp-cc-${i}`);
      const jwt = Array.from({ length: JWT_BEARER }, (_, i) => `camp-jwt-${i}`);
      for (const id of rotating) await fx.connectRefreshToken(id, clean);
      for (const id of cc) {
        await fx.secrets.putSecret(`secret/${id}`, {
          tokenUrl: fx.idp.tokenUrl,
          clientId: client.clientId,
          clientSecret: client.clientSecret,
          scope: HCM_AUDIENCE,
        });
        await clean.connect(id, { secretId: `secret/${id}`, grant: 'client_credentials' });
      }
      // jwt-bearer as idp-assertion.test.ts has the IdP check it: a user assertion signed with the key of
      // the certificate imported under its alias, for a user of the domain.
      const privateKeyPem = createPrivateKey({ key: client.privateJwk as JsonWebKey, format: 'jwk' })
        .export({ type: 'pkcs8', format: 'pem' })
        .toString();
      for (const id of jwt) {
        await fx.secrets.putSecret(`secret/${id}`, {
          tokenUrl: fx.idp.tokenUrl,
          clientId: client.clientId,
          clientSecret: client.clientSecret,
          privateKeyPem,
          keyId: client.certificateAlias,
          subject: DEFAULT_SUBJECT,
          scope: HCM_AUDIENCE,
        });
        await clean.connect(id, { secretId: `secret/${id}`, grant: 'jwt_bearer' });
      }
      fx.idp.resetStats();
      fx.events.events.length = 0;
      fx.idp.setFaults({
        dropAfterIssueRate: 0.004,
        gatewayErrorAfterIssueRate: 0.004,
        errorRate: 0.01,
        errorStatus: 503,
      });
      const flip = setInterval(() => fx.idp.setFaults({ errorStatus: random() < 0.5 ? 500 : 503 }), 1_000);

      const counts = { calls: 0, reauthSeen: 0, recovering: 0, transient: 0, reconnects: 0 };
      const transientByName: Record<string, number> = {};
      const issued = () => fx.idp.stats().accessTokensIssued;
      const reconnecting = new Set<string>();
      const ids = [...rotating, ...cc, ...jwt];
      const reconnect = async (id: string) => {
        if (reconnecting.has(id)) return;
        reconnecting.add(id);
        // A new grant, as a human's reconnect would give; retried until it lands (it sees faults too).
        for (;;) {
          try {
            await fx.connectRefreshToken(id, clean);
            counts.reconnects += 1;
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        reconnecting.delete(id);
      };
      // The full campaign runs for many minutes: say how far it got now and then.
      const progress = setInterval(
        () => process.stderr.write(`[refresh-campaign] ${issued()} issued, ${counts.calls} calls\n`),
        30_000,
      );
      try {
        await Promise.all(
          Array.from({ length: WORKERS }, async (_, w) => {
            // Each worker refreshes its own connections (one caller per connection at a time, as a fleet
            // refreshes them), each time through any of the broker instances.
            const mine = ids.filter((_, i) => i % WORKERS === w);
            while (issued() < TOTAL) {
              const id = mine[Math.floor(random() * mine.length)]!;
              const broker = brokers[Math.floor(random() * brokers.length)]!;
              try {
                counts.calls += 1;
                await broker.replaceToken(id);
              } catch (err) {
                if (err instanceof ReauthRequiredError) {
                  counts.reauthSeen += 1;
                  if (id.startsWith('camp-rt-')) await reconnect(id);
                } else if (err instanceof ConnectionRecoveringError) {
                  counts.recovering += 1;
                  await brokers[0]!.sweep().catch(() => undefined);
                } else if (err instanceof SimulatedCrashError) {
                  if (id.startsWith('camp-rt-')) crashesRotating += 1;
                } else {
                  counts.transient += 1;
                  const name = (err as Error).name;
                  transientByName[name] = (transientByName[name] ?? 0) + 1;
                }
              }
            }
          }),
        );
      } finally {
        clearInterval(progress);
        clearInterval(flip);
        fx.idp.setFaults({ dropAfterIssueRate: 0, gatewayErrorAfterIssueRate: 0, errorRate: 0 });
      }
      // Settle: once every lease has lapsed, a quiet broker finds each crashed holder's marker.
      await new Promise((r) => setTimeout(r, 6_500));
      for (const id of ids) {
        await clean.replaceToken(id).catch((err: unknown) => {
          if (!(err instanceof ReauthRequiredError)) throw err;
        });
      }
      await proxy.close();

      const reauthEvents = fx.events.events.filter((e) => e.type === 'connection.needs_reauth');
      // Transitions, by their stable event ids (a republished event is the same transition), published
      // or still in the item's outbox (a drain that met the throttled table leaves it for the sweeper).
      const pending: Array<{ type: string; eventId: string; connectionId: string }> = [];
      for (const id of ids)
        for (const e of ((await fx.item(id)).outbox as Array<{ type: string; eventId: string }>) ?? [])
          pending.push({ ...e, connectionId: id });
      const byGrant = (prefix: string) =>
        new Set([
          ...reauthEvents
            .filter((e) => String(e.detail.connectionId).startsWith(prefix))
            .map((e) => e.detail.eventId),
          ...pending
            .filter((e) => e.type === 'connection.needs_reauth' && e.connectionId.startsWith(prefix))
            .map((e) => e.eventId),
        ]).size;
      const stats = fx.idp.stats();
      record('refresh-campaign', {
        refreshes: stats.accessTokensIssued,
        tokenRequests: stats.tokenRequests,
        transientByName,
        reuse: stats.reuseDetections,
        unknownRotating: unknown.refresh,
        unknownReconnects: unknown.reconnect,
        crashesRotating,
        needsReauthRotating: byGrant('camp-rt-'),
        needsReauthClientCredentials: byGrant('camp-cc-'),
        needsReauthJwtBearer: byGrant('camp-jwt-'),
        eventsLeftInOutbox: pending.length,
        droppedByIdp: stats.droppedResponses,
        gatewayErrorsAfterIssue: stats.gatewayErrorsAfterIssue,
        byGrant: stats.byGrant,
        injectedErrors: stats.injectedErrors,
        dynamo: proxy.stats(),
        ...counts,
      });
      expect(stats.accessTokensIssued).toBeGreaterThanOrEqual(TOTAL);
      expect(stats.reuseDetections).toBe(0);
      expect(byGrant('camp-cc-')).toBe(0);
      expect(byGrant('camp-jwt-')).toBe(0);
      expect(stats.byGrant['urn:ietf:params:oauth:grant-type:jwt-bearer']).toBeGreaterThan(0);
      expect(byGrant('camp-rt-')).toBe(unknown.refresh + crashesRotating);
    },
    Math.max(120_000, TOTAL * 300),
  );
});
