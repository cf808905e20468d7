import { parseArgs } from 'node:util';
import { tokenEndpointRate } from '#core/token/index.ts';
import { systemClock } from '../lambdas/core/ports.ts';
import {
  createProjectTables,
  documentClient,
  dynamoClient,
  startDynalite,
} from '../local/adapters/dynalite.ts';
import { peakInWindow } from '../local/idp/idp-stats.ts';

/**
 * Contention of the fleet's token-endpoint rate on dynalite: `callers` broker instances (each its own
 * DynamoDB client, as concurrent Lambdas have), each with one caller taking single slots in a loop for
 * `seconds`. Prints slots admitted, lost races (conditional writes that lost) and the peaks.
 *   npm run bench:token-rate -- --callers 40 --seconds 30
 */
const { values } = parseArgs({
  options: {
    callers: { type: 'string', default: '40' },
    seconds: { type: 'string', default: '30' },
    rate: { type: 'string', default: '15' },
    'per-minute': { type: 'string', default: '900' },
  },
});
const callers = Number(values.callers);
const seconds = Number(values.seconds);
const dynamo = await startDynalite();
const table = (await createProjectTables(dynamo.client)).connections;
const clients = Array.from({ length: callers }, () => dynamoClient(dynamo.endpoint));
const rates = clients.map((c) =>
  tokenEndpointRate(
    documentClient(c),
    table,
    {
      perSecond: Number(values.rate),
      perMinute: Number(values['per-minute']),
      guardMs: 250,
      callTimeoutMs: 1_000,
      instances: callers,
      random: Math.random,
    },
    systemClock,
  ),
);
const admitted: number[] = [];
let noSlot = 0;
const started = Date.now();
await Promise.all(
  rates.map(async ({ limiter }) => {
    while (Date.now() < started + seconds * 1_000) {
      try {
        await limiter.acquire(Date.now() + 5_000);
        admitted.push(Date.now());
      } catch {
        noSlot += 1;
      }
    }
  }),
);
const sum = (k: 'admitted' | 'fallback' | 'conflicts' | 'storeFailures' | 'spent') =>
  rates.reduce((n, r) => n + r.counts()[k], 0);
console.log(
  JSON.stringify({
    callers,
    seconds,
    slots: admitted.length,
    lostRaces: sum('conflicts'),
    lostRacesPerSlot: Number((sum('conflicts') / Math.max(1, admitted.length)).toFixed(2)),
    noSlot,
    fallback: sum('fallback'),
    storeFailures: sum('storeFailures'),
    spent: sum('spent'),
    peak1s: peakInWindow(admitted, 1_000),
    peak60s: peakInWindow(admitted, 60_000),
    elapsedMs: Date.now() - started,
  }),
);
for (const c of clients) c.destroy();
await dynamo.close();
