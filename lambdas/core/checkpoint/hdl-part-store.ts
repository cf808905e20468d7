import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from '../aws-errors.ts';
import { dynamoCall, queryByPrefix } from './batch-io.ts';
import { hdlPartSk, runPk, SK_PREFIX } from './item-keys.ts';
import { RunScopedStore, ttlSeconds } from './retention.ts';

/** Where one HDL part stands: built (file stored), submitted (RequestId known), loaded, recorded. */
export type HdlPartStatus = 'built' | 'submitted' | 'loaded' | 'recorded';

/**
 * One Goal.dat part of a run's HDL load (`HDLPART#<n>` under the run). The RequestId is kept here the
 * moment it is known, so a resume, a retried Lambda or a later attempt polls the data set instead of
 * submitting the part again (issue 24 item 3).
 */
export interface HdlPartItem {
  part: number;
  /** The zip's name, also the content id and the data set's name: how a lost answer is looked up. */
  name: string;
  goalPlanId: number;
  records: number;
  status: HdlPartStatus;
  requestId?: number;
  /** The data set's status code when the load ended (ORA_SUCCESS / ORA_ERROR), and its line counts. */
  statusCode?: string;
  loaded?: number;
  failed?: number;
  unsettled?: number;
  submittedAt?: string;
  updatedAt: string;
}

export class HdlPartStore extends RunScopedStore {
  /** Writes a part once: a second build of the same run (a retry, a resume) keeps the first's item. */
  async putBuilt(runId: string, part: Omit<HdlPartItem, 'status' | 'updatedAt'>): Promise<void> {
    try {
      await dynamoCall('PutItem', () =>
        this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: {
              pk: runPk(runId),
              sk: hdlPartSk(part.part),
              ...part,
              status: 'built',
              updatedAt: this.nowIso(),
              expiresAt: ttlSeconds(this.clock.now(), this.retentionDays),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }

  async list(runId: string): Promise<HdlPartItem[]> {
    const items = await queryByPrefix(this.doc, this.table, runPk(runId), SK_PREFIX.hdlPart);
    return (items as unknown as HdlPartItem[]).sort((a, b) => a.part - b.part);
  }

  /** The RequestId, once: a part that already has one keeps it (the first data set is the part's). */
  async setSubmitted(runId: string, part: number, requestId: number): Promise<number> {
    try {
      await dynamoCall('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: runPk(runId), sk: hdlPartSk(part) },
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(requestId)',
            UpdateExpression:
              'SET requestId = :id, #status = :submitted, submittedAt = :now, updatedAt = :now',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':id': requestId, ':submitted': 'submitted', ':now': this.nowIso() },
          }),
        ),
      );
      return requestId;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      const current = (await this.list(runId)).find((p) => p.part === part);
      if (current?.requestId === undefined) throw err;
      return current.requestId;
    }
  }

  async update(
    runId: string,
    part: number,
    fields: Partial<Pick<HdlPartItem, 'status' | 'statusCode' | 'loaded' | 'failed' | 'unsettled'>>,
  ): Promise<void> {
    const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':now': this.nowIso() };
    const sets = entries.map(([k, v], i) => {
      names[`#f${i}`] = k;
      values[`:v${i}`] = v;
      return `#f${i} = :v${i}`;
    });
    await dynamoCall('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: runPk(runId), sk: hdlPartSk(part) },
          UpdateExpression: `SET ${[...sets, 'updatedAt = :now'].join(', ')}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }
}
