// A token broker "Lambda" as a separate process, for the crash campaign (issue 11). Run as
//   node bin/run-ts.js test/support/broker-crash-child.ts '<json config>'
// It shares dynalite (endpoint), the key file and secrets file (stateDir) and the IdP with its siblings,
// forces refreshes of its connections in a loop, prints `P <phase> <connectionId> <n>` at each step of
// a refresh, and, when told to, freezes at one step so the parent's SIGKILL lands exactly there.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { TokenBroker } from '#core/token/index.ts';
import { ReauthRequiredError } from '../../lambdas/core/errors.ts';
import type { EventPublisher, Scheduler } from '../../lambdas/core/ports.ts';
import { documentClient, dynamoClient } from '../../local/adapters/dynalite.ts';
import { FileSecretSource } from '../../local/adapters/file-secret-source.ts';
import { LocalKeyProvider } from '../../local/adapters/local-key-provider.ts';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';

interface ChildConfig {
  endpoint: string;
  table: string;
  stateDir: string;
  connections: string[];
  leaseMs: number;
  durationMs: number;
  /** Pause between rounds (the survivor leaves the victims room to reach their kill point). */
  pauseMs?: number;
  /** Freeze (so the parent kills us) at the n-th time this phase is reached. */
  freeze?: { phase: string; occurrence: number };
}

const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
const counts = new Map<string, number>();
const probe = (phase: string, connectionId: string) => {
  const n = (counts.get(phase) ?? 0) + 1;
  counts.set(phase, n);
  process.stdout.write(`P ${phase} ${connectionId} ${n}\n`);
  if (config.freeze && config.freeze.phase === phase && config.freeze.occurrence === n) {
    // Blocks the event loop: no timer, no I/O callback runs until the SIGKILL arrives.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000);
  }
};

/** Events of every process in one file: the parent counts distinct event ids per transition. */
export const fileEvents = (file: string): EventPublisher => ({
  publish: async (type, detail) => {
    appendFileSync(file, `${JSON.stringify({ type, detail, pid: process.pid })}\n`);
  },
});
const noSchedules: Scheduler = { scheduleOnce: async () => undefined, cancel: async () => undefined };
const logger = new Logger({ serviceName: 'token-broker', logLevel: 'SILENT' });

const broker = new TokenBroker({
  doc: documentClient(dynamoClient(config.endpoint)),
  tableName: config.table,
  keys: await LocalKeyProvider.inStateDir(config.stateDir),
  secrets: FileSecretSource.inStateDir(config.stateDir),
  scheduler: noSchedules,
  events: fileEvents(join(config.stateDir, 'events.jsonl')),
  logger,
  metrics: new Metrics({ namespace: 'Crash', serviceName: 'token-broker', logger }),
  options: { leaseMs: config.leaseMs, callTimeoutMs: 800, pollStartMs: 20, pollCapMs: 200, probe },
});

const until = Date.now() + config.durationMs;
const live = new Set(config.connections);
while (Date.now() < until && live.size > 0) {
  await Promise.all(
    [...live].map(async (id) => {
      try {
        const item = await broker.store.get(id);
        await broker.getToken(id, { minVersion: (item?.version ?? 0) + 1 });
      } catch (err) {
        if (err instanceof ReauthRequiredError) live.delete(id);
        // Transient, lease timeouts, commit errors: a Lambda caller would retry later.
      }
    }),
  );
  if (config.pauseMs) await new Promise((r) => setTimeout(r, config.pauseMs));
}
process.stdout.write('DONE\n');
process.exit(0);
