import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from '../aws-errors.ts';
import { type Clock, systemClock } from '../ports.ts';
import { batchGetAll, batchPutAll, dynamoCall } from './batch-io.ts';
import { LEDGER_SK, ledgerPk, recordSk, runPk } from './item-keys.ts';
import type { DoneAction, HcmIds, LedgerItem, RecordItem, VerifyFinding } from './run-types.ts';

/** What every record outcome carries: content, chunk and attempt, and a verify finding it settled. */
export interface RecordProgress {
  contentHash: string;
  chunkIndex: number;
  runAttempt: number;
  verifyFinding?: VerifyFinding;
}

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

/**
 * Per-record progress of a run (`REC#<key>` under the run) and reads of the cross-run ledger. Claims
 * and commits live on the ledger item (goal-ledger.ts); these items say what this run did.
 */
export class RecordStore {
  private readonly clock: Clock;

  constructor(
    readonly doc: DynamoDBDocumentClient,
    readonly table: string,
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
   * The record's progress in this run: done, with what HCM got. Unconditional: done is final, and
   * only a claim holder's confirmed write or a matching ledger gets here.
   */
  async complete(
    externalKey: string,
    c: RecordProgress & { action: DoneAction; ids: HcmIds },
    replaced?: HcmIds,
  ): Promise<void> {
    await dynamoCall('PutItem', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: this.recordItem(externalKey, c, {
            status: 'done',
            action: c.action,
            hcmGoalId: c.ids.hcmGoalId,
            performanceGoalsUniqID: c.ids.performanceGoalsUniqID,
            goalPlanId: c.ids.goalPlanId,
            goalPath: c.ids.goalPath,
            ...(replaced ? { replacedGoal: replaced } : {}),
          }),
        }),
      ),
    );
  }

  /** A `REC#` item: what every outcome records (content, chunk, attempt, time, TTL) plus the outcome's fields. */
  private recordItem(
    externalKey: string,
    c: RecordProgress,
    outcome: Record<string, unknown>,
  ): Record<string, unknown> {
    return {
      ...this.key(externalKey),
      externalKey,
      ...outcome,
      ...(c.verifyFinding ? { verifyFinding: c.verifyFinding } : {}),
      contentHash: c.contentHash,
      chunkIndex: c.chunkIndex,
      runAttempt: c.runAttempt,
      attempts: 1,
      updatedAt: this.nowIso(),
      expiresAt: this.scope.expiresAt,
    };
  }

  /** Marks the record failed for this attempt, unless another invocation already finished it. */
  async fail(externalKey: string, c: RecordProgress, reason: string, retryable: boolean): Promise<void> {
    await this.putUnlessDone(
      this.recordItem(externalKey, c, { status: 'failed', reason: reason.slice(0, 1000), retryable }),
    );
  }

  /**
   * Marks the record `unsettled` for this attempt (a write no read has shown yet), unless another
   * invocation already finished it. The ledger keeps the write's marks: the next run looks first.
   */
  async unsettle(externalKey: string, c: RecordProgress, reason: string): Promise<void> {
    await this.putUnlessDone(
      this.recordItem(externalKey, c, {
        status: 'unsettled',
        reason: reason.slice(0, 1000),
        retryable: true,
      }),
    );
  }

  private async putUnlessDone(item: Record<string, unknown>): Promise<void> {
    try {
      await dynamoCall('PutItem', () =>
        this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: item,
            ConditionExpression: 'attribute_not_exists(#status) OR #status <> :done',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':done': 'done' },
          }),
        ),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
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
        goalPath: e.ids.goalPath,
        updatedAt: at,
        expiresAt: this.scope.expiresAt,
      })),
    );
  }
}
