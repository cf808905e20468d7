import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from '../aws-errors.ts';
import { batchPutAll, dynamoCall, queryByPrefix } from './batch-io.ts';
import { chunkRefSk, chunkSk, runPk, SK_PREFIX } from './item-keys.ts';
import { RunScopedStore, ttlSeconds } from './retention.ts';
import type { ChunkSummary } from './run-types.ts';

/**
 * Per-chunk items of a run: `CHUNKREF#<i>` (the range, for plans passed as an index list) and
 * `CHUNK#<i>` (the latest pass's view of the chunk, which finish-sync sums instead of every record).
 */
export class ChunkStore extends RunScopedStore {
  /** Chunk descriptors for workers that get only an index (large plans, see plan-sync). */
  async putChunkRefs<T extends { index: number }>(runId: string, refs: T[]): Promise<void> {
    const expiresAt = ttlSeconds(this.clock.now(), this.retentionDays);
    await batchPutAll(
      this.doc,
      this.table,
      refs.map((ref) => ({ pk: runPk(runId), sk: chunkRefSk(ref.index), ref, expiresAt })),
    );
  }

  async getChunkRef<T>(runId: string, index: number): Promise<T | undefined> {
    const out = await dynamoCall('GetItem', () =>
      this.doc.send(
        new GetCommand({ TableName: this.table, Key: { pk: runPk(runId), sk: chunkRefSk(index) } }),
      ),
    );
    return out.Item?.ref as T | undefined;
  }

  /**
   * Saves a pass's view of its chunk unless a pass of the same attempt already saved one with more
   * settled records (two passes racing on one chunk).
   */
  async saveChunkSummary(runId: string, summary: Omit<ChunkSummary, 'passes' | 'updatedAt'>): Promise<void> {
    const { index, ...fields } = summary;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {
      ':now': new Date(this.clock.now()).toISOString(),
      ':zero': 0,
      ':one': 1,
      ':ttl': ttlSeconds(this.clock.now(), this.retentionDays),
      ':index': index,
    };
    const sets = [
      '#index = :index',
      'passes = if_not_exists(passes, :zero) + :one',
      'updatedAt = :now',
      'expiresAt = :ttl',
    ];
    names['#index'] = 'index';
    for (const [field, value] of Object.entries(fields)) {
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    try {
      await dynamoCall('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: runPk(runId), sk: chunkSk(index) },
            ConditionExpression:
              'attribute_not_exists(#settled) OR #attempt < :attempt OR #settled <= :settled',
            UpdateExpression: `SET ${sets.join(', ')}`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
        ),
      );
    } catch (err) {
      // A concurrent pass of the same chunk saw more: its snapshot stays.
      if (!isConditionFailed(err)) throw err;
    }
  }

  async listChunkSummaries(runId: string): Promise<ChunkSummary[]> {
    return (await queryByPrefix(
      this.doc,
      this.table,
      runPk(runId),
      SK_PREFIX.chunk,
    )) as unknown as ChunkSummary[];
  }
}
