import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShardedDynamoRateLimiter, type ShardedRateConfig } from '#core/rate/index.ts';
import type { Clock } from '../../lambdas/core/ports.ts';
import { CHECKPOINT_TABLE } from '../../lambdas/core/tables.ts';
import {
  createProjectTables,
  documentClient,
  dynamoClient,
  type LocalDynamo,
  startDynalite,
} from '../../local/adapters/dynalite.ts';
import { peakInWindow } from '../../local/idp/idp-stats.ts';

/**
 * The fleet-wide rate of core/rate (the HCM request ceiling): several instances, each with its own
 * DynamoDB client against one dynalite as concurrent Lambdas would have, sharing a rate spread over
 * shards of the checkpoint table; and its fail-soft pace when the table is throttled.
 */
let dynamo: LocalDynamo;
let table: string;
const clients: ReturnType<typeof dynamoClient>[] = [];
beforeAll(async () => {
  dynamo = await startDynalite();
  table = (await createProjectTables(dynamo.client)).checkpoints;
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await dynamo?.close();
});

const clock: Clock = { now: () => Date.now() };
const keyOf = (name: string) => (shard: number) => ({
  [CHECKPOINT_TABLE.partitionKey]: `~rate-limit:${name}`,
  [CHECKPOINT_TABLE.sortKey]: `shard-${shard}`,
});

function instance(config: Partial<ShardedRateConfig> & { what: string }, doc?: DynamoDBDocumentClient) {
  let store = doc;
  if (!store) {
    const client = dynamoClient(dynamo.endpoint);
    clients.push(client);
    store = documentClient(client);
  }
  return new ShardedDynamoRateLimiter(
    store,
    table,
    { ratePerSecond: 12, key: keyOf(config.what), fallbackRatePerSecond: 2, ...config },
    clock,
  );
}

/** A table that answers every call with DynamoDB's throttling error (nothing else is reached). */
function throttledTable(calls: { n: number }, thenUse?: DynamoDBDocumentClient, failFirst = Infinity) {
  const err = Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
    name: 'ProvisionedThroughputExceededException',
  });
  // Only `send` is used by the limiter; the cast stands for the rest of the client's surface.
  return {
    send: async (...args: Parameters<DynamoDBDocumentClient['send']>) => {
      calls.n += 1;
      if (calls.n <= failFirst || !thenUse) throw err;
      return thenUse.send(...args);
    },
  } as unknown as DynamoDBDocumentClient;
}

describe('ShardedDynamoRateLimiter (dynalite)', () => {
  it('splits the rate over shards that add up to it, each at least 1/s', () => {
    expect(instance({ what: 'split-a', ratePerSecond: 12, shards: 4 }).shardRates).toEqual([3, 3, 3, 3]);
    expect(instance({ what: 'split-b', ratePerSecond: 10, shards: 4 }).shardRates).toEqual([3, 3, 2, 2]);
    expect(instance({ what: 'split-c', ratePerSecond: 2, shards: 4 }).shardRates).toEqual([1, 1]);
  });

  it('4 instances x 6 callers x 2 requests at 12/s over 4 shards: never more than 12 in any second', async () => {
    const rate = 12;
    const limiters = Array.from({ length: 4 }, () => instance({ what: 'concurrent', ratePerSecond: rate }));
    const admitted: number[] = [];
    await Promise.all(
      limiters.flatMap((l) =>
        Array.from({ length: 6 }, async () => {
          for (let i = 0; i < 2; i++) {
            await l.acquire(Date.now() + 60_000);
            admitted.push(Date.now());
          }
        }),
      ),
    );
    expect(admitted).toHaveLength(48);
    expect(peakInWindow(admitted, 1_000)).toBeLessThanOrEqual(rate);
    expect(limiters.every((l) => l.counts.fallback === 0)).toBe(true);
  });

  it('a throttled table: every caller still gets through, at the fallback pace, and nobody stops', async () => {
    const calls = { n: 0 };
    const limiter = instance({ what: 'throttled', fallbackRatePerSecond: 2 }, throttledTable(calls));
    const admitted: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        await limiter.acquire(Date.now() + 60_000);
        admitted.push(Date.now());
      }),
    );
    expect(admitted).toHaveLength(6);
    expect(limiter.counts.fallback).toBe(6);
    expect(limiter.inFallback).toBe(true);
    // Not flooding: the fallback pace (2/s), not the fleet's 12/s, and the table asked twice, not per request.
    // Six admissions at 2 in any second span at least two seconds (at 12/s: under half a second). A bound
    // from below: a busy machine only stretches it (timestamps taken after each await can bunch up there,
    // so a peak counted from them would measure the machine, not the limiter).
    admitted.sort((a, b) => a - b);
    expect(admitted.at(-1)! - admitted[0]!).toBeGreaterThanOrEqual(1_900);
    expect(calls.n).toBe(2);
  });

  it('after the fallback period the instance asks the table again', async () => {
    const calls = { n: 0 };
    const client = dynamoClient(dynamo.endpoint);
    clients.push(client);
    const limiter = instance(
      { what: 'recovers', fallbackForMs: 300 },
      throttledTable(calls, documentClient(client), 2),
    );
    await limiter.acquire(Date.now() + 10_000);
    expect(limiter.counts.fallback).toBe(1);
    await new Promise((r) => setTimeout(r, 400));
    await limiter.acquire(Date.now() + 10_000);
    expect(limiter.counts.admitted).toBe(1);
    expect(limiter.inFallback).toBe(false);
  });
});
