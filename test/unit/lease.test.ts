import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionLease, DEFAULT_LEASE_MS, newLeaseOwner } from '#core/lease/index.ts';
import { DEFAULT_TOKEN_TIMEOUT_MS, GRANT_DEFAULTS } from '#core/token/index.ts';
import { startTestDynamo, type TestDynamo } from '../support/dynalite.ts';

let dynamo: TestDynamo;
let lease: ConnectionLease;
const ID = 'conn-lease';

beforeAll(async () => {
  dynamo = await startTestDynamo();
  lease = new ConnectionLease(dynamo.doc, dynamo.tables.connections, 1_000);
});
afterAll(async () => {
  await dynamo.close();
});
beforeEach(async () => {
  await dynamo.doc.send(
    new PutCommand({
      TableName: dynamo.tables.connections,
      Item: { connectionId: ID, status: 'active', version: 1 },
    }),
  );
});
const item = async () =>
  (
    await dynamo.doc.send(
      new GetCommand({
        TableName: dynamo.tables.connections,
        Key: { connectionId: ID },
        ConsistentRead: true,
      }),
    )
  ).Item!;

describe('ConnectionLease (dynalite)', () => {
  it('outlasts the worst refresh it guards (timeout x attempts + capped backoff)', () => {
    const worstBackoff = [0, 1, 2].reduce(
      (sum, a) => sum + Math.min(GRANT_DEFAULTS.capMs, GRANT_DEFAULTS.baseMs * 2 ** a),
      0,
    );
    expect(DEFAULT_LEASE_MS).toBeGreaterThan(
      GRANT_DEFAULTS.attempts * DEFAULT_TOKEN_TIMEOUT_MS + worstBackoff,
    );
  });

  it('lets exactly one of many concurrent owners acquire it', async () => {
    const now = Date.now();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => lease.tryAcquire(ID, newLeaseOwner(), now)),
    );
    const winners = results.filter((r) => r.acquired);
    expect(winners).toHaveLength(1);
    expect((await item()).leaseOwner).toBe(winners[0]!.acquired && winners[0]!.owner);
    expect((await item()).leaseExpiresAt).toBe(now + 1_000);
  });

  it('can be taken over once expired, not before', async () => {
    const now = Date.now();
    expect((await lease.tryAcquire(ID, 'dead-holder', now)).acquired).toBe(true);
    expect((await lease.tryAcquire(ID, 'b', now + 999)).acquired).toBe(false);
    expect((await lease.tryAcquire(ID, 'b', now + 1_001)).acquired).toBe(true);
    expect((await item()).leaseOwner).toBe('b');
  });

  it('is released only by its owner', async () => {
    const now = Date.now();
    await lease.tryAcquire(ID, 'a', now);
    expect(await lease.release(ID, 'intruder')).toBe(false);
    expect((await item()).leaseOwner).toBe('a');
    expect(await lease.release(ID, 'a')).toBe(true);
    expect((await item()).leaseOwner).toBeUndefined();
    expect((await lease.tryAcquire(ID, 'c', now)).acquired).toBe(true);
  });

  it('never creates an item for an unknown connection', async () => {
    expect((await lease.tryAcquire('no-such-connection', 'a', Date.now())).acquired).toBe(false);
    const out = await dynamo.doc.send(
      new GetCommand({ TableName: dynamo.tables.connections, Key: { connectionId: 'no-such-connection' } }),
    );
    expect(out.Item).toBeUndefined();
  });
});
