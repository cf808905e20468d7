import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { asTransient } from '../aws-errors.ts';
import { TransientError } from '../errors.ts';
import { sleep as defaultSleep, fullJitterDelay } from '../retry.ts';
import type { ItemKey } from './item-keys.ts';

/** DynamoDB hard limits per call. */
const BATCH_GET_MAX = 100;
const BATCH_WRITE_MAX = 25;
/** Unprocessed keys mean throttling: back off, but give up in bounded time so the Lambda can retry. */
const UNPROCESSED_ATTEMPTS = 8;

/**
 * DynamoDB failures that survived the SDK's own retries become TransientError (the one AWS classifier,
 * aws-errors.ts), so Step Functions' Retry on the task picks them up; anything else (validation,
 * conditions) passes through unchanged.
 */
export async function dynamoCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asTransient(err, `DynamoDB ${what}`);
  }
}

function chunked<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface BatchOptions {
  sleep?: (ms: number) => Promise<void>;
  consistentRead?: boolean;
}

/** BatchGetItem over any number of keys (100 per call, calls in parallel), retrying unprocessed keys. */
export async function batchGetAll(
  doc: DynamoDBDocumentClient,
  table: string,
  keys: ItemKey[],
  options: BatchOptions = {},
): Promise<Record<string, unknown>[]> {
  const wait = options.sleep ?? defaultSleep;
  const pages = await Promise.all(
    chunked(keys, BATCH_GET_MAX).map(async (page) => {
      const found: Record<string, unknown>[] = [];
      let pending: ItemKey[] = page;
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= UNPROCESSED_ATTEMPTS) {
          throw new TransientError(`DynamoDB left ${pending.length} keys unprocessed`);
        }
        if (attempt > 0) await wait(fullJitterDelay(attempt, 50, 2_000));
        const out: BatchGetCommandOutput = await dynamoCall('BatchGetItem', () =>
          doc.send(
            new BatchGetCommand({
              RequestItems: { [table]: { Keys: pending, ConsistentRead: options.consistentRead ?? true } },
            }),
          ),
        );
        found.push(...((out.Responses?.[table] ?? []) as Record<string, unknown>[]));
        pending = (out.UnprocessedKeys?.[table]?.Keys ?? []) as ItemKey[];
      }
      return found;
    }),
  );
  return pages.flat();
}

/** BatchWriteItem puts (25 per call), retrying unprocessed items. Unconditional: only for idempotent puts. */
export async function batchPutAll(
  doc: DynamoDBDocumentClient,
  table: string,
  items: Record<string, unknown>[],
  options: BatchOptions = {},
): Promise<void> {
  const wait = options.sleep ?? defaultSleep;
  for (const page of chunked(items, BATCH_WRITE_MAX)) {
    let pending = page.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= UNPROCESSED_ATTEMPTS) {
        throw new TransientError(`DynamoDB left ${pending.length} writes unprocessed`);
      }
      if (attempt > 0) await wait(fullJitterDelay(attempt, 50, 2_000));
      const out = await dynamoCall('BatchWriteItem', () =>
        doc.send(new BatchWriteCommand({ RequestItems: { [table]: pending } })),
      );
      pending = (out.UnprocessedItems?.[table] ?? []) as typeof pending;
    }
  }
}

/** Every item of partition `pk` whose sort key starts with `prefix`, page by page (consistent reads). */
export async function queryByPrefix(
  doc: DynamoDBDocumentClient,
  table: string,
  pk: string,
  prefix: string,
  options: { limit?: number; projection?: { expression: string; names: Record<string, string> } } = {},
): Promise<Record<string, unknown>[]> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const projection = options.projection;
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page: QueryCommandOutput = await dynamoCall('Query', () =>
      doc.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
          ConsistentRead: true,
          ExclusiveStartKey: start,
          ...(projection
            ? { ProjectionExpression: projection.expression, ExpressionAttributeNames: projection.names }
            : {}),
          ...(Number.isFinite(limit) ? { Limit: Math.min(1000, limit - items.length) } : {}),
        }),
      ),
    );
    items.push(...((page.Items ?? []) as Record<string, unknown>[]));
    start = page.LastEvaluatedKey;
  } while (start && items.length < limit);
  return items;
}
