// A token broker "Lambda" as a separate process, for the crash campaign (issue 11). Run as
//   node bin/run-ts.js test/support/broker-crash-child.ts '<json config>'
// It shares dynalite (endpoint), the key file and secrets file (stateDir) and the IdP with its siblings,
// forces refreshes of its connections in a loop, prints `P <phase> <connectionId> <n>` at each step of
// a refresh, and, when told to, freezes at one step so the parent's SIGKILL lands exactly there.
import { AsyncLocalStorage } from 'node:async_hooks';
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
/** The connection a round of the loop refreshes: the token endpoint's client sees only the form. */
const refreshing = new AsyncLocalStorage<string>();
// SIGUSR1: the parent's time is up. Freeze at the next step of a refresh (so the kill still lands at a
// known step), or leave between rounds when no refresh is under way.
let stopping = false;
process.on('SIGUSR1', () => {
  stopping = true;
});
const freeze = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000);
const probe = (phase: string, connectionId: string) => {
  const n = (counts.get(phase) ?? 0) + 1;
  counts.set(phase, n);
  process.stdout.write(`P ${phase} ${connectionId} ${n}\n`);
  if (stopping || (config.freeze && config.freeze.phase === phase && config.freeze.occurrence === n)) {
    process.stdout.write(`F ${phase} ${connectionId}\n`);
    // Blocks the event loop: no timer, no I/O callback runs until the SIGKILL arrives.
    freeze();
  }
};

/**
 * The token endpoint's client, seen from outside the broker: `sent` is the step after the IdP has
 * processed the request and before the holder hears the answer (a kill there is a lost answer), and
 * `U` reports a refresh_token request whose outcome no client could know (no answer, or a 5xx other
 * than a 503 with Retry-After), which the parent counts beside the kills after the marker.
 */
const observedFetch: typeof fetch = async (input, init) => {
  const form = new URLSearchParams(String(init?.body ?? ''));
  const rotating = form.get('grant_type') === 'refresh_token';
  const connectionId = refreshing.getStore() ?? '?';
  let res: Response;
  try {
    res = await fetch(input, init);
  } catch (err) {
    if (rotating) process.stdout.write(`U ${connectionId}\n`);
    throw err;
  }
  if (rotating) {
    probe('sent', connectionId);
    if (res.status >= 500 && !(res.status === 503 && res.headers.has('retry-after')))
      process.stdout.write(`U ${connectionId}\n`);
  }
  return res;
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
  fetch: observedFetch,
  options: { leaseMs: config.leaseMs, callTimeoutMs: 800, pollStartMs: 20, pollCapMs: 200, probe },
});

const until = Date.now() + config.durationMs;
const live = new Set(config.connections);
while (Date.now() < until && live.size > 0 && !stopping) {
  await Promise.all(
    [...live].map(async (id) => {
      try {
        const item = await broker.store.get(id);
        await refreshing.run(id, () => broker.getToken(id, { minVersion: (item?.version ?? 0) + 1 }));
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
