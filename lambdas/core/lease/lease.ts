import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unlessConditionFails } from '../aws-errors.ts';
import type { CallOptions } from '../ports.ts';
import { CONNECTION_TABLE } from '../tables.ts';

/**
 * 30 s: longer than the worst refresh under the lease (4 attempts x 5 s timeout + at most
 * 0.2 + 0.4 + 0.8 s of jittered backoff = 21.4 s) plus the commit, so a live holder never loses it.
 */
export const DEFAULT_LEASE_MS = 30_000;

export type LeaseResult = { acquired: true; owner: string; expiresAt: number } | { acquired: false };

/** A fresh random owner id: one per invocation and attempt, never reused. */
export const newLeaseOwner = (): string => randomUUID();

/**
 * Invariant 1 across processes: the refresh lease lives on the connection item itself, taken with a
 * conditional UpdateItem (free, or expired by the holder's own deadline), released only by its owner.
 * The token commit checks `leaseOwner = :me` too (fencing), so a holder that lost its lease cannot commit.
 */
export class ConnectionLease {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    readonly durationMs: number = DEFAULT_LEASE_MS,
  ) {}

  async tryAcquire(connectionId: string, owner: string, now: number): Promise<LeaseResult> {
    const expiresAt = now + this.durationMs;
    const acquired = await this.conditionalUpdate(
      connectionId,
      {
        UpdateExpression: 'SET #owner = :owner, #exp = :exp',
        ConditionExpression: 'attribute_exists(#pk) AND (attribute_not_exists(#owner) OR #exp < :now)',
        ExpressionAttributeNames: { '#pk': CONNECTION_TABLE.partitionKey },
        ExpressionAttributeValues: { ':owner': owner, ':exp': expiresAt, ':now': now },
      },
      'lease acquire',
    );
    return acquired ? { acquired: true, owner, expiresAt } : { acquired: false };
  }

  /**
   * Extends our lease to `now + duration` (the grant has returned: what follows, sealing and the commit,
   * gets a whole lease). Owner-conditioned: false when someone else holds it now. Idempotent, so a
   * retry after a lost answer is harmless.
   */
  async extend(
    connectionId: string,
    owner: string,
    now: number,
    options?: CallOptions,
  ): Promise<number | false> {
    const expiresAt = now + this.durationMs;
    const extended = await this.conditionalUpdate(
      connectionId,
      {
        UpdateExpression: 'SET #exp = :exp',
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeValues: { ':owner': owner, ':exp': expiresAt },
      },
      'lease extend',
      options,
    );
    return extended ? expiresAt : false;
  }

  /** Releases the lease if we still own it; losing it in the meantime is not an error here. */
  release(connectionId: string, owner: string): Promise<boolean> {
    return this.conditionalUpdate(
      connectionId,
      {
        UpdateExpression: 'REMOVE #owner, #exp',
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeValues: { ':owner': owner },
      },
      'lease release',
    );
  }

  /** One conditional write on the connection item: true when it applied, false when the condition failed. */
  private async conditionalUpdate(
    connectionId: string,
    expr: {
      UpdateExpression: string;
      ConditionExpression: string;
      ExpressionAttributeNames?: Record<string, string>;
      ExpressionAttributeValues: Record<string, unknown>;
    },
    what: string,
    options?: CallOptions,
  ): Promise<boolean> {
    const out = await unlessConditionFails(what, () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [CONNECTION_TABLE.partitionKey]: connectionId },
          ...expr,
          ExpressionAttributeNames: {
            '#owner': 'leaseOwner',
            '#exp': 'leaseExpiresAt',
            ...expr.ExpressionAttributeNames,
          },
        }),
        options,
      ),
    );
    return out !== undefined;
  }
}
