import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { CONNECTION_TABLE } from '../../tables.ts';
import { RATE_LIMIT_KEY_PREFIX } from '../refresh/token-rate.ts';
import type { Outbox } from './outbox.ts';

/** A batch from the connection table's stream (KEYS_ONLY: no token envelope ever travels in it). */
export function isConnectionStreamEvent(event: unknown): event is DynamoDBStreamEvent {
  const records = (event as { Records?: unknown } | null)?.Records;
  return (
    Array.isArray(records) &&
    records.length > 0 &&
    records.every((r) => (r as { eventSource?: unknown }).eventSource === 'aws:dynamodb')
  );
}

/**
 * The outbox relay of the deployed stack: every write to a connection item reaches the stream, and
 * each written connection's outbox is drained once per batch, in stream order. The first connection
 * whose drain fails is reported by its sequence number (ReportBatchItemFailures), so Lambda retries
 * from there; events are never lost either way, since they stay in the item until published and the
 * sweeper drains what the stream gave up on. Limiter items (`~rate-limit:`) carry no outbox.
 */
export async function relayOutboxes(
  outbox: Outbox,
  event: DynamoDBStreamEvent,
): Promise<DynamoDBBatchResponse> {
  const drained = new Set<string>();
  for (const record of event.Records) {
    if (record.eventName === 'REMOVE') continue;
    const connectionId = record.dynamodb?.Keys?.[CONNECTION_TABLE.partitionKey]?.S;
    if (!connectionId || connectionId.startsWith(RATE_LIMIT_KEY_PREFIX) || drained.has(connectionId))
      continue;
    try {
      await outbox.relay(connectionId);
      drained.add(connectionId);
    } catch {
      const at = record.dynamodb?.SequenceNumber;
      // Without a sequence number Lambda cannot resume mid-batch: fail the whole batch instead.
      return { batchItemFailures: [{ itemIdentifier: at ?? '' }] };
    }
  }
  return { batchItemFailures: [] };
}
