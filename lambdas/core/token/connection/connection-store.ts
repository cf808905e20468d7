import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { asTransient, isConditionFailed, isTransientAwsError } from '../../aws-errors.ts';
import { TokenCommitError } from '../../errors.ts';
import type { CallOptions, GrantType } from '../../ports.ts';
import { CONNECTION_DUE_INDEX, CONNECTION_TABLE, DUE_SHARDS } from '../../tables.ts';
import { type CallBudget, retryWithin, type WithinOptions } from '../refresh/budget.ts';
import { RATE_LIMIT_KEY_PREFIX } from '../refresh/token-rate.ts';
import { type ConnectionItem, toConnectionItem } from './connection-item.ts';
import {
  type CommitInput,
  commitExpr,
  type Expr,
  type FailureRecord,
  failureExpr,
  type MarkerInput,
  markerExpr,
  type ReauthTransition,
  reauthExpr,
  settleDueExpr,
  upsertConfigExpr,
} from './connection-writes.ts';

/** Who is publishing the outbox's head event, and until when. */
const OUTBOX_CLAIM = { '#claimId': 'outboxClaimEventId', '#claimUntil': 'outboxClaimUntil' };

export type { CommitInput, FailureRecord, MarkerInput, ReauthTransition } from './connection-writes.ts';

export type RetryPolicy = Omit<WithinOptions, 'retryOn'>;

const key = (connectionId: string) => ({ [CONNECTION_TABLE.partitionKey]: connectionId });
const retryable = (err: unknown) => isTransientAwsError(err);

/**
 * DynamoDB access for the connection items. Every write after the lease is taken is fenced on the lease
 * owner, and every status change on the current status; calls made under a lease take a CallBudget.
 */
export class ConnectionStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly policy: RetryPolicy = { baseMs: 50, capMs: 1_000, random: Math.random },
  ) {}

  async get(connectionId: string, options?: CallOptions): Promise<ConnectionItem | undefined> {
    try {
      const out = await this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: key(connectionId), ConsistentRead: true }),
        options,
      );
      return out.Item ? toConnectionItem(out.Item) : undefined;
    } catch (err) {
      throw asTransient(err, 'connection read');
    }
  }

  /** A consistent read under the lease, retried within its budget. */
  getWithin(connectionId: string, budget: CallBudget): Promise<ConnectionItem | undefined> {
    return retryWithin(budget, 'connection read', (o) => this.get(connectionId, o), {
      ...this.policy,
      retryOn: retryable,
    });
  }

  /** `connect`: creates the item (version 0, not yet usable) or updates its secret and grant. */
  async upsertConfig(
    connectionId: string,
    config: { secretId: string; grant: GrantType },
    now: number,
  ): Promise<void> {
    await this.update(connectionId, upsertConfigExpr(config, now));
  }

  /**
   * Invariant 2: the durable "a refresh_token request may be at the IdP" marker, written before the POST
   * (owner- and version-fenced). False when fenced out: then nothing may be sent.
   */
  async markInFlight(input: MarkerInput, budget: CallBudget): Promise<boolean> {
    return this.conditional(
      input.connectionId,
      markerExpr(input),
      budget,
      'in-flight marker',
      (i) => i?.refreshInFlight === input.owner,
    );
  }

  /**
   * Invariant 2: persists the new pair before anyone sees it, fenced on version, lease owner and status,
   * removing the lease and the in-flight marker in the same write. Retried (the write, never the refresh)
   * while the budget lasts; every ConditionalCheckFailed is checked against `lastCommitId`, because a
   * write that landed on an SDK-internal retry or whose answer was lost fails its own condition.
   */
  async commit(input: CommitInput, budget: CallBudget): Promise<number> {
    const expr = commitExpr(input);
    let landed: boolean;
    try {
      landed = await this.conditional(
        input.connectionId,
        expr,
        budget,
        'token commit',
        (i) => i?.lastCommitId === input.commitId,
      );
    } catch (err) {
      throw new TokenCommitError(input.connectionId, { cause: err });
    }
    if (!landed) throw fencedOut(input.connectionId);
    return input.expectedVersion + 1;
  }

  /**
   * Moves the connection to needs_reauth and gives up the lease in one write, conditioned on
   * `leaseOwner = me AND status = from` (so it can neither overwrite a later holder's accurate reason
   * nor emit a second event), with its event in the outbox. 'fenced' when someone else moved on.
   */
  async markNeedsReauth(t: ReauthTransition, budget: CallBudget): Promise<'marked' | 'fenced'> {
    const marked = await this.conditional(
      t.connectionId,
      reauthExpr(t),
      budget,
      'needs_reauth write',
      (i) => i?.lastTransitionId === t.transitionId,
    );
    return marked ? 'marked' : 'fenced';
  }

  /**
   * Transient failure under the lease: record it (waiters stop waiting) and release the lease. The
   * in-flight marker is cleared only when the caller knows nothing rotating may have been consumed.
   */
  async recordFailureAndRelease(f: FailureRecord, budget: CallBudget): Promise<void> {
    await this.conditional(
      f.connectionId,
      failureExpr(f),
      budget,
      'failure record',
      () => true, // fenced out or already written: either way the lease is no longer ours
    );
  }

  /** Outbox drain: removes the head event once published, only if it is still that event. */
  async removeOutboxHead(connectionId: string, eventId: string): Promise<void> {
    await this.update(connectionId, {
      UpdateExpression: 'REMOVE #outbox[0], #claimId, #claimUntil',
      ConditionExpression: '#outbox[0].#eventId = :id',
      ExpressionAttributeNames: { '#outbox': 'outbox', '#eventId': 'eventId', ...OUTBOX_CLAIM },
      ExpressionAttributeValues: { ':id': eventId },
    }).catch((err) => {
      if (!isConditionFailed(err)) throw err;
    });
  }

  /** Gives a claim back after a failed publish, so a retry need not wait for it to lapse. */
  async releaseOutboxClaim(connectionId: string, eventId: string, until: number): Promise<void> {
    await this.update(connectionId, {
      UpdateExpression: 'REMOVE #claimId, #claimUntil',
      ConditionExpression: '#claimId = :id AND #claimUntil = :until',
      ExpressionAttributeNames: OUTBOX_CLAIM,
      ExpressionAttributeValues: { ':id': eventId, ':until': until },
    }).catch((err) => {
      if (!isConditionFailed(err)) throw err;
    });
  }

  /**
   * Claims the head event for publishing until `until`: false while another drainer's unexpired claim
   * on the same event stands (two drainers never both publish it; a claimer that died is taken over).
   */
  async claimOutboxHead(connectionId: string, eventId: string, now: number, until: number): Promise<boolean> {
    try {
      await this.update(connectionId, {
        UpdateExpression: 'SET #claimId = :id, #claimUntil = :until',
        ConditionExpression:
          '#outbox[0].#eventId = :id AND (attribute_not_exists(#claimId) OR #claimId <> :id OR #claimUntil < :now)',
        ExpressionAttributeNames: { '#outbox': 'outbox', '#eventId': 'eventId', ...OUTBOX_CLAIM },
        ExpressionAttributeValues: { ':id': eventId, ':now': now, ':until': until },
      });
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  /** After the outbox emptied: back to the item's own due time (expiry, retry) or out of the index. */
  async settleDue(item: ConnectionItem): Promise<void> {
    await this.update(item.connectionId, settleDueExpr(item)).catch((err) => {
      if (!isConditionFailed(err)) throw err;
    });
  }

  /** The sweeper's work list: every connection due by `until` (expiry, retry or pending event), no scan. */
  async queryDue(until: number): Promise<ConnectionItem[]> {
    const items: ConnectionItem[] = [];
    for (let shard = 0; shard < DUE_SHARDS; shard++) {
      let startKey: Record<string, unknown> | undefined;
      do {
        try {
          const out = await this.doc.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: CONNECTION_DUE_INDEX.name,
              KeyConditionExpression: '#shard = :shard AND #dueAt <= :until',
              ExpressionAttributeNames: {
                '#shard': CONNECTION_DUE_INDEX.partitionKey,
                '#dueAt': CONNECTION_DUE_INDEX.sortKey,
              },
              ExpressionAttributeValues: { ':shard': `due#${shard}`, ':until': until },
              ExclusiveStartKey: startKey,
            }),
          );
          for (const raw of out.Items ?? []) items.push(toConnectionItem(raw));
          startKey = out.LastEvaluatedKey;
        } catch (err) {
          throw asTransient(err, 'due-index query');
        }
      } while (startKey);
    }
    return items;
  }

  async addLeaseContention(connectionId: string): Promise<void> {
    await this.update(connectionId, {
      UpdateExpression: 'ADD #c :one',
      ConditionExpression: 'attribute_exists(#pk)',
      ExpressionAttributeNames: { '#c': 'leaseContention', '#pk': CONNECTION_TABLE.partitionKey },
      ExpressionAttributeValues: { ':one': 1 },
    }).catch(() => undefined); // a statistic: never worth failing a token request over
  }

  async setNextProactiveAt(connectionId: string, at: number, expectedVersion: number): Promise<void> {
    await this.update(connectionId, {
      UpdateExpression: 'SET #next = :at',
      ConditionExpression: '#version = :v',
      ExpressionAttributeNames: { '#next': 'nextProactiveAt', '#version': 'version' },
      ExpressionAttributeValues: { ':at': at, ':v': expectedVersion },
    }).catch((err) => {
      if (!isConditionFailed(err)) throw err;
    });
  }

  /** All items (paginated scan). Used by `status`; the sweeper queries the expiry index instead. */
  async scan(): Promise<ConnectionItem[]> {
    const items: ConnectionItem[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      try {
        const out = await this.doc.send(
          new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: startKey }),
        );
        // The shared token-endpoint rate's log lives in this table too (token-rate.ts).
        for (const raw of out.Items ?? [])
          if (!String(raw[CONNECTION_TABLE.partitionKey]).startsWith(RATE_LIMIT_KEY_PREFIX))
            items.push(toConnectionItem(raw));
        startKey = out.LastEvaluatedKey;
      } catch (err) {
        throw asTransient(err, 'connection scan');
      }
    } while (startKey);
    return items;
  }

  /**
   * A conditional write retried within the budget. On ConditionalCheckFailed the item is read back and
   * `landed` decides whether it was our own earlier attempt (true) or we are fenced out (false).
   */
  private conditional(
    connectionId: string,
    expr: Expr,
    budget: CallBudget,
    what: string,
    landed: (item: ConnectionItem | undefined) => boolean,
  ): Promise<boolean> {
    return retryWithin(
      budget,
      what,
      async (options) => {
        try {
          await this.update(connectionId, expr, options);
          return true;
        } catch (err) {
          if (!isConditionFailed(err)) throw err;
          return landed(await this.get(connectionId, budget.call(`${what} check`)));
        }
      },
      { ...this.policy, retryOn: retryable },
    );
  }

  private async update(connectionId: string, expr: Expr, options?: CallOptions): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({ TableName: this.tableName, Key: key(connectionId), ...expr }),
        options,
      );
    } catch (err) {
      if (isConditionFailed(err)) throw err;
      throw asTransient(err, 'connection write');
    }
  }
}

const FENCED_OUT = 'fenced out';

/** A commit refused because another owner, version or status holds the item: retrying cannot land it. */
export function fencedOut(connectionId: string, cause?: unknown): TokenCommitError {
  return new TokenCommitError(connectionId, { cause: new Error(FENCED_OUT, { cause }) });
}

export function isFencedOut(err: unknown): boolean {
  return err instanceof TokenCommitError && err.cause instanceof Error && err.cause.message === FENCED_OUT;
}
