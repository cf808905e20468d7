// Fleet bench (issue 11): N connections "connected within one minute", token lifetimes scaled down,
// refreshed for several cycles by the sweeper alone (no per-connection schedule fires) of several broker
// instances (each its own DynamoDB client, as concurrent Lambdas), under the fleet-wide token-endpoint
// rate (the sharded limiter of core/rate in the connection table), whose items are throttled for
// --throttle-limiter-for seconds from --throttle-limiter-at (default: a minute in the middle; 0 = never).
// Rates come from the arrival time of every token request at a
// front door before the IdP (bench/fleet-front-door.ts, a process that only forwards and stamps): the
// peak is the most requests in any sliding 1 s window, p99 over whole seconds.
//   node bin/run-ts.js bench/fleet.ts [--connections 10000] [--cycles 3] [--lifetime 120] [--rate 20]
//     [--instances 1] [--lanes 16] [--sweep-every 10] [--out FILE (per-second counts)]
//     [--throttle-limiter-at S] [--throttle-limiter-for 60]

import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { EnvelopeCipher } from '#core/crypto/index.ts';
import { DEFAULT_TOKEN_ENDPOINT_RATE, encryptionContext, TokenBroker } from '#core/token/index.ts';
import { CONNECTION_DUE_INDEX, DUE_SHARDS } from '../lambdas/core/tables.ts';
import { documentClient, dynamoClient } from '../local/adapters/dynalite.ts';
import { FileSecretSource } from '../local/adapters/file-secret-source.ts';
import { LocalKeyProvider } from '../local/adapters/local-key-provider.ts';
import { MemoryEventBus } from '../local/adapters/memory-event-bus.ts';
import { HCM_AUDIENCE } from '../local/constants.ts';
import { peakInWindow } from '../local/idp/idp-stats.ts';
import type { IdpStats } from '../local/idp/index.ts';
import { limiterThrottleWindow } from './fleet-throttle.ts';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const { values } = parseArgs({
  options: {
    connections: { type: 'string' },
    cycles: { type: 'string' },
    lifetime: { type: 'string' },
    rate: { type: 'string' },
    'sweep-every': { type: 'string' },
    instances: { type: 'string' },
    lanes: { type: 'string' },
    out: { type: 'string' },
    'throttle-limiter-at': { type: 'string' },
    'throttle-limiter-for': { type: 'string' },
  },
});
const N = Number(values.connections ?? 10_000);
const CYCLES = Number(values.cycles ?? 3);
const LIFETIME_S = Number(values.lifetime ?? 120);
const RATE = Number(values.rate ?? DEFAULT_TOKEN_ENDPOINT_RATE);
const SWEEP_EVERY_MS = Number(values['sweep-every'] ?? 10) * 1000;
const INSTANCES = Number(values.instances ?? 1);
const LANES = Number(values.lanes ?? 16);
const IDCS_LIMIT = 40;
const IDCS_LIMIT_PER_MINUTE = 1000;
const THROTTLE_FOR_S = Number(values['throttle-limiter-for'] ?? 60);
// Default: the throttled minute in the middle of the run (which lasts CYCLES lifetimes + 60 s).
const THROTTLE_AT_S = Number(
  values['throttle-limiter-at'] ?? Math.max(0, (CYCLES * LIFETIME_S + 60 - THROTTLE_FOR_S) / 2),
);
const log = (line: string) => process.stderr.write(`[fleet] ${line}\n`);

const dir = await mkdtemp(join(tmpdir(), 'fleet-'));
/**
 * A bench peer in a process of its own, spoken to over the fork IPC channel: `ask` sends a message of
 * type `send` (if given) and resolves with the next reply of type `type`.
 */
function forkPeer<M extends { type: string }>(script: string, args: string[] = []) {
  const child = fork(
    fileURLToPath(new URL('../bin/run-ts.js', import.meta.url)),
    [fileURLToPath(new URL(script, import.meta.url)), ...args],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const ask = <T extends M['type']>(type: T, send?: string) =>
    new Promise<Extract<M, { type: T }>>((resolve) => {
      const on = (m: M) => {
        if (m.type !== type) return;
        child.off('message', on);
        resolve(m as Extract<M, { type: T }>);
      };
      child.on('message', on);
      if (send) child.send({ type: send });
    });
  return { ask, close: () => child.send({ type: 'close' }) };
}

// dynalite in its own process too: its work must not stall the brokers between a rate slot and its request.
const dynamoPeer = forkPeer<{ type: 'ready'; endpoint: string; tables: { connections: string } }>(
  './fleet-dynamo.ts',
);
const { endpoint, tables } = await dynamoPeer.ask('ready');
const seedClient = dynamoClient(endpoint);
const dynamo = { endpoint, doc: documentClient(seedClient) };
// The IdP enforces the IDCS per-domain limit (a sweep that exceeded it would see 429s), in its own process.
const idpPeer = forkPeer<
  | { type: 'ready'; tokenUrl: string; clientId: string; clientSecret: string }
  | { type: 'reset' }
  | { type: 'stats'; stats: IdpStats; times: number[] }
>('./fleet-idp.ts', [String(LIFETIME_S), String(IDCS_LIMIT)]);
const idp = await idpPeer.ask('ready');
const client = { clientId: idp.clientId, clientSecret: idp.clientSecret };
// The brokers reach the IdP through the front door, which stamps each request's arrival.
const frontDoorPeer = forkPeer<
  { type: 'ready'; origin: string } | { type: 'reset' } | { type: 'arrivals'; times: number[] }
>('./fleet-front-door.ts', [new URL(idp.tokenUrl).origin]);
const frontDoor = await frontDoorPeer.ask('ready');
const tokenUrl = new URL(idp.tokenUrl);
const frontDoorTokenUrl = new URL(tokenUrl.pathname + tokenUrl.search, frontDoor.origin).href;
const secrets = FileSecretSource.inStateDir(dir);
const keys = await LocalKeyProvider.inStateDir(dir);
await secrets.putSecret('fleet', {
  tokenUrl: frontDoorTokenUrl,
  clientId: client.clientId,
  clientSecret: client.clientSecret,
  scope: HCM_AUDIENCE,
});
const logger = new Logger({ serviceName: 'token-broker', logLevel: 'SILENT' });
// When each token request left a broker: the limiter's own promise, next to the IdP's view of it.
const sentTimes: number[] = [];
const timedFetch: typeof fetch = (input, init) => {
  sentTimes.push(Date.now());
  return fetch(input, init);
};
// The brokers reach dynalite through the proxy that throttles the limiter's items for a while.
const throttle = await limiterThrottleWindow(endpoint, Date.now(), {
  atMs: THROTTLE_AT_S * 1000,
  forMs: THROTTLE_FOR_S * 1000,
});
const ddbClients = Array.from({ length: INSTANCES }, () => dynamoClient(throttle.proxy.endpoint));
const brokers = ddbClients.map(
  (c) =>
    new TokenBroker({
      doc: documentClient(c),
      tableName: tables.connections,
      keys,
      secrets,
      scheduler: { scheduleOnce: async () => undefined, cancel: async () => undefined },
      events: new MemoryEventBus(),
      logger,
      fetch: timedFetch,
      metrics: new Metrics({ namespace: 'Fleet', serviceName: 'token-broker', logger }),
      // Grace 0: no schedule fires here, the sweepers own every refresh; horizon covers the proactive lead.
      options: {
        sweepGraceMs: 0,
        sweepHorizonMs: LIFETIME_S * 600,
        sweepConcurrency: LANES,
        tokenEndpointRatePerSecond: RATE,
        tokenEndpointInstances: INSTANCES,
      },
    }),
);

// "Connected within one minute": client_credentials connections whose first tokens expire spread over 60 s.
const t0 = Date.now();
const cipher = new EnvelopeCipher(keys);
for (let i = 0; i < N; i += 50) {
  await Promise.all(
    Array.from({ length: Math.min(50, N - i) }, async (_, k) => {
      const id = `fleet-${String(i + k).padStart(5, '0')}`;
      const issuedAt = t0 + ((i + k) / N) * 60_000 - 10_000;
      const expiresAt = issuedAt + LIFETIME_S * 1000;
      const shard = createHash('sha256').update(id).digest()[0]! % DUE_SHARDS;
      await dynamo.doc.send(
        new PutCommand({
          TableName: tables.connections,
          Item: {
            connectionId: id,
            status: 'active',
            grant: 'client_credentials',
            secretId: 'fleet',
            version: 1,
            accessToken: await cipher.encrypt('seeded', encryptionContext(id, 'access')),
            issuedAt,
            expiresAt,
            [CONNECTION_DUE_INDEX.partitionKey]: `due#${shard}`,
            [CONNECTION_DUE_INDEX.sortKey]: expiresAt,
            updatedAt: t0,
            refreshCount: 0,
          },
        }),
      );
    }),
  );
}
log(
  `${N} connections seeded in ${Date.now() - t0} ms; lifetime ${LIFETIME_S} s, fleet rate ${RATE}/s, ${INSTANCES} broker instances`,
);
await idpPeer.ask('reset', 'reset');
await frontDoorPeer.ask('reset', 'reset');

let expiredSeen = 0;
const expiryCheck = async () => {
  // A token still stored after its expiry would be handed to a worker only after a JIT refresh: count
  // them. Paginated: a scan page stops at 1 MB read, a few hundred items with their envelopes.
  const now = Date.now();
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await dynamo.doc.send(
      new ScanCommand({
        TableName: tables.connections,
        ProjectionExpression: 'expiresAt',
        ExclusiveStartKey: startKey,
      }),
    );
    expiredSeen += (out.Items ?? []).filter(
      (i) => typeof i.expiresAt === 'number' && (i.expiresAt as number) < now,
    ).length;
    startKey = out.LastEvaluatedKey;
  } while (startKey);
};

type Sweep = {
  instance: number;
  refreshed: number;
  failed: number;
  deferred: number;
  start: number;
  end: number;
};
const sweeps: Sweep[] = [];
const end = t0 + CYCLES * LIFETIME_S * 1000 + 60_000;
// Each instance sweeps every SWEEP_EVERY_MS, staggered, so their sweeps overlap as concurrent Lambdas would.
await Promise.all(
  brokers.map(async (broker, k) => {
    await new Promise((res) => setTimeout(res, (k * SWEEP_EVERY_MS) / INSTANCES));
    while (Date.now() < end) {
      const started = Date.now();
      const r = await broker.sweep({ remainingTimeMs: () => 90_000 - (Date.now() - started) });
      sweeps.push({ instance: k, ...r, start: started, end: Date.now() });
      if (r.refreshed > 0)
        log(
          `sweep ${k}: ${r.refreshed} refreshed, ${r.failed} failed, ${r.deferred} deferred in ${r.durationMs} ms`,
        );
      if (k === 0) await expiryCheck();
      await new Promise((res) => setTimeout(res, Math.max(0, SWEEP_EVERY_MS - (Date.now() - started))));
    }
  }),
);

const { stats, times } = await idpPeer.ask('stats', 'stats');
const { times: doorTimes } = await frontDoorPeer.ask('arrivals', 'arrivals');
// Why refreshes failed, as the items still record it (masked reasons; cleared by a later success).
const lastErrors: Record<string, number> = {};
for (const c of (await brokers[0]!.status()).connections) {
  const reason = (c as { lastError?: string }).lastError;
  if (reason) lastErrors[reason.slice(0, 80)] = (lastErrors[reason.slice(0, 80)] ?? 0) + 1;
}
// The peak and p99 come from the front door's stamps; the IdP's own are reported beside them.
const arrivals = doorTimes.sort((a, b) => a - b);
const first = arrivals[0] ?? 0;
const perSecond = new Array<number>(Math.max(1, Math.ceil(((arrivals.at(-1) ?? 0) - first + 1) / 1000))).fill(
  0,
);
for (const t of arrivals) perSecond[Math.floor((t - first) / 1000)]! += 1;
const sorted = [...perSecond].sort((a, b) => a - b);
// Wall time during which some sweep was refreshing (overlapping sweeps counted once).
const busy = sweeps.filter((s) => s.refreshed > 0).sort((a, b) => a.start - b.start);
let busyMs = 0;
let coveredUntil = 0;
for (const s of busy) {
  busyMs += Math.max(0, s.end - Math.max(s.start, coveredUntil));
  coveredUntil = Math.max(coveredUntil, s.end);
}
const limiterCounts = brokers.map((b) => b.rateLimiterCounts());
const result = {
  connections: N,
  cycles: CYCLES,
  lifetimeSeconds: LIFETIME_S,
  instances: INSTANCES,
  lanesPerInstance: LANES,
  configuredRate: RATE,
  idcsLimit: IDCS_LIMIT,
  tokenRequests: stats.tokenRequests,
  tokenRequestsAtFrontDoor: doorTimes.length,
  refreshed: sweeps.reduce((n, s) => n + s.refreshed, 0),
  peakPerSecond: peakInWindow(arrivals, 1_000),
  peakPerMinute: peakInWindow(arrivals, 60_000),
  idcsLimitPerMinute: IDCS_LIMIT_PER_MINUTE,
  limiterThrottled: {
    fromSecond: Math.round((throttle.from - t0) / 1000),
    seconds: THROTTLE_FOR_S,
    calls: throttle.proxy.stats().throttled,
    peakPerSecondInside: peakInWindow(
      arrivals.filter((t) => t >= throttle.from && t < throttle.until),
      1_000,
    ),
    requestsInside: arrivals.filter((t) => t >= throttle.from && t < throttle.until).length,
  },
  peakAtIdpEventLoopPerSecond: peakInWindow(times, 1_000),
  p99PerSecond: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
  peakSentPerSecond: peakInWindow(sentTimes, 1_000),
  rateLimited429: stats.rateLimited,
  reuseDetections: stats.reuseDetections,
  expiredTokensSeen: expiredSeen,
  sweepMsPer1000Due: stats.tokenRequests > 0 ? Math.round((busyMs / stats.tokenRequests) * 1000) : 0,
  failed: sweeps.reduce((n, s) => n + s.failed, 0),
  limiter: {
    admitted: limiterCounts.reduce((n, c) => n + c.admitted, 0),
    fallback: limiterCounts.reduce((n, c) => n + c.fallback, 0),
    storeFailures: limiterCounts.reduce((n, c) => n + c.storeFailures, 0),
    conflicts: limiterCounts.reduce((n, c) => n + c.conflicts, 0),
    spentLate: limiterCounts.reduce((n, c) => n + c.spent, 0),
  },
  lastErrors,
  wallSeconds: Math.round((Date.now() - t0) / 1000),
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
// The whole-second counts and the busiest second's arrivals: where a peak came from, after the run.
if (values.out) {
  const busiestAt = arrivals.find((t, i) => (arrivals[i + result.peakPerSecond - 1] ?? Infinity) - t < 1_000);
  await writeFile(
    values.out,
    JSON.stringify({
      ...result,
      firstArrival: first,
      perSecond,
      busiestWindow: arrivals.filter(
        (t) => busiestAt !== undefined && t >= busiestAt && t < busiestAt + 1_000,
      ),
    }),
  );
}
for (const c of ddbClients) c.destroy();
await throttle.proxy.close();
idpPeer.close();
frontDoorPeer.close();
seedClient.destroy();
dynamoPeer.close();
await rm(dir, { recursive: true, force: true });
// The promise: within the IdP's limits per second and per minute (with part of the fleet on its fallback
// pace the configured rate may be passed by the fallback's share), nothing lost, nothing expired.
process.exit(
  result.peakPerSecond <= IDCS_LIMIT &&
    result.peakPerMinute <= IDCS_LIMIT_PER_MINUTE &&
    result.reuseDetections === 0 &&
    result.expiredTokensSeen === 0 &&
    result.failed === 0
    ? 0
    : 1,
);
