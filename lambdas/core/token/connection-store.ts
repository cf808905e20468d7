import { type DynamoDBDocumentClient, GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TokenCommitError } from '../errors.ts';
import { maskSecrets } from '../mask.ts';
import type { GrantType, RefreshTrigger } from '../ports.ts';
import { withBackoff } from '../retry.ts';
import { CONNECTION_TABLE } from '../tables.ts';
import { asTransient, isConditionFailed, isTransientAwsError } from './aws-errors.ts';
import { type ConnectionItem, TRIGGER_COUNTER, toConnectionItem } from './connection-item.ts';

/** A refreshed pair, already encrypted, ready to be committed under the lease. */
export interface CommitInput {
  connectionId: string;
  expectedVersion: number;
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
  now: number;
}

export interface CommitRetry {
  attempts: number;
  baseMs: number;
  capMs: number;
}

export const DEFAULT_COMMIT_RETRY: CommitRetry = { attempts: 5, baseMs: 100, capMs: 2_000 };

const key = (connectionId: string) => ({ [CONNECTION_TABLE.partitionKey]: connectionId });

/** DynamoDB access for the connection items. Every write that follows a refresh is fenced. */
export class ConnectionStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async get(connectionId: string): Promise<ConnectionItem | undefined> {
    try {
      const out = await this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: key(connectionId), ConsistentRead: true }),
      );
      return out.Item ? toConnectionItem(out.Item) : undefined;
    } catch (err) {
      throw asTransient(err, 'connection read');
    }
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
   * Invariant 2: persists the new pair before anyone sees it, fenced on `version` and `leaseOwner`,
   * releasing the lease in the same write. Transient failures retry the WRITE (bounded); a condition
   * failure after a lost response is recognised by `lastCommitId`.
   */
  async commit(input: CommitInput, retry: CommitRetry = DEFAULT_COMMIT_RETRY): Promise<number> {
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
      '#lastError': 'lastError',
      '#lastErrorAt': 'lastErrorAt',
    };
    const values: Record<string, unknown> = {
      ':active': 'active',
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
    const params = {
      TableName: this.tableName,
      Key: key(input.connectionId),
      UpdateExpression: `${set} ADD #count :one, #trigger :one REMOVE #owner, #leaseExp, #lastError, #lastErrorAt`,
      ConditionExpression: '#version = :expected AND #owner = :me',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
    try {
      await withBackoff(
        async (attempt) => {
          try {
            await this.doc.send(new UpdateCommand(params));
          } catch (err) {
            // A retried write whose first attempt landed: the condition now fails on our own commit.
            if (
              attempt > 0 &&
              isConditionFailed(err) &&
              (await this.get(input.connectionId))?.lastCommitId === input.commitId
            ) {
              return;
            }
            throw err;
          }
        },
        { ...retry, retryOn: isTransientAwsError },
      );
      return input.expectedVersion + 1;
    } catch (err) {
      throw new TokenCommitError(input.connectionId, { cause: err });
    }
  }

  /**
   * Fatal grant failure: needs_reauth with a masked reason. Fenced like a commit when we hold the lease,
   * so a stale holder cannot flag a connection someone else already repaired. Returns false if fenced out.
   */
  async markNeedsReauth(
    connectionId: string,
    reason: string,
    fence: { expectedVersion: number; owner?: string },
    now: number,
  ): Promise<boolean> {
    const names: Record<string, string> = {
      '#status': 'status',
      '#lastError': 'lastError',
      '#lastErrorAt': 'lastErrorAt',
      '#updatedAt': 'updatedAt',
      '#version': 'version',
      '#next': 'nextProactiveAt',
    };
    const values: Record<string, unknown> = {
      ':status': 'needs_reauth',
      ':reason': maskSecrets(reason),
      ':now': now,
      ':expected': fence.expectedVersion,
    };
    let condition = '#version = :expected';
    if (fence.owner !== undefined) {
      // DynamoDB rejects unused names, so the lease attributes are only named when fenced on them.
      condition += ' AND #owner = :me';
      values[':me'] = fence.owner;
      names['#owner'] = 'leaseOwner';
      names['#leaseExp'] = 'leaseExpiresAt';
    }
    try {
      await this.update(connectionId, {
        UpdateExpression:
          'SET #status = :status, #lastError = :reason, #lastErrorAt = :now, #updatedAt = :now REMOVE #next' +
          (fence.owner !== undefined ? ', #owner, #leaseExp' : ''),
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      });
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  /** Transient failure under the lease: record it (waiters stop waiting) and release the lease. */
  async recordFailureAndRelease(
    connectionId: string,
    owner: string,
    message: string,
    now: number,
  ): Promise<void> {
    try {
      await this.update(connectionId, {
        UpdateExpression:
          'SET #lastError = :msg, #lastErrorAt = :now, #updatedAt = :now REMOVE #owner, #leaseExp',
        ConditionExpression: '#owner = :me',
        ExpressionAttributeNames: {
          '#lastError': 'lastError',
          '#lastErrorAt': 'lastErrorAt',
          '#updatedAt': 'updatedAt',
          '#owner': 'leaseOwner',
          '#leaseExp': 'leaseExpiresAt',
        },
        ExpressionAttributeValues: { ':msg': maskSecrets(message), ':now': now, ':me': owner },
      });
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
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

  /** All items (paginated scan), optionally filtered server-side. Connections number in the dozens. */
  async scan(filter?: {
    expression: string;
    names: Record<string, string>;
    values: Record<string, unknown>;
  }): Promise<ConnectionItem[]> {
    const items: ConnectionItem[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      try {
        const out = await this.doc.send(
          new ScanCommand({
            TableName: this.tableName,
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
            ...(filter
              ? {
                  FilterExpression: filter.expression,
                  ExpressionAttributeNames: filter.names,
                  ExpressionAttributeValues: filter.values,
                }
              : {}),
          }),
        );
        for (const raw of out.Items ?? []) items.push(toConnectionItem(raw));
        startKey = out.LastEvaluatedKey;
      } catch (err) {
        throw asTransient(err, 'connection scan');
      }
    } while (startKey);
    return items;
  }

  private async update(
    connectionId: string,
    expr: {
      UpdateExpression: string;
      ConditionExpression?: string;
      ExpressionAttributeNames: Record<string, string>;
      ExpressionAttributeValues: Record<string, unknown>;
    },
  ): Promise<void> {
    try {
      await this.doc.send(new UpdateCommand({ TableName: this.tableName, Key: key(connectionId), ...expr }));
    } catch (err) {
      throw asTransient(err, 'connection write');
    }
  }
}
