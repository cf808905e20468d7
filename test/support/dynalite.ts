import { createProjectTables, type LocalDynamo, startDynalite } from '../../local/adapters/dynalite.ts';

export interface TestDynamo extends LocalDynamo {
  tables: { connections: string; checkpoints: string };
}

/** A fresh in-memory dynalite with the project's tables, on a random port. */
export async function startTestDynamo(): Promise<TestDynamo> {
  const dynamo = await startDynalite();
  const tables = await createProjectTables(dynamo.client);
  return { ...dynamo, tables };
}
