import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CheckpointConflictError } from '../errors.ts';
import { type Clock, systemClock } from '../ports.ts';
import { batchGetAll, batchPutAll, dynamoCall, isConditionFailure } from './dynamo.ts';
import { LEDGER_SK, ledgerPk, recordSk, runPk } from './keys.ts';
import type { DoneAction, HcmIds, LedgerItem, RecordItem } from './types.ts';

export interface RecordState {
  record?: RecordItem;
  ledger?: LedgerItem;
}

export interface RunScope {
  runId: string;
  connectionId: string;
  /** Epoch seconds for the TTL attribute of run-scoped items. */
  expiresAt: number;
}

export interface ClaimRequest {
  externalKey: string;
  contentHash: string;
  chunkIndex: number;
  runAttempt: number;
  owner: string;
  claimTtlMs: number;
}

export type ClaimResult =
  | { claimed: true; previous?: RecordItem }
  | { claimed: false; current?: RecordItem; reason: 'done' | 'owned-elsewhere' };

/**
 * Per-record checkpoints (`REC#<key>` under the run) and the cross-run ledger. Every transition is a
 * conditional write on the claim owner, so two workers can never both own a record (invariant 7).
 */
export class RecordStore {
  private readonly clock: Clock;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly scope: RunScope,
    options: { clock?: Clock } = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  private key(externalKey: string) {
    return { pk: runPk(this.scope.runId), sk: recordSk(externalKey) };
  }

  private ledgerKey(externalKey: string) {
    return { pk: ledgerPk(this.scope.connectionId, externalKey), sk: LEDGER_SK };
  }

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  /** Record and ledger state of many keys in one BatchGetItem round (2 items per key). */
  async loadStates(externalKeys: string[]): Promise<Map<string, RecordState>> {
    const unique = [...new Set(externalKeys)];
    const keys = unique.flatMap((k) => [this.key(k), this.ledgerKey(k)]);
    const items = await batchGetAll(this.doc, this.table, keys);
    const states = new Map<string, RecordState>(unique.map((k) => [k, {}]));
    for (const item of items) {
      const externalKey = item.externalKey as string;
      const state = states.get(externalKey);
      if (!state) continue;
      if (item.sk === LEDGER_SK) state.ledger = item as unknown as LedgerItem;
      else state.record = item as unknown as RecordItem;
    }
    return states;
  }

  async get(externalKey: string): Promise<RecordItem | undefined> {
    const out = await dynamoCall('GetItem', () =>
      this.doc.send(
        new GetCommand({ TableName: this.table, Key: this.key(externalKey), ConsistentRead: true }),
      ),
    );
    return out.Item as RecordItem | undefined;
  }

  /**
   * Takes the record for `owner` and writes the durable `pending` intent before any HCM write. Fails
   * (without throwing) when the record is done or another worker holds an unexpired claim. A claim from
   * an earlier run attempt is taken over at once: that execution has ended (a resume starts a new
   * attempt), so waiting out its TTL would only stall the resume; the new owner reconciles first.
   */
  async claim(req: ClaimRequest): Promise<ClaimResult> {
    const now = this.clock.now();
    try {
      const out = await dynamoCall('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: this.key(req.externalKey),
            ConditionExpression:
              'attribute_not_exists(pk) OR (#status <> :done AND (attribute_not_exists(#owner) OR #owner = :owner OR claimExpiresAt < :now OR runAttempt < :ra))',
            UpdateExpression:
              'SET #status = :pending, #owner = :owner, claimExpiresAt = :exp, externalKey = :key, contentHash = :hash, ' +
              'chunkIndex = :chunk, runAttempt = :ra, attempts = if_not_exists(attempts, :zero) + :one, ' +
              'updatedAt = :at, expiresAt = :ttl REMOVE reason, retryable',
            ExpressionAttributeNames: { '#status': 'status', '#owner': 'owner' },
            ExpressionAttributeValues: {
              ':done': 'done',
              ':pending': 'pending',
              ':owner': req.owner,
              ':now': now,
              ':exp': now + req.claimTtlMs,
              ':key': req.externalKey,
              ':hash': req.contentHash,
              ':chunk': req.chunkIndex,
              ':ra': req.runAttempt,
              ':zero': 0,
              ':one': 1,
              ':at': new Date(now).toISOString(),
              ':ttl': this.scope.expiresAt,
            },
            ReturnValues: 'ALL_OLD',
          }),
        ),
      );
      const previous = out.Attributes as RecordItem | undefined;
      return previous ? { claimed: true, previous } : { claimed: true };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      // dynalite (and DynamoDB without ReturnValuesOnConditionCheckFailure) does not say why: re-read.
      const current = await this.get(req.externalKey);
      return { claimed: false, current, reason: current?.status === 'done' ? 'done' : 'owned-elsewhere' };
    }
  }

  /** The last write attempt may have committed: the next attempt must reconcile before creating. */
  async markAmbiguous(externalKey: string, owner: string): Promise<void> {
    await this.ownedUpdate(externalKey, owner, 'SET ambiguous = :true, updatedAt = :at', { ':true': true });
  }

  async complete(externalKey: string, owner: string, action: DoneAction, ids: HcmIds): Promise<void> {
    await this.ownedUpdate(
      externalKey,
      owner,
      'SET #status = :done, #action = :action, hcmGoalId = :gid, performanceGoalsUniqID = :uid, goalPlanId = :plan, ' +
        'updatedAt = :at REMOVE #owner, claimExpiresAt, ambiguous, reason, retryable',
      {
        ':done': 'done',
        ':action': action,
        ':gid': ids.hcmGoalId,
        ':uid': ids.performanceGoalsUniqID,
        ':plan': ids.goalPlanId,
      },
      { '#action': 'action', '#status': 'status' },
    );
  }

  async fail(externalKey: string, owner: string, reason: string, retryable: boolean): Promise<void> {
    await this.ownedUpdate(
      externalKey,
      owner,
      'SET #status = :failed, reason = :reason, retryable = :retryable, updatedAt = :at REMOVE #owner, claimExpiresAt',
      { ':failed': 'failed', ':reason': reason.slice(0, 1000), ':retryable': retryable },
      { '#status': 'status' },
    );
  }

  private async ownedUpdate(
    externalKey: string,
    owner: string,
    update: string,
    values: Record<string, unknown>,
    names: Record<string, string> = {},
  ): Promise<void> {
    try {
      await dynamoCall('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: this.key(externalKey),
            ConditionExpression: '#owner = :owner',
            UpdateExpression: update,
            // DynamoDB rejects unused attribute names, so #status is only declared where it is set.
            ExpressionAttributeNames: { '#owner': 'owner', ...names },
            ExpressionAttributeValues: { ':owner': owner, ':at': this.nowIso(), ...values },
          }),
        ),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      throw new CheckpointConflictError(`record ${externalKey} is no longer claimed by this worker`);
    }
  }

  /**
   * Marks unchanged records done in bulk. Unconditional (BatchWriteItem cannot be conditional): safe
   * because an unchanged record needs no HCM write, so a concurrent owner reaches the same end state.
   */
  async markUnchanged(
    entries: Array<{
      externalKey: string;
      contentHash: string;
      chunkIndex: number;
      runAttempt: number;
      ids: HcmIds;
    }>,
  ): Promise<void> {
    const at = this.nowIso();
    await batchPutAll(
      this.doc,
      this.table,
      entries.map((e) => ({
        ...this.key(e.externalKey),
        externalKey: e.externalKey,
        status: 'done',
        action: 'unchanged',
        contentHash: e.contentHash,
        chunkIndex: e.chunkIndex,
        runAttempt: e.runAttempt,
        attempts: 0,
        hcmGoalId: e.ids.hcmGoalId,
        performanceGoalsUniqID: e.ids.performanceGoalsUniqID,
        goalPlanId: e.ids.goalPlanId,
        updatedAt: at,
        expiresAt: this.scope.expiresAt,
      })),
    );
  }

  /** Written after HCM confirmed the goal and before the record is marked done (see engine). */
  async putLedger(externalKey: string, contentHash: string, ids: HcmIds): Promise<void> {
    const item: LedgerItem & { pk: string; sk: string } = {
      ...this.ledgerKey(externalKey),
      externalKey,
      connectionId: this.scope.connectionId,
      contentHash,
      hcmGoalId: ids.hcmGoalId,
      performanceGoalsUniqID: ids.performanceGoalsUniqID,
      goalPlanId: ids.goalPlanId,
      lastRunId: this.scope.runId,
      syncedAt: this.nowIso(),
    };
    await dynamoCall('PutItem', () => this.doc.send(new PutCommand({ TableName: this.table, Item: item })));
  }
}
