import { waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import * as lib from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointTableSpec, connectionTableSpec } from '../../lambdas/core/tables.ts';
import { createTable, type LocalDynamo, startDynalite } from '../../local/adapters/dynalite.ts';
import { brokerPlanArb } from './broker-plans.ts';
import { runBrokerScenario } from './broker-scenario.ts';
import { chunkPlanArb, runChunkScenario } from './chunk-scenario.ts';
import { DynamoModel, type JournalEntry } from './model/dynamo-model.ts';

/**
 * The DynamoDB model is only as good as its agreement with DynamoDB. Every command the interleaving
 * scenarios send (conditional writes that pass and fail, update expressions, list paths, ReturnValues,
 * batch reads and writes), recorded in the order it took effect, is replayed on dynalite (the integration
 * peer) and on a fresh model: each answer and the final tables must be the same.
 */
const COMMANDS = {
  GetCommand: lib.GetCommand,
  PutCommand: lib.PutCommand,
  UpdateCommand: lib.UpdateCommand,
  DeleteCommand: lib.DeleteCommand,
  BatchGetCommand: lib.BatchGetCommand,
  BatchWriteCommand: lib.BatchWriteCommand,
  QueryCommand: lib.QueryCommand,
} as const;

let dynamo: LocalDynamo;

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo?.close();
});

/** The commands of each scenario, in the order they took effect (one journal per scenario). */
async function record(runs: number, seed: number): Promise<JournalEntry[][]> {
  const journals: JournalEntry[][] = [];
  const run = async (scenario: () => Promise<unknown>) => {
    const journal: JournalEntry[] = [];
    DynamoModel.journal = (e) => journal.push(e);
    await scenario();
    journals.push(journal);
  };
  try {
    for (const [s, plan] of fc.sample(fc.tuple(fc.scheduler(), brokerPlanArb), { numRuns: runs, seed }))
      await run(() => runBrokerScenario(s, plan));
    for (const [s, plan] of fc.sample(fc.tuple(fc.scheduler(), chunkPlanArb), { numRuns: runs, seed }))
      await run(() => runChunkScenario(s, plan));
  } finally {
    DynamoModel.journal = undefined;
  }
  return journals;
}

/** Answers without what differs by design (metadata, capacity) and BatchGet's unordered responses sorted. */
function normalize(out: Record<string, unknown>): unknown {
  const { $metadata: _m, ConsumedCapacity: _c, ...rest } = out;
  const responses = rest.Responses as Record<string, unknown[]> | undefined;
  if (responses)
    for (const items of Object.values(responses))
      items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  if (rest.UnprocessedKeys && Object.keys(rest.UnprocessedKeys).length === 0) delete rest.UnprocessedKeys;
  if (rest.UnprocessedItems && Object.keys(rest.UnprocessedItems).length === 0) delete rest.UnprocessedItems;
  return sortKeys(JSON.parse(JSON.stringify(rest)));
}

/** Attribute order is not part of an answer (dynalite and the model build items in different orders). */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
  );
}

type Answer = { output?: unknown; error?: string };

describe('DynamoDB model agrees with dynalite', () => {
  it('replays every command of 40 broker and 40 chunk schedules with the same answers', async () => {
    const journals = await record(40, 7);
    const kinds = new Map<string, number>();
    let mismatches = 0;
    let replayed = 0;
    for (const [n, journal] of journals.entries()) {
      // Fresh tables per scenario: dynalite then sees exactly the history the model saw in the scenario,
      // so its answers must equal the ones the scenario got (and a fresh model's).
      const tables = { connections: `connections-${n}`, checkpoints: `checkpoints-${n}` };
      await createTable(dynamo.client, connectionTableSpec(tables.connections));
      await createTable(dynamo.client, checkpointTableSpec(tables.checkpoints));
      // dynalite makes a table ACTIVE on a timer, even with createTableMs 0: wait, or the first call may miss it.
      for (const TableName of Object.values(tables))
        await waitUntilTableExists(
          { client: dynamo.client, maxWaitTime: 10, minDelay: 1, maxDelay: 1 },
          { TableName },
        );
      const model = new DynamoModel([
        connectionTableSpec(tables.connections),
        checkpointTableSpec(tables.checkpoints),
      ]);
      const rename = (input: Record<string, unknown>) =>
        JSON.parse(
          JSON.stringify(input)
            .replaceAll('"TableName":"connections"', `"TableName":"${tables.connections}"`)
            .replaceAll('"TableName":"checkpoints"', `"TableName":"${tables.checkpoints}"`)
            .replaceAll('"connections":', `"${tables.connections}":`)
            .replaceAll('"checkpoints":', `"${tables.checkpoints}":`),
        ) as Record<string, unknown>;
      for (const entry of journal) {
        replayed += 1;
        const input = rename(entry.input);
        // The replay sends each recorded input to its own command class; the union of inputs has no one type.
        const Command = COMMANDS[entry.name as keyof typeof COMMANDS] as unknown as new (
          i: unknown,
        ) => lib.GetCommand;
        const real: Answer = await dynamo.doc.send(new Command(input)).then(
          (o) => ({ output: normalize(o as Record<string, unknown>) }),
          (e: Error) => ({ error: e.name }),
        );
        let fresh: Answer;
        try {
          fresh = { output: normalize(model.execute(entry.name, input)) };
        } catch (e) {
          fresh = { error: (e as Error).name };
        }
        const inScenario: Answer = entry.error
          ? { error: entry.error }
          : { output: normalize(rename(entry.output ?? {})) };
        const key = `${entry.name}${entry.input.ConditionExpression ? ' conditional' : ''}${real.error ? ` -> ${real.error}` : ''}`;
        kinds.set(key, (kinds.get(key) ?? 0) + 1);
        const same =
          JSON.stringify(real) === JSON.stringify(fresh) &&
          JSON.stringify(real) === JSON.stringify(inScenario);
        if (!same) {
          mismatches += 1;
          if (mismatches <= 3)
            expect({ command: entry.name, input: entry.input, fresh, inScenario }).toEqual({
              command: entry.name,
              input: entry.input,
              fresh: real,
              inScenario: real,
            });
        }
      }
    }
    console.log(
      `contract: ${replayed} commands of ${journals.length} scenarios replayed`,
      Object.fromEntries(kinds),
    );
    expect(mismatches).toBe(0);
    expect(kinds.get('UpdateCommand conditional -> ConditionalCheckFailedException')).toBeGreaterThan(0);
  }, 300_000);
});
