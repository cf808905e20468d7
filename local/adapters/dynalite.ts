import type { AddressInfo } from 'node:net';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DynamoDBClient,
  type KeySchemaElement,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { checkpointTableSpec, connectionTableSpec, type TableSpec } from '../../lambdas/core/tables.ts';

export interface LocalDynamo {
  endpoint: string;
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  close(): Promise<void>;
}

/** Starts dynalite (a real DynamoDB API) on 127.0.0.1; in memory, or on disk under `path`. */
export async function startDynalite(options: { path?: string; port?: number } = {}): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, path: options.path });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  // Requests in progress: dynalite closes its database once the last socket is gone, and an
  // operation still running then throws "Database is closed" outside any callback.
  let inFlight = 0;
  server.on('request', (_req, res) => {
    inFlight += 1;
    res.once('close', () => {
      inFlight -= 1;
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = dynamoClient(endpoint);
  return {
    endpoint,
    client,
    doc: documentClient(client),
    close: async () => {
      const deadline = Date.now() + 2000;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A DynamoDB endpoint someone else runs (dynalite in another process): close() only drops our client. */
export function connectDynamo(endpoint: string): LocalDynamo {
  const client = dynamoClient(endpoint);
  return { endpoint, client, doc: documentClient(client), close: async () => client.destroy() };
}

/** A client for a local endpoint: fixed dummy credentials, because dynalite does not check them. */
export function dynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
  });
}

export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export async function createTable(client: DynamoDBClient, spec: TableSpec): Promise<void> {
  const keys: KeySchemaElement[] = [{ AttributeName: spec.partitionKey, KeyType: 'HASH' }];
  const attrs: AttributeDefinition[] = [{ AttributeName: spec.partitionKey, AttributeType: 'S' }];
  if (spec.sortKey) {
    keys.push({ AttributeName: spec.sortKey, KeyType: 'RANGE' });
    attrs.push({ AttributeName: spec.sortKey, AttributeType: 'S' });
  }
  for (const index of spec.indexes ?? []) {
    attrs.push(
      { AttributeName: index.partitionKey, AttributeType: 'S' },
      { AttributeName: index.sortKey, AttributeType: 'N' },
    );
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: spec.name,
        KeySchema: keys,
        AttributeDefinitions: attrs,
        BillingMode: 'PAY_PER_REQUEST',
        ...(spec.indexes?.length
          ? {
              GlobalSecondaryIndexes: spec.indexes.map((index) => ({
                IndexName: index.name,
                KeySchema: [
                  { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
                  { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
                ],
                Projection: { ProjectionType: 'ALL' as const },
              })),
            }
          : {}),
      }),
    );
  } catch (err) {
    // Resuming on a persisted state dir: the table is already there.
    if (!(err instanceof ResourceInUseException)) throw err;
  }
}

/** Creates the connection and checkpoint tables the stack defines (same key schema). */
export async function createProjectTables(
  client: DynamoDBClient,
  names: { connections?: string; checkpoints?: string } = {},
): Promise<{ connections: string; checkpoints: string }> {
  const connections = connectionTableSpec(names.connections);
  const checkpoints = checkpointTableSpec(names.checkpoints);
  await createTable(client, connections);
  await createTable(client, checkpoints);
  return { connections: connections.name, checkpoints: checkpoints.name };
}
