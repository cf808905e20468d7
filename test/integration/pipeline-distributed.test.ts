import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '#core/checkpoint/index.ts';
import { RENDERED_MANIFEST_BUCKET } from '../../infra/state-machine.ts';
import type { EventType } from '../../lambdas/core/ports.ts';
import { LocalChunkManifest, LocalObjectStore } from '../../local/adapters/local-objects.ts';
import { localDefinition } from '../../local/runner/definition.ts';
import { executeLocally } from '../../local/runner/executor.ts';
import { buildLocalLambdas, localWriteTiming } from '../../local/runner/lambdas.ts';
import { writeSampleFile } from '../../local/sample/generate.ts';
import { CONNECTION_ID, type PipelinePeers, startPipelinePeers } from './pipeline-harness.ts';

/**
 * The Distributed Map branch of the deployed definition (local/runner/definition.ts, proven equal to
 * the template) with the real handlers and peers: plan-sync writes the manifest to the local object
 * store, the ItemReader reads it, each ItemBatcher batch runs as a child execution. Every valid goal
 * must be stored exactly once, and a resume over the same branch must write nothing again.
 */
const GOALS = 240;
const CHUNK_SIZE = 20;

let peers: PipelinePeers;
let sourcePath: string;
let objects: LocalObjectStore;

beforeAll(async () => {
  peers = await startPipelinePeers({ tokenTtlSeconds: 5, hcmFaults: { rateLimitPerSecond: 400 } });
  sourcePath = join(peers.dir, 'dist.jsonl');
  await writeSampleFile(sourcePath, { goals: GOALS, invalidRate: 0.05, seed: 15 });
  objects = new LocalObjectStore(join(peers.dir, 'objects'));
});

afterAll(async () => {
  await peers?.close();
});

function execute(runId: string, extra: Record<string, unknown>) {
  const events: EventType[] = [];
  const lambdas = buildLocalLambdas({
    doc: peers.dynamo.doc,
    checkpointTable: peers.dynamo.tables.checkpoints,
    broker: peers.broker,
    hcmUrl: peers.hcm.url,
    connectionId: CONNECTION_ID,
    events: { publish: async (type) => void events.push(type) },
    verbose: false,
    timing: localWriteTiming(),
    manifest: new LocalChunkManifest(objects, RENDERED_MANIFEST_BUCKET),
  });
  const { asl, functionArns } = localDefinition(3);
  const execution = executeLocally(
    asl,
    functionArns,
    lambdas.invokers,
    {
      runId,
      connectionId: CONNECTION_ID,
      source: { uri: sourcePath, format: 'jsonl' },
      chunkSize: CHUNK_SIZE,
      // What `goal-sync local --map-threshold 2` puts in the execution input.
      mapThreshold: 2,
      // The sample's 5% invalid records on purpose (5.4% with this seed) are over the 5% default.
      maxInvalid: '10%',
      ...extra,
    },
    runId,
    { objects },
  );
  return { execution, events, stop: () => lambdas.stop() };
}

/** The natural keys (person, plan, name) of the source's valid records. */
async function validKeys(runId: string): Promise<string[]> {
  const invalid = new Set(
    (await new RunStore(peers.dynamo.doc, peers.dynamo.tables.checkpoints).listInvalidRecords(runId)).map(
      (r) => r.line,
    ),
  );
  const lines = (await readFile(sourcePath, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  return lines
    .map((line, i) => ({ line, n: i + 1 }))
    .filter(({ n }) => !invalid.has(n))
    .map(({ line }) => {
      const g = JSON.parse(line) as { personNumber: string; goalPlanId: number; goalName: string };
      return `${g.personNumber}|${g.goalPlanId}|${g.goalName}`;
    });
}

function storedKeys(): string[] {
  return peers.hcm.goals().map((g) => `${g.PersonNumber}|${g.GoalPlanId}|${g.GoalName}`);
}

describe('the Distributed Map branch with the real handlers', () => {
  it('stores every valid goal exactly once through child executions', async () => {
    const run = execute('dist-1', {});
    const out = (await run.execution.result) as { status: string; goals: Record<string, number> };
    await run.stop();
    expect(out.status).toBe('completed');
    // 240 records in chunks of 20 = 12 chunks > threshold 2: 3 child executions of 4 chunks each.
    expect(run.execution.mapRuns).toEqual([
      expect.objectContaining({ items: 12, children: 3, succeeded: 3, failed: 0, aborted: 0 }),
    ]);
    const manifest = JSON.parse(
      await objects.getObject(RENDERED_MANIFEST_BUCKET, 'runs/dist-1/attempt-1/chunks.json'),
    ) as unknown[];
    expect(manifest).toHaveLength(12);

    const expected = await validKeys('dist-1');
    expect(expected.length).toBeGreaterThan(200);
    expect(expected.length).toBeLessThan(GOALS);
    const stored = storedKeys();
    // Exactly once: as many goals as valid records, no natural key twice, every valid record there.
    expect(stored).toHaveLength(expected.length);
    expect(new Set(stored).size).toBe(stored.length);
    expect(new Set(stored)).toEqual(new Set(expected));
    expect(peers.hcm.stats()).toMatchObject({ duplicates: 0, goalsStored: expected.length });
    expect(out.goals).toMatchObject({ created: expected.length, failed: 0 });
    expect(run.events).toEqual(['sync.completed']);
  });

  it('a resume takes the same branch with the next attempt, skips what is done and writes nothing', async () => {
    const before = peers.hcm.stats();
    const run = execute('dist-1', { resume: true });
    const out = (await run.execution.result) as { status: string };
    await run.stop();
    expect(out.status).toBe('completed');
    expect(run.execution.mapRuns[0]).toMatchObject({ children: 3, succeeded: 3 });
    await expect(
      objects.getObject(RENDERED_MANIFEST_BUCKET, 'runs/dist-1/attempt-2/chunks.json'),
    ).resolves.toBeDefined();
    const after = peers.hcm.stats();
    expect(after.creates - before.creates).toBe(0);
    expect(after.updates - before.updates).toBe(0);
    expect(after.goalsStored).toBe(before.goalsStored);
  });
});
