import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HdlPartStore, HdlSendFence, RecordStore, RunLease } from '#core/checkpoint/index.ts';
import { HcmGoalsClient } from '#core/hcm/index.ts';
import { DATA_SETS_PATH, HdlDataSets } from '#core/hdl/index.ts';
import type { GoalRecord } from '#core/source/index.ts';
import { openGoalSource } from '#core/source/index.ts';
import { buildHdlParts, pollHdlParts, submitHdlParts } from '#core/sync/index.ts';
import { protocolGuards } from '../../lambdas/core/protocol-guards.ts';
import { writeSampleFile } from '../../local/sample/generate.ts';
import { CONNECTION_ID, type PipelinePeers, startPipelinePeers } from './pipeline-harness.ts';

/**
 * Guard H2 (docs/invariants.md): an HDL part is submitted only while its run holds the connection at
 * its generation. Against dynalite (the RUNLEASE item, its conditional mark) and the HCM simulator over
 * HTTP. run-a (generation 1, older content) and run-b (generation 2, newer content) share source keys.
 */
const GOALS = 12;
const OWNER = 'GOALSYNC';

let peers: PipelinePeers;
let dir: string;
let records: GoalRecord[];
let seq = 0;

beforeAll(async () => {
  peers = await startPipelinePeers({
    tokenTtlSeconds: 300,
    hcmPersons: 100,
    hcmFaults: { rateLimitPerSecond: 0, 'hdl.loadLinesPerSecond': 100_000 },
  });
  dir = await mkdtemp(join(tmpdir(), 'hdl-gen-'));
  const path = join(dir, 'sample.jsonl');
  await writeSampleFile(path, { goals: GOALS, invalidRate: 0, seed: 25, persons: 100 });
  records = [];
  const source = openGoalSource({ uri: path, format: 'jsonl' });
  for (const chunk of (await source.plan(GOALS)).chunks)
    for await (const e of source.readChunk(chunk)) if ('record' in e) records.push(e.record);
});
afterAll(async () => {
  await peers.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  // A goal an earlier test loaded (same worker and name, another key) would send the records to REST.
  for (const g of peers.hcm.goals()) peers.hcm.deleteGoal(g.planChildKey);
});
afterEach(() => {
  protocolGuards.hdlSendUnderRunGeneration = true;
  peers.hcm.setFaults({ 'hdl.stuckRate': 0 });
});

/** One run's side: its source (keys shared across runs of a test, content per run) and its stores. */
async function side(prefix: string, connectionId: string, runId: string, content: string) {
  const uri = join(dir, `${runId}.jsonl`);
  const lines = records.map((r) =>
    JSON.stringify({ ...r, externalKey: `${prefix}-${r.externalKey}`, description: content }),
  );
  await writeFile(uri, `${lines.join('\n')}\n`);
  const { doc, tables } = peers.dynamo;
  const client = new HcmGoalsClient({
    baseUrl: peers.hcm.url,
    connectionId: CONNECTION_ID,
    tokens: peers.broker.tokenProvider(),
    maxAttempts: 2,
  });
  const objects = new Map<string, string>();
  const deps = {
    source: openGoalSource({ uri, format: 'jsonl' }),
    records: new RecordStore(doc, tables.checkpoints, { runId, connectionId, expiresAt: 0 }),
    parts: new HdlPartStore(doc, tables.checkpoints),
    objects: {
      put: async (k: string, b: string) => void objects.set(k, b),
      get: async (k: string) => objects.get(k),
    },
    hcm: client,
    dataSets: new HdlDataSets(client),
    clock: { now: () => Date.now() },
  };
  const built = await buildHdlParts({ runId, connectionId, attempt: 1, chunkSize: 6 }, deps, {
    sourceSystemOwner: OWNER,
    recordsPerFile: 6,
  });
  const fenced = (generation: number, clock = deps.clock) => ({
    ...deps,
    clock,
    sendFence: new HdlSendFence(
      doc,
      tables.checkpoints,
      { connectionId, runId, generation },
      {
        clock,
        invocationEndsAt: () => clock.now() + 50_000,
        lateAcceptMs: 10_000,
      },
    ),
  });
  return { runId, deps, fenced, parts: built.parts };
}

async function loadedAll(runId: string, deps: Parameters<typeof pollHdlParts>[2]): Promise<void> {
  // Bounded by rounds, not by wall clock: the simulator loads at 100,000 lines/s.
  for (let round = 0; round < 200; round++) {
    if ((await pollHdlParts(runId, round, deps)).pending === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${runId}: data sets still loading`);
}

async function dataSetsOf(runId: string): Promise<number> {
  const client = new HcmGoalsClient({
    baseUrl: peers.hcm.url,
    connectionId: CONNECTION_ID,
    tokens: peers.broker.tokenProvider(),
  });
  const all = (await client.request('GET', DATA_SETS_PATH, { query: { limit: '500' } })) as {
    items: Array<{ DataSetName: string }>;
  };
  return all.items.filter((s) => s.DataSetName.startsWith(`${runId}-part-`)).length;
}

const descriptionsOf = (prefix: string) =>
  new Set(
    peers.hcm
      .goals()
      .filter((g) => g.Description?.startsWith(`${prefix}:`))
      .map((g) => g.Description),
  );

/** run-a takes the connection and builds; it is aborted (released), run-b takes it and loads first. */
async function takeover() {
  const n = ++seq;
  const prefix = `gen-${n}`;
  const connectionId = `${CONNECTION_ID}-gen-${n}`;
  const lease = new RunLease(peers.dynamo.doc, peers.dynamo.tables.checkpoints);
  const genA = (await lease.acquire(connectionId, `${prefix}-a`)).generation;
  const a = await side(prefix, connectionId, `${prefix}-a`, `${prefix}:older`);
  const b = await side(prefix, connectionId, `${prefix}-b`, `${prefix}:newer`);
  return { prefix, connectionId, lease, genA, a, b };
}

describe('HDL sends under the run generation (guard H2)', () => {
  it("refuses a superseded run's part before it leaves: the newer run's content stays", async () => {
    const { prefix, connectionId, lease, genA, a, b } = await takeover();
    await lease.release(connectionId, a.runId);
    const genB = (await lease.acquire(connectionId, b.runId)).generation;
    expect(genB).toBe(genA + 1);
    expect(await submitHdlParts(b.runId, b.fenced(genB))).toMatchObject({ submitted: b.parts, held: 0 });
    await loadedAll(b.runId, b.deps);
    // The orphaned submit step of run-a goes on.
    await expect(submitHdlParts(a.runId, a.fenced(genA))).rejects.toMatchObject({
      name: 'RunLeaseLostError',
      generation: genA,
      currentGeneration: genB,
    });
    expect(await dataSetsOf(a.runId)).toBe(0);
    expect(descriptionsOf(prefix)).toEqual(new Set([`${prefix}:newer`]));
  });

  it('mutation H2: without the fence, the superseded part is sent after the newer load and regresses content', async () => {
    protocolGuards.hdlSendUnderRunGeneration = false;
    const { prefix, connectionId, lease, genA, a, b } = await takeover();
    await lease.release(connectionId, a.runId);
    const genB = (await lease.acquire(connectionId, b.runId)).generation;
    await submitHdlParts(b.runId, b.fenced(genB));
    await loadedAll(b.runId, b.deps);
    await submitHdlParts(a.runId, a.fenced(genA));
    await loadedAll(a.runId, a.deps);
    expect(descriptionsOf(prefix)).toEqual(new Set([`${prefix}:older`]));
  });

  it("holds a newer take's parts while the earlier take's marked request may still arrive, then submits", async () => {
    const { prefix, connectionId, lease, genA, a, b } = await takeover();
    // run-a marked its first part's send (its invocation may run 50 s more) and died before it left.
    await a.fenced(genA).sendFence.beforeSend(`${a.runId}-part-0001.zip`);
    await lease.release(connectionId, a.runId);
    const genB = (await lease.acquire(connectionId, b.runId)).generation;
    const held = await submitHdlParts(b.runId, b.fenced(genB));
    expect(held).toMatchObject({ submitted: 0, held: b.parts });
    expect(held.holdSeconds).toBeGreaterThan(50);
    expect(held.holdSeconds).toBeLessThanOrEqual(60);
    // The poll round counts held parts as pending, so the Wait loop comes back for them.
    expect((await pollHdlParts(b.runId, 0, b.deps)).pending).toBe(b.parts);
    expect(await dataSetsOf(b.runId)).toBe(0);
    // 61 s later (run-b's clock) the marked request can no longer arrive, and it did not: run-b goes.
    const later = { now: () => Date.now() + 61_000 };
    expect(await submitHdlParts(b.runId, b.fenced(genB, later))).toMatchObject({ submitted: b.parts });
    await loadedAll(b.runId, b.deps);
    expect(descriptionsOf(prefix)).toEqual(new Set([`${prefix}:newer`]));
  });

  it("holds a newer take's parts while a data set of the earlier take is still loading", async () => {
    const { connectionId, lease, genA, a, b } = await takeover();
    peers.hcm.setFaults({ 'hdl.stuckRate': 1 });
    expect(await submitHdlParts(a.runId, a.fenced(genA))).toMatchObject({ submitted: a.parts });
    peers.hcm.setFaults({ 'hdl.stuckRate': 0 });
    await lease.release(connectionId, a.runId);
    const genB = (await lease.acquire(connectionId, b.runId)).generation;
    // Long after run-a's invocation ended: its data sets are what holds run-b back, 30 s a look.
    const later = { now: () => Date.now() + 3_600_000 };
    expect(await submitHdlParts(b.runId, b.fenced(genB, later))).toEqual({
      submitted: 0,
      held: b.parts,
      holdSeconds: 30,
    });
    expect(await dataSetsOf(b.runId)).toBe(0);
  });
});
