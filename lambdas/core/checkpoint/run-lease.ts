import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unlessConditionFails } from '../aws-errors.ts';
import { RunInProgressError, RunLeaseLostError } from '../errors.ts';
import { type Clock, systemClock } from '../ports.ts';
import { protocolGuards } from '../protocol-guards.ts';
import { dynamoCall } from './batch-io.ts';

/**
 * One run per connection at a time (docs/invariants.md, invariant 7): a lease item per connection,
 * taken by plan-sync, renewed by every chunk pass, released by finish-sync (also when the execution
 * failed, timed out or was aborted). It keeps runs from overlapping in the normal case; the per-record
 * claims on the ledger keep goals single even if the lease lapses while an old invocation still runs.
 *
 * Every take of the lease increments the connection's run generation (invariant 10). The item is
 * never deleted and has no TTL: a generation that went back to 1 would let a pass of an old run whose
 * generation was higher through the fence. Release only clears the holder.
 */
export const RUN_LEASE_DEFAULT_TTL_MS = 30 * 60_000;

export interface RunLeaseItem {
  connectionId: string;
  /** Absent once released. */
  runId?: string;
  leaseExpiresAt?: number;
  acquiredAt?: string;
  /** Incremented by every acquire; chunk tasks carry the one their plan got. */
  generation?: number;
}

export interface AcquiredLease {
  /** `runId` already held a live lease (an execution of it may still be running). */
  alreadyHeld: boolean;
  /** The connection's run generation this take made current. */
  generation: number;
}

/** What a pass of a run checks before it writes: is its run, at its generation, still the connection's? */
export interface RunFence {
  /** Throws RunLeaseLostError when it is not; `maxAgeMs` lets a recent positive answer stand. */
  check(options?: { maxAgeMs?: number }): Promise<void>;
}

export const runLeaseKey = (connectionId: string) => ({ pk: `CONN#${connectionId}`, sk: 'RUNLEASE' });
const leaseKey = runLeaseKey;

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
   * Takes the connection for `runId` (again, on a resume) and increments its run generation, so every
   * pass of an earlier take (an orphan of an aborted execution, an older attempt) is refused at its next
   * claim or write. Throws RunInProgressError naming the holder.
   */
  async acquire(connectionId: string, runId: string): Promise<AcquiredLease> {
    const now = this.clock.now();
    const out = await unlessConditionFails('DynamoDB UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: leaseKey(connectionId),
          ConditionExpression: 'attribute_not_exists(runId) OR runId = :run OR leaseExpiresAt < :now',
          // REMOVE expiresAt: items written before the generation existed carried a DynamoDB TTL.
          UpdateExpression:
            'SET runId = :run, connectionId = :conn, leaseExpiresAt = :exp, acquiredAt = :at, ' +
            'generation = if_not_exists(generation, :zero) + :one REMOVE expiresAt',
          ExpressionAttributeValues: {
            ':run': runId,
            ':conn': connectionId,
            ':now': now,
            ':exp': now + this.ttlMs,
            ':at': new Date(now).toISOString(),
            ':zero': 0,
            ':one': 1,
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
    return {
      alreadyHeld: old?.runId === runId && (old.leaseExpiresAt ?? 0) > now,
      generation: (old?.generation ?? 0) + 1,
    };
  }

  /**
   * Extends the lease of a running run; RunLeaseLostError when another run took the connection, when
   * it was released, or (with `generation`) when a later take of the same run superseded this pass.
   */
  async renew(connectionId: string, runId: string, generation?: number): Promise<void> {
    const now = this.clock.now();
    const fenced = generation !== undefined && protocolGuards.runGenerationFence;
    const renewed = await unlessConditionFails('DynamoDB UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: leaseKey(connectionId),
          // A lapsed lease nobody took is ours to extend; a released one (finish ran) is not re-taken.
          ConditionExpression: fenced ? 'runId = :run AND generation = :gen' : 'runId = :run',
          UpdateExpression: 'SET leaseExpiresAt = :exp',
          ExpressionAttributeValues: {
            ':run': runId,
            ':exp': now + this.ttlMs,
            ...(fenced ? { ':gen': generation } : {}),
          },
        }),
      ),
    );
    if (!renewed) {
      const holder = await this.get(connectionId);
      throw new RunLeaseLostError(connectionId, runId, holder?.runId, generation, holder?.generation);
    }
  }

  /** Gives the connection back if `runId` still holds it; false when it did not. The generation stays. */
  async release(connectionId: string, runId: string): Promise<boolean> {
    const released = await unlessConditionFails('DynamoDB UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: leaseKey(connectionId),
          ConditionExpression: 'runId = :run',
          UpdateExpression: 'REMOVE runId, leaseExpiresAt, acquiredAt',
          ExpressionAttributeValues: { ':run': runId },
        }),
      ),
    );
    return released !== undefined;
  }

  /**
   * The fence a pass of (`runId`, `generation`) checks before every claim and write: the lease must
   * still name this run at this generation (not released, not taken by another run or a later take).
   * A positive answer is shared by concurrent callers and reused for at most `maxAgeMs`.
   */
  fence(connectionId: string, runId: string, generation: number): RunFence {
    let last: { at: number; pending: Promise<void> } | undefined;
    const read = async () => {
      const item = await this.get(connectionId);
      if (item?.runId !== runId || item.generation !== generation) {
        throw new RunLeaseLostError(connectionId, runId, item?.runId, generation, item?.generation);
      }
    };
    return {
      check: async ({ maxAgeMs = 0 } = {}) => {
        if (!protocolGuards.runGenerationFence) return;
        const now = this.clock.now();
        if (!last || now - last.at > maxAgeMs) {
          const pending = read();
          last = { at: now, pending };
          // A failed read is not cached: the next caller asks again.
          pending.catch(() => {
            if (last?.pending === pending) last = undefined;
          });
        }
        await last.pending;
      },
    };
  }
}
