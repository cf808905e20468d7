import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SourceVersion } from '#core/source/index.ts';
import { isConditionFailed } from '../aws-errors.ts';
import { CheckpointConflictError, ConfigError, SourceChangedError } from '../errors.ts';
import { batchPutAll, dynamoCall, queryByPrefix } from './batch-io.ts';
import { invalidSk, REPORT_SK, RUN_SK, runPk, SK_PREFIX } from './item-keys.ts';
import { RunScopedStore, ttlSeconds } from './retention.ts';
import type {
  GoalCounts,
  InvalidRecordItem,
  RunItem,
  RunStatus,
  RunTotals,
  SourceLocation,
  VerifyFinding,
} from './run-types.ts';

export interface StartRunRequest {
  runId: string;
  source: SourceLocation;
  connectionId: string;
  chunkSize: number;
  executionArn?: string;
}

/** What differs between the pinned source version and the one there now, or undefined if nothing. */
export function sourceChange(
  pinned: SourceVersion | undefined,
  now: SourceVersion | undefined,
): string | undefined {
  if (!pinned || !now) return undefined;
  if (pinned.versionId && now.versionId && pinned.versionId !== now.versionId) {
    return `S3 version ${pinned.versionId} -> ${now.versionId}`;
  }
  if (pinned.etag && now.etag && pinned.etag !== now.etag) return `ETag ${pinned.etag} -> ${now.etag}`;
  if (pinned.size !== now.size) return `size ${pinned.size} -> ${now.size} bytes`;
  if (pinned.sha256 && now.sha256 && pinned.sha256 !== now.sha256) {
    return `sha256 ${pinned.sha256.slice(0, 12)}... -> ${now.sha256.slice(0, 12)}...`;
  }
  return undefined;
}

export interface RunTransition {
  status: RunStatus;
  counts?: GoalCounts;
  lastError?: { error: string; cause?: string };
}

/** The run item (`RUN#<id>` / `RUN`), its invalid records, record listing and report. */
export class RunStore extends RunScopedStore {
  /** TTL for run-scoped items, counted from the latest attempt so a resumed run does not expire mid-way. */
  expiresAt(): number {
    return ttlSeconds(this.clock.now(), this.retentionDays);
  }

  async getRun(runId: string): Promise<RunItem | undefined> {
    const out = await dynamoCall('GetItem', () =>
      this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: runPk(runId), sk: RUN_SK },
          ConsistentRead: true,
        }),
      ),
    );
    return out.Item as RunItem | undefined;
  }

  /**
   * Creates the run, or resumes it when the runId exists (invariant 8). A resume keeps the stored
   * chunk size so the plan is the same one, and bumps `attempt` so failed records get another try.
   */
  async startRun(req: StartRunRequest): Promise<{ run: RunItem; resumed: boolean }> {
    const existing = await this.getRun(req.runId);
    if (!existing) {
      const now = new Date(this.clock.now()).toISOString();
      const run: RunItem = {
        runId: req.runId,
        status: 'planning',
        source: req.source,
        connectionId: req.connectionId,
        chunkSize: req.chunkSize,
        attempt: 1,
        ...(req.executionArn ? { executionArn: req.executionArn } : {}),
        startedAt: now,
        updatedAt: now,
        expiresAt: this.expiresAt(),
      };
      try {
        await dynamoCall('PutItem', () =>
          this.doc.send(
            new PutCommand({
              TableName: this.table,
              Item: { pk: runPk(req.runId), sk: RUN_SK, ...run },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          ),
        );
        return { run, resumed: false };
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
        // Another plan of the same runId won the race: resume theirs.
        const raced = await this.getRun(req.runId);
        if (!raced) throw new CheckpointConflictError(`run ${req.runId} vanished while being created`);
        return { run: await this.resume(raced, req), resumed: true };
      }
    }
    return { run: await this.resume(existing, req), resumed: true };
  }

  private async resume(existing: RunItem, req: StartRunRequest): Promise<RunItem> {
    if (existing.source.uri !== req.source.uri || existing.connectionId !== req.connectionId) {
      throw new ConfigError(
        `run ${req.runId} already exists for source ${existing.source.uri} and connection ${existing.connectionId}; use a new runId`,
      );
    }
    const change = sourceChange(existing.source.version, req.source.version);
    if (change) throw new SourceChangedError(change, req.runId);
    const now = new Date(this.clock.now()).toISOString();
    try {
      await dynamoCall('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: runPk(req.runId), sk: RUN_SK },
            ConditionExpression: 'attempt = :seen',
            UpdateExpression: `SET attempt = :next, #status = :planning, updatedAt = :now, expiresAt = :ttl${
              req.executionArn ? ', executionArn = :exec' : ''
            } REMOVE finishedAt, lastError, durationMs`,
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ...(req.executionArn ? { ':exec': req.executionArn } : {}),
              ':seen': existing.attempt,
              ':next': existing.attempt + 1,
              ':planning': 'planning',
              ':now': now,
              ':ttl': this.expiresAt(),
            },
          }),
        ),
      );
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      throw new CheckpointConflictError(`run ${req.runId} was resumed concurrently`);
    }
    const { finishedAt: _f, lastError: _e, durationMs: _d, ...rest } = existing;
    return {
      ...rest,
      ...(req.executionArn ? { executionArn: req.executionArn } : {}),
      attempt: existing.attempt + 1,
      status: 'planning',
      updatedAt: now,
    };
  }

  /** `verify`: the attempt being planned is a verify pass (finish-sync then reports its findings). */
  async markPlanned(runId: string, chunkCount: number, totals: RunTotals, verify = false): Promise<void> {
    await dynamoCall('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: runPk(runId), sk: RUN_SK },
          ConditionExpression: 'attribute_exists(pk)',
          UpdateExpression:
            'SET #status = :running, chunkCount = :count, totals = :totals, verify = :verify, updatedAt = :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':running': 'running',
            ':count': chunkCount,
            ':totals': totals,
            ':verify': verify,
            ':now': new Date(this.clock.now()).toISOString(),
          },
        }),
      ),
    );
  }

  /** The current attempt's duration estimate (plan-sync, after the write path is chosen). */
  async setEstimate(runId: string, estimate: Readonly<Record<string, unknown>>): Promise<void> {
    await dynamoCall('UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: runPk(runId), sk: RUN_SK },
          ConditionExpression: 'attribute_exists(pk)',
          UpdateExpression: 'SET estimate = :estimate',
          ExpressionAttributeValues: { ':estimate': estimate },
        }),
      ),
    );
  }

  /**
   * Moves the run to a terminal status. Returns false when the run already had that status (a retried
   * finish), so events are emitted once. `failed` never overwrites `needs_reauth`: the more specific
   * cause wins when both paths fire (e.g. a distributed map's child marked it first).
   * `completed` and `completed_with_failures` are never overwritten by `failed` or `needs_reauth`.
   */
  async transition(runId: string, to: RunTransition): Promise<boolean> {
    const now = this.clock.now();
    const run = await this.getRun(runId);
    if (!run) throw new ConfigError(`run ${runId} does not exist`);
    const startedMs = Date.parse(run.startedAt);
    const values: Record<string, unknown> = {
      ':to': to.status,
      ':now': new Date(now).toISOString(),
      ':duration': Number.isFinite(startedMs) ? now - startedMs : 0,
    };
    let update = 'SET #status = :to, finishedAt = :now, updatedAt = :now, durationMs = :duration';
    if (to.counts) {
      update += ', counts = :counts';
      values[':counts'] = to.counts;
    }
    if (to.lastError) {
      update += ', lastError = :error';
      values[':error'] = to.lastError;
    }
    let condition = '#status <> :to';
    if (to.status === 'failed') {
      condition += ' AND #status <> :reauth';
      values[':reauth'] = 'needs_reauth';
    }
    if (to.status === 'failed' || to.status === 'needs_reauth') {
      // A run that completed stays completed: the late finish of a second execution of the same run
      // (a redelivered trigger, an orphan's status event) must not turn it into a failure.
      condition += ' AND NOT #status IN (:completed, :withFailures)';
      values[':completed'] = 'completed';
      values[':withFailures'] = 'completed_with_failures';
    }
    try {
      await dynamoCall('UpdateItem', () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: runPk(runId), sk: RUN_SK },
            ConditionExpression: `attribute_exists(pk) AND ${condition}`,
            UpdateExpression: update,
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: values,
          }),
        ),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  async putInvalidRecords(runId: string, records: InvalidRecordItem[]): Promise<void> {
    const expiresAt = this.expiresAt();
    await batchPutAll(
      this.doc,
      this.table,
      records.map((r) => ({
        pk: runPk(runId),
        sk: invalidSk(r.line),
        line: r.line,
        reason: r.reason,
        ...(r.key === undefined ? {} : { key: r.key }),
        expiresAt,
      })),
    );
  }

  async listInvalidRecords(runId: string, limit = Number.POSITIVE_INFINITY): Promise<InvalidRecordItem[]> {
    const items = await this.queryPrefix(runId, SK_PREFIX.invalid, limit);
    return items.map((i) => ({
      line: i.line as number,
      reason: i.reason as string,
      ...(i.key === undefined ? {} : { key: i.key as string }),
    }));
  }

  /** Record states of the whole run: the exact (slower) aggregation finish-sync falls back to. */
  async listRecordStates(
    runId: string,
  ): Promise<Array<{ status: string; action?: string; verifyFinding?: VerifyFinding }>> {
    const items = await this.queryPrefix(runId, SK_PREFIX.record, Number.POSITIVE_INFINITY, {
      expression: '#status, #action, verifyFinding',
      names: { '#status': 'status', '#action': 'action' },
    });
    return items.map((i) => ({
      status: i.status as string,
      ...(i.action === undefined ? {} : { action: i.action as string }),
      ...(i.verifyFinding === undefined ? {} : { verifyFinding: i.verifyFinding as VerifyFinding }),
    }));
  }

  async putReport(runId: string, report: Record<string, unknown>): Promise<void> {
    await dynamoCall('PutItem', () =>
      this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...report, pk: runPk(runId), sk: REPORT_SK, expiresAt: this.expiresAt() },
        }),
      ),
    );
  }

  /**
   * The report of a run that never got a run item (its plan failed first), written once: false when a
   * report is there already (the status rule's second finish of the same execution, or a real run's).
   */
  async putReportOnce(runId: string, report: Record<string, unknown>): Promise<boolean> {
    try {
      await dynamoCall('PutItem', () =>
        this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: { ...report, pk: runPk(runId), sk: REPORT_SK, expiresAt: this.expiresAt() },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      );
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  async getReport(runId: string): Promise<Record<string, unknown> | undefined> {
    const out = await dynamoCall('GetItem', () =>
      this.doc.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: runPk(runId), sk: REPORT_SK },
          ConsistentRead: true,
        }),
      ),
    );
    if (!out.Item) return undefined;
    const { pk: _pk, sk: _sk, expiresAt: _ttl, ...report } = out.Item;
    return report;
  }

  private queryPrefix(
    runId: string,
    prefix: string,
    limit = Number.POSITIVE_INFINITY,
    projection?: { expression: string; names: Record<string, string> },
  ): Promise<Record<string, unknown>[]> {
    return queryByPrefix(this.doc, this.table, runPk(runId), prefix, { limit, projection });
  }
}
