/**
 * Table and key names shared by the CDK stack, the DynamoDB adapters and the local runner
 * (which creates the same tables in dynalite).
 */
export const CONNECTION_TABLE = {
  /** Default physical name for the laptop; the stack passes the real one in env CONNECTION_TABLE. */
  defaultName: 'goal-sync-connections',
  partitionKey: 'connectionId',
} as const;

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
}

export function connectionTableSpec(name: string = CONNECTION_TABLE.defaultName): TableSpec {
  return { name, partitionKey: CONNECTION_TABLE.partitionKey };
}

export function checkpointTableSpec(name: string = CHECKPOINT_TABLE.defaultName): TableSpec {
  return { name, partitionKey: CHECKPOINT_TABLE.partitionKey, sortKey: CHECKPOINT_TABLE.sortKey };
}
