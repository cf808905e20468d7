import { createHash } from 'node:crypto';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { TokenCommitError } from '../errors.ts';
import { maskSecrets } from '../mask.ts';
import type { CallOptions, GrantType, RefreshTrigger } from '../ports.ts';
import { CONNECTION_DUE_INDEX, CONNECTION_TABLE, DUE_SHARDS } from '../tables.ts';
import { asTransient, isConditionFailed, isTransientAwsError } from './aws-errors.ts';
import { type CallBudget, retryWithin, type WithinOptions } from './budget.ts';
import {
  type ConnectionItem,
  type ConnectionStatus,
  type OutboxEvent,
  TRIGGER_COUNTER,
  toConnectionItem,
} from './connection-item.ts';
import { RATE_LIMIT_KEY_PREFIX } from './rate-limiter.ts';

/** A refreshed pair, already encrypted, ready to be committed under the lease. */
export interface CommitInput {
  connectionId: string;
  expectedVersion: number;
  /** The status the holder read: the commit is a transition from it (needs_reauth -> active = reactivation). */
  expectedStatus: ConnectionStatus;
  owner: string;
  commitId: string;
  accessTokenEnvelope: string;
  /** Replaces the stored refresh token in the same write (rotation); undefined keeps the stored one. */
  refreshTokenEnvelope?: string;
  /** connect with a bootstrap refresh token: remember which one was spent. */
  bootstrapFingerprint?: string;
  expiresAt: number;
  issuedAt: number;
  trigger: RefreshTrigger;
  nextProactiveAt: number;
  /** The transition's event (reactivation), written to the outbox in the same write. */
  event?: OutboxEvent;
  now: number;
}

/** A move to needs_reauth by the lease holder: owner- and status-conditioned, event in the same write. */
export interface ReauthTransition {
  connectionId: string;
  owner: string;
  from: ConnectionStatus;
  reason: string;
  /** Nothing rotating was consumed: the sweeper retries at `retryAt` and reactivates on success. */
  retry?: { at: number; count: number };
  /** Absent when the status does not change (needs_reauth stays needs_reauth): no second event. */
  event?: OutboxEvent;
  transitionId: string;
  now: number;
}

export type RetryPolicy = Omit<WithinOptions, 'retryOn'>;

const key = (connectionId: string) => ({ [CONNECTION_TABLE.partitionKey]: connectionId });
const retryable = (err: unknown) => isTransientAwsError(err);

interface Expr {
  UpdateExpression: string;
  ConditionExpression?: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
}

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
    await this.update(connectionId, {
      UpdateExpression:
        'SET #secretId = :secretId, #grant = :grant, #updatedAt = :now, #status = if_not_exists(#status, :initial), ' +
        '#version = if_not_exists(#version, :zero), #createdAt = if_not_exists(#createdAt, :now)',
      ExpressionAttributeNames: {
        '#secretId': 'secretId',
        '#grant': 'grant',
        '#updatedAt': 'updatedAt',
        '#status': 'status',
        '#version': 'version',
        '#createdAt': 'createdAt',
      },
      ExpressionAttributeValues: {
        ':secretId': config.secretId,
        ':grant': config.grant,
        ':now': now,
        ':initial': 'needs_reauth',
        ':zero': 0,
      },
    });
  }

  /**
   * Invariant 2: the durable "a refresh_token request may be at the IdP" marker, written before the POST
   * (owner- and version-fenced). False when fenced out: then nothing may be sent.
   */
  async markInFlight(
    input: { connectionId: string; owner: string; expectedVersion: number; fingerprint: string; now: number },
    budget: CallBudget,
  ): Promise<boolean> {
    const expr: Expr = {
      UpdateExpression: 'SET #inflight = :me, #inflightAt = :now, #inflightFp = :fp',
      ConditionExpression: '#owner = :me AND #version = :expected',
      ExpressionAttributeNames: {
        '#inflight': 'refreshInFlight',
        '#inflightAt': 'refreshInFlightAt',
        '#inflightFp': 'refreshInFlightFingerprint',
        '#owner': 'leaseOwner',
        '#version': 'version',
      },
      ExpressionAttributeValues: {
        ':me': input.owner,
        ':now': input.now,
        ':fp': input.fingerprint,
        ':expected': input.expectedVersion,
      },
    };
    return this.conditional(
      input.connectionId,
      expr,
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
    const names: Record<string, string> = {
      '#status': 'status',
      '#at': 'accessToken',
      '#expiresAt': 'expiresAt',
      '#issuedAt': 'issuedAt',
      '#version': 'version',
      '#owner': 'leaseOwner',
      '#leaseExp': 'leaseExpiresAt',
      '#lastRefreshAt': 'lastRefreshAt',
      '#count': 'refreshCount',
      '#trigger': TRIGGER_COUNTER[input.trigger],
      '#next': 'nextProactiveAt',
      '#commitId': 'lastCommitId',
      '#updatedAt': 'updatedAt',
      ...CLEARED_BY_SUCCESS,
    };
    const values: Record<string, unknown> = {
      ':active': 'active',
      ':from': input.expectedStatus,
      ':at': input.accessTokenEnvelope,
      ':expiresAt': input.expiresAt,
      ':issuedAt': input.issuedAt,
      ':expected': input.expectedVersion,
      ':next': input.expectedVersion + 1,
      ':me': input.owner,
      ':now': input.now,
      ':one': 1,
      ':nextProactiveAt': input.nextProactiveAt,
      ':commitId': input.commitId,
    };
    let set =
      'SET #status = :active, #at = :at, #expiresAt = :expiresAt, #issuedAt = :issuedAt, #version = :next, ' +
      '#lastRefreshAt = :now, #next = :nextProactiveAt, #commitId = :commitId, #updatedAt = :now';
    if (input.refreshTokenEnvelope !== undefined) {
      names['#rt'] = 'refreshToken';
      values[':rt'] = input.refreshTokenEnvelope;
      set += ', #rt = :rt';
    }
    if (input.bootstrapFingerprint !== undefined) {
      names['#bootstrap'] = 'bootstrapFingerprint';
      values[':bootstrap'] = input.bootstrapFingerprint;
      set += ', #bootstrap = :bootstrap';
    }
    // Due for the sweeper at expiry; at once while an event waits in the outbox.
    set += due(names, values, input.connectionId, input.event ? input.now : input.expiresAt);
    if (input.event !== undefined) {
      set += `${withEvent(names, values, input.event)}, #tid = :tid`;
      names['#tid'] = 'lastTransitionId';
      values[':tid'] = input.event.eventId;
    }
    const expr: Expr = {
      UpdateExpression: `${set} ADD #count :one, #trigger :one REMOVE ${Object.keys(CLEARED_BY_SUCCESS).join(', ')}`,
      ConditionExpression: '#version = :expected AND #owner = :me AND #status = :from',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
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
    if (!landed) throw new TokenCommitError(input.connectionId, { cause: new Error('fenced out') });
    return input.expectedVersion + 1;
  }

  /**
   * Moves the connection to needs_reauth and gives up the lease in one write, conditioned on
   * `leaseOwner = me AND status = from` (so it can neither overwrite a later holder's accurate reason
   * nor emit a second event), with its event in the outbox. 'fenced' when someone else moved on.
   */
  async markNeedsReauth(t: ReauthTransition, budget: CallBudget): Promise<'marked' | 'fenced'> {
    const names: Record<string, string> = {
      '#status': 'status',
      '#lastError': 'lastError',
      '#lastErrorAt': 'lastErrorAt',
      '#updatedAt': 'updatedAt',
      '#tid': 'lastTransitionId',
      '#next': 'nextProactiveAt',
      '#owner': 'leaseOwner',
      '#leaseExp': 'leaseExpiresAt',
      '#inflight': 'refreshInFlight',
      '#inflightAt': 'refreshInFlightAt',
      '#inflightFp': 'refreshInFlightFingerprint',
      '#autoRetry': 'autoRetry',
      '#retryAt': 'retryAt',
      '#retryCount': 'retryCount',
    };
    const values: Record<string, unknown> = {
      ':status': 'needs_reauth',
      ':from': t.from,
      ':reason': maskSecrets(t.reason),
      ':now': t.now,
      ':tid': t.transitionId,
      ':me': t.owner,
    };
    let set =
      'SET #status = :status, #lastError = :reason, #lastErrorAt = :now, #updatedAt = :now, #tid = :tid';
    const remove = ['#next', '#owner', '#leaseExp', '#inflight', '#inflightAt', '#inflightFp'];
    if (t.retry) {
      set += ', #autoRetry = :true, #retryAt = :retryAt, #retryCount = :retryCount';
      Object.assign(values, { ':true': true, ':retryAt': t.retry.at, ':retryCount': t.retry.count });
    } else {
      remove.push('#autoRetry', '#retryAt', '#retryCount');
    }
    if (t.event !== undefined) set += withEvent(names, values, t.event);
    const dueAt = t.event !== undefined ? t.now : t.retry?.at;
    if (dueAt !== undefined) set += due(names, values, t.connectionId, dueAt);
    else {
      names['#dueAt'] = 'dueAt'; // terminal: out of the sweeper's index
      remove.push('#dueAt');
    }
    const expr: Expr = {
      UpdateExpression: `${set} REMOVE ${remove.join(', ')}`,
      ConditionExpression: '#owner = :me AND #status = :from',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
    const marked = await this.conditional(
      t.connectionId,
      expr,
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
  async recordFailureAndRelease(
    f: {
      connectionId: string;
      owner: string;
      message: string;
      now: number;
      clearMarker: boolean;
      retry?: { at: number; count: number };
    },
    budget: CallBudget,
  ): Promise<void> {
    const names: Record<string, string> = {
      '#lastError': 'lastError',
      '#lastErrorAt': 'lastErrorAt',
      '#updatedAt': 'updatedAt',
      '#owner': 'leaseOwner',
      '#leaseExp': 'leaseExpiresAt',
    };
    const values: Record<string, unknown> = { ':msg': maskSecrets(f.message), ':now': f.now, ':me': f.owner };
    let set = 'SET #lastError = :msg, #lastErrorAt = :now, #updatedAt = :now';
    const remove = ['#owner', '#leaseExp'];
    if (f.retry) {
      Object.assign(names, { '#retryAt': 'retryAt', '#retryCount': 'retryCount' });
      Object.assign(values, { ':retryAt': f.retry.at, ':retryCount': f.retry.count });
      set += `, #retryAt = :retryAt, #retryCount = :retryCount${due(names, values, f.connectionId, f.retry.at)}`;
    }
    if (f.clearMarker) {
      Object.assign(names, {
        '#inflight': 'refreshInFlight',
        '#inflightAt': 'refreshInFlightAt',
        '#inflightFp': 'refreshInFlightFingerprint',
      });
      remove.push('#inflight', '#inflightAt', '#inflightFp');
    }
    await this.conditional(
      f.connectionId,
      {
        UpdateExpression: `${set} REMOVE ${remove.join(', ')}`,
        ConditionExpression: '#owner = :me',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
      budget,
      'failure record',
      () => true, // fenced out or already written: either way the lease is no longer ours
    );
  }

  /** Outbox drain: removes the head event once published, only if it is still that event. */
  async removeOutboxHead(connectionId: string, eventId: string): Promise<void> {
    await this.update(connectionId, {
      UpdateExpression: 'REMOVE #outbox[0]',
      ConditionExpression: '#outbox[0].#eventId = :id',
      ExpressionAttributeNames: { '#outbox': 'outbox', '#eventId': 'eventId' },
      ExpressionAttributeValues: { ':id': eventId },
    }).catch((err) => {
      if (!isConditionFailed(err)) throw err;
    });
  }

  /** After the outbox emptied: back to the item's own due time (expiry, retry) or out of the index. */
  async settleDue(item: ConnectionItem): Promise<void> {
    const names: Record<string, string> = { '#outbox': 'outbox' };
    const values: Record<string, unknown> = {};
    const at = item.status === 'active' ? item.expiresAt : item.autoRetry ? item.retryAt : undefined;
    let update: string;
    if (at === undefined) {
      names['#dueAt'] = 'dueAt';
      update = 'REMOVE #dueAt';
    } else {
      update = `SET ${due(names, values, item.connectionId, at).slice(2)}`;
    }
    await this.update(item.connectionId, {
      UpdateExpression: update,
      ConditionExpression: 'size(#outbox) = :zero',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ...values, ':zero': 0 },
    }).catch((err) => {
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
        // The shared token-endpoint rate's log lives in this table too (rate-limiter.ts).
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

/** What a successful commit removes: the lease, the marker, the last error and any auto-retry state. */
const CLEARED_BY_SUCCESS: Record<string, string> = {
  '#owner': 'leaseOwner',
  '#leaseExp': 'leaseExpiresAt',
  '#lastError': 'lastError',
  '#lastErrorAt': 'lastErrorAt',
  '#inflight': 'refreshInFlight',
  '#inflightAt': 'refreshInFlightAt',
  '#inflightFp': 'refreshInFlightFingerprint',
  '#autoRetry': 'autoRetry',
  '#retryAt': 'retryAt',
  '#retryCount': 'retryCount',
};

/** The item's place in the due index: its shard (stable per connection) and when it is due. */
function due(
  names: Record<string, string>,
  values: Record<string, unknown>,
  connectionId: string,
  at: number,
): string {
  names['#dueShard'] = CONNECTION_DUE_INDEX.partitionKey;
  names['#dueAt'] = CONNECTION_DUE_INDEX.sortKey;
  values[':dueShard'] = `due#${createHash('sha256').update(connectionId).digest()[0]! % DUE_SHARDS}`;
  values[':dueAt'] = at;
  return ', #dueShard = :dueShard, #dueAt = :dueAt';
}

/** Appends the transition's event to the outbox, in the transition's own write. */
function withEvent(
  names: Record<string, string>,
  values: Record<string, unknown>,
  event: OutboxEvent,
): string {
  names['#outbox'] = 'outbox';
  values[':event'] = [event];
  values[':emptyList'] = [];
  return ', #outbox = list_append(if_not_exists(#outbox, :emptyList), :event)';
}
