import { ChunkStore, RunStore } from '#core/checkpoint/index.ts';
import type { EventPublisher, EventType } from '../../lambdas/core/ports.ts';
import { startTestDynamo, type TestDynamo } from '../support/dynalite.ts';

/** The planRun and finishRun tests' peer: dynalite with the checkpoint table, and its two stores. */
export async function openCheckpointStores(): Promise<{
  dynamo: TestDynamo;
  runs: RunStore;
  chunks: ChunkStore;
}> {
  const dynamo = await startTestDynamo();
  return {
    dynamo,
    runs: new RunStore(dynamo.doc, dynamo.tables.checkpoints),
    chunks: new ChunkStore(dynamo.doc, dynamo.tables.checkpoints),
  };
}

/** An event publisher that keeps what it was given. */
export const events = () => {
  const published: Array<{ type: EventType; detail: Record<string, unknown> }> = [];
  const publisher: EventPublisher = {
    publish: async (type, detail) => {
      published.push({ type, detail });
    },
  };
  return { published, publisher };
};
