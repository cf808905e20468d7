import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { CONNECTION_PUBLIC_ATTRIBUTES, toPublicConnectionView } from '#core/token/index.ts';
import { ConnectionNotFoundError } from '../../lambdas/core/errors.ts';
import { CONNECTION_TABLE } from '../../lambdas/core/tables.ts';

/**
 * A connection's state for `status` and `resume`, read from the connection table's non-secret
 * attributes (CONNECTION_PUBLIC_ATTRIBUTES): no broker call, and no token envelope ever read. The
 * run-operator policy allows GetItem on the table for exactly these attributes.
 */
export async function readConnectionState(
  doc: DynamoDBDocumentClient,
  table: string,
  connectionId: string,
  now: number = Date.now(),
): Promise<Record<string, unknown>> {
  const names = Object.fromEntries(CONNECTION_PUBLIC_ATTRIBUTES.map((a, i) => [`#a${i}`, a]));
  const out = await doc.send(
    new GetCommand({
      TableName: table,
      Key: { [CONNECTION_TABLE.partitionKey]: connectionId },
      ProjectionExpression: Object.keys(names).join(', '),
      ExpressionAttributeNames: names,
      ConsistentRead: true,
    }),
  );
  if (!out.Item) throw new ConnectionNotFoundError(connectionId);
  return { ...toPublicConnectionView({ ...out.Item, connectionId }, now) };
}

/** The connection's status from a state or a connect answer (`{connection: view}` or the view). */
export function connectionStatusOf(
  answer: Record<string, unknown>,
  _connectionId?: string,
): string | undefined {
  const view = connectionFieldsOf(answer);
  return typeof view?.status === 'string' ? view.status : undefined;
}

export function connectionFieldsOf(answer: Record<string, unknown>): Record<string, unknown> | undefined {
  const nested = answer.connection;
  return nested && typeof nested === 'object' && !Array.isArray(nested)
    ? (nested as Record<string, unknown>)
    : answer;
}
