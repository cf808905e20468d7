import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed } from '../aws-errors.ts';
import { type Clock, systemClock } from '../ports.ts';
import { dynamoCall } from './batch-io.ts';
import { RUN_SK, runPk } from './item-keys.ts';
import type { GoalCounts, RunContinuation } from './run-types.ts';

/**
 * The run's hand-over to a new execution (issue 24 item 4): status `continuing`, not terminal (no
 * finishedAt, no durationMs). Only from `running` at the attempt the caller finished: a retried finish
 * of an older execution, or one that arrives after the continuation planned (attempt moved on), changes
 * nothing. Returns false then.
 */
export async function markContinuing(
  doc: DynamoDBDocumentClient,
  table: string,
  req: { runId: string; attempt: number; counts: GoalCounts; continuation: Omit<RunContinuation, 'at'> },
  clock: Clock = systemClock,
): Promise<boolean> {
  const now = new Date(clock.now()).toISOString();
  try {
    await dynamoCall('UpdateItem', () =>
      doc.send(
        new UpdateCommand({
          TableName: table,
          Key: { pk: runPk(req.runId), sk: RUN_SK },
          ConditionExpression: 'attribute_exists(pk) AND #status = :running AND attempt = :attempt',
          UpdateExpression:
            'SET #status = :continuing, counts = :counts, continuation = :continuation, updatedAt = :now',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':running': 'running',
            ':continuing': 'continuing',
            ':attempt': req.attempt,
            ':counts': req.counts,
            ':continuation': { ...req.continuation, at: now },
            ':now': now,
          },
        }),
      ),
    );
    return true;
  } catch (err) {
    if (isConditionFailed(err)) return false;
    throw err;
  }
}
