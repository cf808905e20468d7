// Fleet bench (issue 11): N connections "connected within one minute", token lifetimes scaled down,
// refreshed for several cycles by the sweeper alone (no per-connection schedule fires), under the
// shared token-endpoint rate. Counts come from the IdP simulator, sampled once per second.
//   node bin/run-ts.js bench/fleet.ts [--connections 10000] [--cycles 3] [--lifetime 120] [--rate 20]

import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { EnvelopeCipher } from '../lambdas/core/crypto/envelope.ts';
import { CONNECTION_DUE_INDEX, DUE_SHARDS } from '../lambdas/core/tables.ts';
import { TokenBroker } from '../lambdas/core/token/broker.ts';
import { encryptionContext } from '../lambdas/core/token/token-vault.ts';
import { createProjectTables, startDynalite } from '../local/adapters/dynamo.ts';
import { FileSecretSource } from '../local/adapters/file-secret-source.ts';
import { LocalKeyProvider } from '../local/adapters/local-key-provider.ts';
import { MemoryEventBus } from '../local/adapters/memory-event-bus.ts';
import { HCM_AUDIENCE } from '../local/constants.ts';
import { startIdp } from '../local/idp/index.ts';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const { values } = parseArgs({
  options: {
    connections: { type: 'string' },
    cycles: { type: 'string' },
    lifetime: { type: 'string' },
    rate: { type: 'string' },
    'sweep-every': { type: 'string' },
  },
});
const N = Number(values.connections ?? 10_000);
const CYCLES = Number(values.cycles ?? 3);
const LIFETIME_S = Number(values.lifetime ?? 120);
const RATE = Number(values.rate ?? 20);
const SWEEP_EVERY_MS = Number(values['sweep-every'] ?? 10) * 1000;
const IDCS_LIMIT = 40;
const log = (line: string) => process.stderr.write(`[fleet] ${line}\n`);

const dir = await mkdtemp(join(tmpdir(), 'fleet-'));
const dynamo = await startDynalite();
const tables = await createProjectTables(dynamo.client);
// The IdP enforces the IDCS per-domain limit: a sweep that exceeded it would see 429s.
const idp = await startIdp({ accessTokenTtlSeconds: LIFETIME_S, rateLimitPerSecond: IDCS_LIMIT });
const client = idp.clients[0]!;
const secrets = FileSecretSource.inStateDir(dir);
const keys = await LocalKeyProvider.inStateDir(dir);
await secrets.putSecret('fleet', {
  tokenUrl: idp.tokenUrl,
  clientId: client.clientId,
  clientSecret: client.clientSecret,
  scope: HCM_AUDIENCE,
});
const logger = new Logger({ serviceName: 'token-broker', logLevel: 'SILENT' });
const broker = new TokenBroker({
  doc: dynamo.doc,
  tableName: tables.connections,
  keys,
  secrets,
  scheduler: { scheduleOnce: async () => undefined, cancel: async () => undefined },
  events: new MemoryEventBus(),
  logger,
  metrics: new Metrics({ namespace: 'Fleet', serviceName: 'token-broker', logger }),
  // Grace 0: no schedule fires here, the sweeper owns every refresh; horizon covers the proactive lead.
  options: { sweepGraceMs: 0, sweepHorizonMs: LIFETIME_S * 600, tokenEndpointRatePerSecond: RATE },
});

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
log(`${N} connections seeded in ${Date.now() - t0} ms; lifetime ${LIFETIME_S} s, sweep rate ${RATE}/s`);

const perSecond: number[] = [];
let last = { count: idp.stats().tokenRequests, at: performance.now() };
let expiredSeen = 0;
// Requests per second over the real elapsed time: a stalled event loop must not inflate a sample.
const sampler = setInterval(() => {
  const now = { count: idp.stats().tokenRequests, at: performance.now() };
  perSecond.push((now.count - last.count) / ((now.at - last.at) / 1000));
  last = now;
}, 1000);
const expiryCheck = async () => {
  const out = await dynamo.doc.send(
    new ScanCommand({ TableName: tables.connections, ProjectionExpression: 'expiresAt' }),
  );
  // A token still stored after its expiry would be handed to a worker only after a JIT refresh: count them.
  const now = Date.now();
  expiredSeen += (out.Items ?? []).filter((i) => (i.expiresAt as number) < now).length;
};

const sweeps: Array<{ refreshed: number; failed: number; deferred: number; durationMs: number }> = [];
const end = t0 + CYCLES * LIFETIME_S * 1000 + 60_000;
while (Date.now() < end) {
  const started = Date.now();
  const r = await broker.sweep({ remainingTimeMs: () => 90_000 - (Date.now() - started) });
  sweeps.push({ refreshed: r.refreshed, failed: r.failed, deferred: r.deferred, durationMs: r.durationMs });
  if (r.refreshed > 0)
    log(`sweep: ${r.refreshed} refreshed, ${r.failed} failed, ${r.deferred} deferred in ${r.durationMs} ms`);
  await expiryCheck();
  await new Promise((res) => setTimeout(res, Math.max(0, SWEEP_EVERY_MS - (Date.now() - started))));
}
clearInterval(sampler);

const sorted = [...perSecond].sort((a, b) => a - b);
const busy = sweeps.filter((s) => s.refreshed > 0);
const refreshed = busy.reduce((n, s) => n + s.refreshed, 0);
const busyMs = busy.reduce((n, s) => n + s.durationMs, 0);
const stats = idp.stats();
const result = {
  connections: N,
  cycles: CYCLES,
  lifetimeSeconds: LIFETIME_S,
  configuredRate: RATE,
  idcsLimit: IDCS_LIMIT,
  tokenRequests: stats.tokenRequests,
  refreshed,
  peakPerSecond: Math.round((sorted.at(-1) ?? 0) * 10) / 10,
  p99PerSecond: Math.round((sorted[Math.floor(sorted.length * 0.99)] ?? 0) * 10) / 10,
  rateLimited429: stats.rateLimited,
  reuseDetections: stats.reuseDetections,
  expiredTokensSeen: expiredSeen,
  sweepMsPer1000Due: refreshed > 0 ? Math.round((busyMs / refreshed) * 1000) : 0,
  failed: sweeps.reduce((n, s) => n + s.failed, 0),
  wallSeconds: Math.round((Date.now() - t0) / 1000),
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
await idp.close();
await dynamo.close();
await rm(dir, { recursive: true, force: true });
process.exit(
  result.peakPerSecond <= RATE && result.reuseDetections === 0 && result.expiredTokensSeen === 0 ? 0 : 1,
);
