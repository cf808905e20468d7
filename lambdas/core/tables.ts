/**
 * Table and key names shared by the CDK stack, the DynamoDB adapters and the local runner
 * (which creates the same tables in dynalite).
 */
export const CONNECTION_TABLE = {
  /** Default physical name for the laptop; the stack passes the real one in env CONNECTION_TABLE. */
  defaultName: 'goal-sync-connections',
  partitionKey: 'connectionId',
} as const;

/**
 * Sparse index of the connections the sweeper must look at, by when (issue 11): active ones by token
 * expiry, auto-retried needs_reauth ones by their retry time, any with a pending outbox event at once.
 * Terminal needs_reauth connections carry no `dueAt` and are not in it. The partition key is one of
 * DUE_SHARDS values, so no single index partition takes every write of a large fleet.
 */
export const CONNECTION_DUE_INDEX = {
  name: 'due-index',
  partitionKey: 'dueShard',
  sortKey: 'dueAt',
} as const;
export const DUE_SHARDS = 4;

export const CHECKPOINT_TABLE = {
  defaultName: 'goal-sync-checkpoints',
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds; DynamoDB TTL removes finished runs' records after the retention period. */
  ttlAttribute: 'expiresAt',
} as const;

export interface TableSpec {
  name: string;
  partitionKey: string;
  sortKey?: string;
  /** Global secondary indexes: string partition key, number sort key, all attributes projected. */
  indexes?: Array<{ name: string; partitionKey: string; sortKey: string }>;
}

export function connectionTableSpec(name: string = CONNECTION_TABLE.defaultName): TableSpec {
  return { name, partitionKey: CONNECTION_TABLE.partitionKey, indexes: [{ ...CONNECTION_DUE_INDEX }] };
}

export function checkpointTableSpec(name: string = CHECKPOINT_TABLE.defaultName): TableSpec {
  return { name, partitionKey: CHECKPOINT_TABLE.partitionKey, sortKey: CHECKPOINT_TABLE.sortKey };
}
