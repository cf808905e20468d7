import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unlessConditionFails } from '../aws-errors.ts';
import { RunInProgressError, RunLeaseLostError } from '../errors.ts';
import { type Clock, systemClock } from '../ports.ts';
import { dynamoCall } from './batch-io.ts';

/**
 * One run per connection at a time (docs/invariants.md, invariant 7): a lease item per connection,
 * taken by plan-sync, renewed by every chunk pass, released by finish-sync (also when the execution
 * failed, timed out or was aborted). It keeps runs from overlapping in the normal case; the per-record
 * claims on the ledger keep goals single even if the lease lapses while an old invocation still runs.
 */
export const RUN_LEASE_DEFAULT_TTL_MS = 30 * 60_000;

export interface RunLeaseItem {
  connectionId: string;
  runId: string;
  leaseExpiresAt: number;
  acquiredAt: string;
}

const leaseKey = (connectionId: string) => ({ pk: `CONN#${connectionId}`, sk: 'RUNLEASE' });

export class RunLease {
  private readonly clock: Clock;
  private readonly ttlMs: number;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    options: { clock?: Clock; ttlMs?: number } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.ttlMs = options.ttlMs ?? RUN_LEASE_DEFAULT_TTL_MS;
  }

  async get(connectionId: string): Promise<RunLeaseItem | undefined> {
    const out = await dynamoCall('GetItem', () =>
      this.doc.send(
        new GetCommand({ TableName: this.table, Key: leaseKey(connectionId), ConsistentRead: true }),
      ),
    );
    return out.Item as RunLeaseItem | undefined;
  }

  /**
   * Takes the connection for `runId` (again, on a resume); throws RunInProgressError naming the holder.
   * Returns whether `runId` already held a live lease (an execution of it may still be running).
   */
  async acquire(connectionId: string, runId: string): Promise<{ alreadyHeld: boolean }> {
    const now = this.clock.now();
    const out = await unlessConditionFails('DynamoDB UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: leaseKey(connectionId),
          ConditionExpression: 'attribute_not_exists(pk) OR runId = :run OR leaseExpiresAt < :now',
          UpdateExpression:
            'SET runId = :run, connectionId = :conn, leaseExpiresAt = :exp, acquiredAt = :at, expiresAt = :ttl',
          ExpressionAttributeValues: {
            ':run': runId,
            ':conn': connectionId,
            ':now': now,
            ':exp': now + this.ttlMs,
            ':at': new Date(now).toISOString(),
            // DynamoDB TTL (seconds) cleans up leases whose release never came, a day later.
            ':ttl': Math.ceil((now + this.ttlMs) / 1000) + 86_400,
          },
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    if (!out) {
      const holder = await this.get(connectionId);
      throw new RunInProgressError(connectionId, holder?.runId ?? 'unknown', holder?.leaseExpiresAt ?? now);
    }
    const old = out.Attributes as RunLeaseItem | undefined;
    return { alreadyHeld: old?.runId === runId && old.leaseExpiresAt > now };
  }

  /** Extends the lease of a running run; RunLeaseLostError when another run took the connection. */
  async renew(connectionId: string, runId: string): Promise<void> {
    const now = this.clock.now();
    const renewed = await unlessConditionFails('DynamoDB UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: leaseKey(connectionId),
          // A lapsed lease nobody took is ours to extend; a released one (finish ran) is not re-taken.
          ConditionExpression: 'runId = :run',
          UpdateExpression: 'SET leaseExpiresAt = :exp, expiresAt = :ttl',
          ExpressionAttributeValues: {
            ':run': runId,
            ':exp': now + this.ttlMs,
            ':ttl': Math.ceil((now + this.ttlMs) / 1000) + 86_400,
          },
        }),
      ),
    );
    if (!renewed) {
      const holder = await this.get(connectionId);
      throw new RunLeaseLostError(connectionId, runId, holder?.runId);
    }
  }

  /** Gives the connection back if `runId` still holds it; false when it did not. */
  async release(connectionId: string, runId: string): Promise<boolean> {
    const released = await unlessConditionFails('DynamoDB DeleteItem', () =>
      this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: leaseKey(connectionId),
          ConditionExpression: 'runId = :run',
          ExpressionAttributeValues: { ':run': runId },
        }),
      ),
    );
    return released !== undefined;
  }
}
