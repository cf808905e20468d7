import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ReauthRequiredError } from '../../lambdas/core/errors.ts';
import type { EventPublisher } from '../../lambdas/core/ports.ts';
import { createTokenBrokerHandler } from '../../lambdas/token-broker/handler.ts';
import { documentClient, dynamoClient } from '../../local/adapters/dynalite.ts';
import { type DynamoFaultProxy, startDynamoFaultProxy } from '../../local/adapters/dynamo-fault-proxy.ts';
import { type BrokerFixture, startBrokerFixture } from './broker-fixture.ts';

/**
 * Issue 11: the deployed stack's outbox relay. With `outboxRelay: 'stream'` the transition's own Lambda
 * leaves its event in the item; the connection table's stream (KEYS_ONLY) invokes the broker, which
 * publishes each written connection's pending events once, removes them, and reports the first
 * connection it could not drain so Lambda retries from there. dynalite has no streams: the batches
 * are built here in the shape Lambda delivers them, the table and the conditional removals are real.
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
  fx.idp.setFaults({ errorRate: 0, latencyMs: 0, dropAfterIssueRate: 0, forceInvalidGrant: false });
  proxy.setRule(undefined);
  fx.events.clear();
});

const context = { getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
let sequence = 100;
function record(connectionId: string, eventName: DynamoDBRecord['eventName'] = 'MODIFY'): DynamoDBRecord {
  sequence += 1;
  return {
    eventID: `e${sequence}`,
    eventName,
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    dynamodb: {
      Keys: { connectionId: { S: connectionId } },
      SequenceNumber: String(sequence),
      StreamViewType: 'KEYS_ONLY',
    },
  };
}
const batch = (...records: DynamoDBRecord[]): DynamoDBStreamEvent => ({ Records: records });

/** The relay as deployed; `throughProxy` puts the DynamoDB fault proxy between it and dynalite. */
function relayHandler(events: EventPublisher, throughProxy = false) {
  return createTokenBrokerHandler({
    doc: throughProxy ? documentClient(dynamoClient(proxy.endpoint)) : fx.dynamo.doc,
    tableName: fx.dynamo.tables.connections,
    keys: fx.keys,
    secrets: fx.secrets,
    scheduler: fx.scheduler,
    events,
    logger: fx.logger,
    options: { outboxRelay: 'stream' },
  });
}

/** Connects, then lets the IdP reject the grant: the needs_reauth transition writes one event. */
async function needsReauth(connectionId: string): Promise<string> {
  const { version } = await fx.connectRefreshToken(connectionId, fx.broker());
  fx.idp.setFaults({ forceInvalidGrant: true });
  const broker = fx.broker({ outboxRelay: 'stream' });
  await expect(broker.getToken(connectionId, { minVersion: version + 1 })).rejects.toBeInstanceOf(
    ReauthRequiredError,
  );
  fx.idp.setFaults({ forceInvalidGrant: false });
  const pending = (await fx.item(connectionId)).outbox as Array<{ eventId: string }>;
  expect(pending).toHaveLength(1);
  return pending[0]!.eventId;
}

describe('outbox relay (DynamoDB stream -> broker)', () => {
  it('the transition leaves its event to the stream; one batch publishes it once, a redelivery none', async () => {
    const eventId = await needsReauth('relay-a');
    // Nothing published by the transition itself: the stream relay owns the drain.
    expect(fx.events.events.filter((e) => e.detail.connectionId === 'relay-a')).toHaveLength(0);
    const handler = relayHandler(fx.events);
    const event = batch(
      record('relay-a'),
      record('~rate-limit:token-endpoint#2'),
      record('relay-a'),
      record('relay-gone', 'REMOVE'),
    );
    await expect(handler(event, context)).resolves.toEqual({ batchItemFailures: [] });
    const published = fx.events.events.filter((e) => e.detail.connectionId === 'relay-a');
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ type: 'connection.needs_reauth', detail: { eventId } });
    expect((await fx.item('relay-a')).outbox).toEqual([]);
    // At-least-once delivery of the stream: the same batch again publishes nothing more.
    await expect(handler(event, context)).resolves.toEqual({ batchItemFailures: [] });
    expect(fx.events.events.filter((e) => e.detail.connectionId === 'relay-a')).toHaveLength(1);
  });

  it('a failed publish reports that record, keeps the event, and the retry delivers it with the same id', async () => {
    const eventId = await needsReauth('relay-b');
    await fx.connectRefreshToken('relay-c', fx.broker());
    let down = true;
    const seen: Array<{ type: string; detail: Record<string, unknown> }> = [];
    const flaky: EventPublisher = {
      publish: async (type, detail) => {
        if (down) throw new Error('EventBridge unavailable');
        seen.push({ type, detail });
      },
    };
    const handler = relayHandler(flaky);
    const first = record('relay-c');
    const failing = record('relay-b');
    const event = batch(first, failing, record('relay-c'));
    // relay-c has nothing pending; relay-b fails: Lambda resumes the batch from relay-b's record.
    await expect(handler(event, context)).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: failing.dynamodb!.SequenceNumber }],
    });
    expect((await fx.item('relay-b')).outbox).toHaveLength(1);
    down = false;
    await expect(handler(batch(failing), context)).resolves.toEqual({ batchItemFailures: [] });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ type: 'connection.needs_reauth', detail: { eventId } });
    expect((await fx.item('relay-b')).outbox).toEqual([]);
  });

  it('with the inline relay (the laptop) the transition publishes its event itself', async () => {
    const { version } = await fx.connectRefreshToken('relay-inline', fx.broker());
    fx.idp.setFaults({ forceInvalidGrant: true });
    await expect(fx.broker().getToken('relay-inline', { minVersion: version + 1 })).rejects.toBeInstanceOf(
      ReauthRequiredError,
    );
    expect(fx.events.events.filter((e) => e.detail.connectionId === 'relay-inline')).toHaveLength(1);
    expect((await fx.item('relay-inline')).outbox).toEqual([]);
  });

  it('DynamoDB throttling every read fails the record; a removal whose answer is lost publishes nothing twice', async () => {
    const eventId = await needsReauth('relay-ddb');
    const handler = relayHandler(fx.events, true);
    const rec = record('relay-ddb');
    // Our own table throttles every read (past the SDK's retries): nothing published, the record fails.
    proxy.setRule(({ operation }) => (operation === 'GetItem' ? 'throttle' : undefined));
    await expect(handler(batch(rec), context)).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: rec.dynamodb!.SequenceNumber }],
    });
    expect(fx.events.events.filter((e) => e.detail.connectionId === 'relay-ddb')).toHaveLength(0);
    expect((await fx.item('relay-ddb')).outbox).toHaveLength(1);
    // The retry: the head's removal applies but its answer is lost, so the SDK sends it again (its
    // condition then fails). The event is out once, the item is empty, a redelivery publishes nothing.
    let dropped = 0;
    proxy.setRule(({ operation, body }) =>
      operation === 'UpdateItem' && String(body.UpdateExpression).startsWith('REMOVE') && dropped++ === 0
        ? 'drop'
        : undefined,
    );
    await expect(handler(batch(rec), context)).resolves.toEqual({ batchItemFailures: [] });
    await expect(handler(batch(rec), context)).resolves.toEqual({ batchItemFailures: [] });
    expect(dropped).toBeGreaterThan(0);
    const published = fx.events.events.filter((e) => e.detail.connectionId === 'relay-ddb');
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ detail: { eventId } });
    expect((await fx.item('relay-ddb')).outbox).toEqual([]);
  });

  it('two drainers overlapping on one transition (stream batch and a sweep, or two batches) publish its event once', async () => {
    const eventId = await needsReauth('relay-overlap');
    const published: string[] = [];
    // A slow PutEvents: both drainers read the item with the event still at the head.
    const slow: EventPublisher = {
      publish: async (_type, detail) => {
        await new Promise((r) => setTimeout(r, 300));
        published.push(String(detail.eventId));
      },
    };
    const results = await Promise.all([
      relayHandler(slow)(batch(record('relay-overlap')), context),
      relayHandler(slow)(batch(record('relay-overlap')), context),
      fx.broker({ outboxRelay: 'stream' }).sweep(),
    ]);
    expect(results).toHaveLength(3);
    expect(
      published.concat(fx.events.ofType('connection.needs_reauth').map((e) => String(e.detail.eventId))),
    ).toEqual([eventId]);
    expect((await fx.item('relay-overlap')).outbox).toEqual([]);
  });
});
