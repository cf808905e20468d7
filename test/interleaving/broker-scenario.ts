import { Logger } from '@aws-lambda-powertools/logger';
import type fc from 'fast-check';
import { TokenBroker, type TokenBrokerOptions } from '#core/token/index.ts';
import { ReauthRequiredError } from '../../lambdas/core/errors.ts';
import { createMetrics } from '../../lambdas/core/observability.ts';
import type { EventType, IssuedToken, Scheduler } from '../../lambdas/core/ports.ts';
import { connectionTableSpec } from '../../lambdas/core/tables.ts';
import type { BrokerPlan, InstancePlan } from './broker-plans.ts';
import { DynamoModel } from './model/dynamo-model.ts';
import { IdpModel } from './model/idp-model.ts';
import { modelDocClient, modelKeyProvider } from './model/peers.ts';
import { World } from './model/world.ts';

process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

/**
 * The token broker's refresh protocol under every ordering the scheduler picks: several broker instances
 * (separate leases and single-flights, as separate Lambdas) refresh one connection whose token went stale,
 * against a rotating IdP with reuse detection, with latency, throttling, lost answers and instances that
 * stop forever at any await. Properties: docs/invariants.md, invariants 1, 2 and 5.
 */
const TABLE = 'connections';
const CONNECTION = 'conn-1';
const LEASE_MS = 3_000;
const TOKEN_TTL_S = 600;
const SECRET_REF = { secretId: 'secret/conn-1', grant: 'refresh_token' } as const;

export const BROKER_OPTIONS: TokenBrokerOptions = {
  leaseMs: LEASE_MS,
  callTimeoutMs: 500,
  leaseMarginMs: 300,
  bufferSeconds: 120,
  pollStartMs: 50,
  pollCapMs: 1_000,
  attempts: 3,
  backoffBaseMs: 100,
  backoffCapMs: 400,
};

class RecordingScheduler implements Scheduler {
  async scheduleOnce(): Promise<void> {}
  async cancel(): Promise<void> {}
}

/** A small deterministic PRNG: jitter must replay with the seed. */
export function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const logger = new Logger({ serviceName: 'interleaving', logLevel: 'SILENT' });
const metrics = createMetrics('interleaving');

export interface Verdict {
  violations: string[];
  story: string[];
}

/**
 * The sweeper's recovery of a self-recoverable needs_reauth: waits (up to 5 s of model time) for one to
 * appear, then sweeps once its retryAt has come, as the rate(5 minutes) sweep would.
 */
async function recoverOnceDue(
  broker: TokenBroker,
  clock: { now(): number; sleep(ms: number): Promise<void> },
) {
  for (let poll = 0; poll < 50; poll++) {
    const item = await broker.store.get(CONNECTION);
    if (item?.status === 'needs_reauth' && item.autoRetry && item.retryAt !== undefined) {
      await clock.sleep(Math.max(0, item.retryAt - clock.now()) + 1);
      await broker.sweep();
      return;
    }
    await clock.sleep(100);
  }
}

/** The stream's delivery: the relay runs within 100 ms of an event being written into the item (or never). */
async function relayOnceWritten(broker: TokenBroker, clock: { sleep(ms: number): Promise<void> }) {
  for (let poll = 0; poll < 50; poll++) {
    const item = await broker.store.get(CONNECTION);
    if ((item?.outbox.length ?? 0) > 0) {
      await broker.outbox.relay(CONNECTION);
      return;
    }
    await clock.sleep(100);
  }
}

export async function runBrokerScenario(s: fc.Scheduler, plan: BrokerPlan): Promise<Verdict> {
  const world = new World(s);
  const db = new DynamoModel([connectionTableSpec(TABLE)]);
  const idp = new IdpModel(TOKEN_TTL_S);
  const events: Array<{ type: EventType; eventId?: string }> = [];
  const random = seeded(plan.seed);
  const secrets = {
    getSecret: async () => ({
      tokenUrl: 'https://idcs.model/oauth2/v1/token',
      clientId: 'client',
      clientSecret: 'secret',
      bootstrapRefreshToken: 'rt-0',
    }),
  };
  const hot = (key: string) => plan.limiterThrottled === true && key.startsWith('~rate-limit:');
  const actors = new Map<string, ReturnType<World['actor']>>();
  const makeBroker = (name: string, p?: InstancePlan) => {
    const actor = world.actor(name, p?.kill);
    actors.set(name, actor);
    return new TokenBroker({
      doc: modelDocClient(world, actor, db, p?.dynamo, hot),
      tableName: TABLE,
      keys: modelKeyProvider(world, actor, p?.kms),
      secrets,
      scheduler: new RecordingScheduler(),
      events: {
        publish: async (type, detail) => {
          events.push({ type, eventId: detail.eventId as string | undefined });
        },
      },
      logger,
      metrics,
      clock: world.clock(actor),
      fetch: idp.fetchFor(world, actor, p?.idp ?? [], p?.idpLatency ?? []),
      options: { ...BROKER_OPTIONS, random },
    });
  };

  // Connected, then idle until the token is stale: every instance's first call needs a refresh.
  const connecting = makeBroker('setup').connect(CONNECTION, SECRET_REF);
  await world.run(500);
  const connected = await connecting;
  world.advanceTo(connected.expiresAt - 60_000);
  world.story.push(`connected v${connected.version}; clock moved to 60 s before expiry`);

  const received: Array<{ who: string; minVersion: number; token: IssuedToken; at: number }> = [];
  const failures: Array<{ who: string; error: unknown }> = [];
  plan.instances.forEach((p, i) => {
    const broker = makeBroker(`broker-${i}`, p);
    void (async () => {
      let last: IssuedToken | undefined;
      let failed = false;
      for (const call of p.calls) {
        // The stream and the sweeper run whatever this instance's earlier call did.
        if (failed && call !== 'relay' && call !== 'recover') return;
        const minVersion = call === 'afterUnauthorized' && last ? last.version + 1 : 0;
        try {
          if (call === 'proactive') await broker.proactive(CONNECTION);
          else if (call === 'sweep') await broker.sweep();
          else if (call === 'connect') await broker.connect(CONNECTION, SECRET_REF);
          else if (call === 'relay') await relayOnceWritten(broker, world.clock(actors.get(`broker-${i}`)!));
          else if (call === 'recover') await recoverOnceDue(broker, world.clock(actors.get(`broker-${i}`)!));
          else {
            last = await broker.getToken(CONNECTION, minVersion > 0 ? { minVersion } : {});
            received.push({ who: `broker-${i}`, minVersion, token: last, at: world.now });
          }
        } catch (error) {
          failures.push({ who: `broker-${i}`, error });
          failed = true;
        }
      }
    })();
  });
  const { exhausted } = await world.run(5_000);

  const violations: string[] = [];
  if (exhausted) violations.push('livelock: 5,000 steps without settling');
  for (const r of received) {
    if (r.token.version < r.minVersion)
      violations.push(`${r.who} asked for version >= ${r.minVersion} and got ${r.token.version}`);
    if (!idp.accessTokens.has(r.token.accessToken))
      violations.push(`${r.who} got a token the IdP never issued`);
    if (r.token.expiresAt <= r.at) violations.push(`${r.who} got an expired token`);
  }

  // End state, after every lease could have lapsed: a fresh instance with quiet peers either gets a
  // working token by a forced refresh (the stored refresh token is the IdP's current one) or is told
  // needs_reauth, which then carries exactly one event. Never a lease that is held forever.
  // A self-recoverable needs_reauth is the sweeper's to settle first, once its retryAt has come.
  const settled = db.peek(TABLE, { connectionId: CONNECTION }) ?? {};
  const recoverable = settled.status === 'needs_reauth' && settled.autoRetry === true;
  world.advanceTo(Math.max(world.now + 3 * LEASE_MS, recoverable ? Number(settled.retryAt) + 1 : 0));
  const checker = makeBroker('checker');
  // Recovered by the sweep: that was a refresh with the stored token, so the token it stored is the proof.
  const final = (async () => {
    if (!recoverable) return checker.replaceToken(CONNECTION);
    await checker.sweep();
    return checker.getToken(CONNECTION);
  })().then(
    (t) => ({ ok: true as const, t }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  await world.run(500);
  const outcome = await Promise.race([final, Promise.resolve(undefined)]);
  const item = db.peek(TABLE, { connectionId: CONNECTION }) ?? {};
  const outboxed = (item.outbox as Array<{ type: string; eventId: string }> | undefined) ?? [];
  // Transitions by their events' ids, published or still in the outbox: into needs_reauth, and back
  // out of it (the sweeper's recovery of a self-recoverable one reactivates the connection).
  const transitions = (type: EventType) =>
    new Set([
      ...events.filter((e) => e.type === type).map((e) => e.eventId),
      ...outboxed.filter((e) => e.type === type).map((e) => e.eventId),
    ]).size;
  const reauths = transitions('connection.needs_reauth');
  const reactivations = transitions('connection.reactivated');
  if (outcome === undefined) violations.push('the final refresh never settled');
  else if (outcome.ok) {
    if (item.status !== 'active')
      violations.push(`final refresh succeeded but status is ${String(item.status)}`);
    if (reauths !== reactivations)
      violations.push(
        `active connection with ${reauths} needs_reauth and ${reactivations} reactivated event(s)`,
      );
  } else if (outcome.e instanceof ReauthRequiredError) {
    if (item.status !== 'needs_reauth')
      violations.push(`re-auth required but status is ${String(item.status)}`);
    if (reauths !== reactivations + 1)
      violations.push(
        `needs_reauth with ${reauths} needs_reauth and ${reactivations} reactivated events (want one more of the first)`,
      );
  } else {
    violations.push(`final refresh failed: ${(outcome.e as Error).name}: ${(outcome.e as Error).message}`);
  }
  // Nothing waits for a rate slot between a holder's marker write and its request: a holder that died
  // in that wait would leave "refresh outcome unknown" (a human reconnect) for a request never sent.
  const marked = new Set<string>();
  for (const t of s.report()) {
    if (t.status === 'pending') continue;
    const label = String(t.label);
    const who = label.split(': ')[0]!;
    if (label.includes('Update conn-1 SET #inflight = :me')) marked.add(who);
    // Its request, or a new refresh (which starts by reading the item): the marker's wait is over.
    else if (label.includes('IdP POST') || label.includes('Get conn-1')) marked.delete(who);
    else if (label.includes('~rate-limit:') && marked.delete(who))
      violations.push(`${who} waited for a rate slot with its in-flight marker written and nothing sent`);
  }
  // One event per transition: a repeat only where a drainer stopped between its put and the removal.
  const published = events.filter((e) => e.type === 'connection.needs_reauth').map((e) => e.eventId);
  const stopped = world.story.some((l) => l.includes(' stops forever at step '));
  if (!stopped && new Set(published).size < published.length)
    violations.push(
      `a needs_reauth event published ${published.length - new Set(published).size} extra time(s)`,
    );
  // Checked last: the final refresh may be the one that resends (a marker that should have stopped it).
  if (idp.reuseDetections > 0)
    violations.unshift(`the IdP saw a used refresh token (${idp.reuseDetections} reuse detections)`);
  return { violations, story: world.story };
}
