import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GoalLedger, HdlPartStore, RecordStore, type WriteTiming } from '#core/checkpoint/index.ts';
import { HcmGoalsClient } from '#core/hcm/index.ts';
import { DATA_SETS_PATH, HdlDataSets } from '#core/hdl/index.ts';
import type { GoalRecord } from '#core/source/index.ts';
import { openGoalSource } from '#core/source/index.ts';
import {
  buildHdlParts,
  type HdlRun,
  pollHdlParts,
  recordHdlOutcomes,
  submitHdlParts,
} from '#core/sync/index.ts';
import { protocolGuards } from '../../lambdas/core/protocol-guards.ts';
import { writeSampleFile } from '../../local/sample/generate.ts';
import { CONNECTION_ID, type PipelinePeers, startPipelinePeers } from './pipeline-harness.ts';

/**
 * The HDL submission protocol (lambdas/core/sync/hdl-*.ts) against dynalite and the HCM simulator over
 * HTTP: parts built once, a lost uploadFile / createFileDataSet answer settled by looking the data set
 * up by name, a resume that polls the stored RequestId, failed lines recorded with Oracle's message,
 * loaded goals committed to the ledger with GoalId, self link and source key, a rerun updating in place.
 */
const TIMING: WriteTiming = { claimTtlMs: 20_000, requestTimeoutMs: 5_000, visibilityMs: 300, marginMs: 200 };
const GOALS = 30;
const OWNER = 'GOALSYNC';

let peers: PipelinePeers;
let dir: string;
let sourcePath: string;
let records: GoalRecord[];
let seq = 0;

beforeAll(async () => {
  peers = await startPipelinePeers({
    tokenTtlSeconds: 300,
    hcmPersons: 200,
    hcmFaults: { rateLimitPerSecond: 0, 'hdl.loadLinesPerSecond': 100_000 },
  });
  dir = await mkdtemp(join(tmpdir(), 'hdl-load-'));
  sourcePath = join(dir, 'goals.jsonl');
  await writeSampleFile(sourcePath, { goals: GOALS, invalidRate: 0, seed: 24, persons: 200 });
  records = [];
  const source = openGoalSource({ uri: sourcePath, format: 'jsonl' });
  for (const chunk of (await source.plan(GOALS)).chunks)
    for await (const e of source.readChunk(chunk)) if ('record' in e) records.push(e.record);
});
afterAll(async () => {
  await peers.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await settleEveryDataSet();
  for (const g of peers.hcm.goals()) peers.hcm.deleteGoal(g.planChildKey);
  peers.hcm.setFaults({
    'hdl.uploadDropAfterStoreRate': 0,
    'hdl.submitDropAfterAcceptRate': 0,
    'hdl.lineErrorRate': 0,
    'hdl.stuckRate': 0,
  });
});
afterEach(() => {
  protocolGuards.hdlLookupBeforeResubmit = true;
});

/**
 * The sample's records under external keys of this test's own: the simulator's key map outlives the
 * goals a test deletes, and a source key it still maps would point a MERGE at a deleted goal.
 */
async function keyedSource(prefix: string, change = (r: GoalRecord, _i: number) => r): Promise<string> {
  const path = join(dir, `${prefix}.jsonl`);
  const lines = records.map((r, i) =>
    JSON.stringify(change({ ...r, externalKey: `${prefix}-${r.externalKey}` }, i)),
  );
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

function harness(connectionId: string, runId: string, uri: string) {
  const { doc, tables } = peers.dynamo;
  const client = new HcmGoalsClient({
    baseUrl: peers.hcm.url,
    connectionId: CONNECTION_ID,
    tokens: peers.broker.tokenProvider(),
    timeoutMs: TIMING.requestTimeoutMs,
    maxAttempts: 2,
  });
  const objects = new Map<string, string>();
  const store = {
    put: async (k: string, b: string) => void objects.set(k, b),
    get: async (k: string) => objects.get(k),
  };
  const recordsStore = new RecordStore(doc, tables.checkpoints, { runId, connectionId, expiresAt: 0 });
  const deps = {
    source: openGoalSource({ uri, format: 'jsonl' }),
    records: recordsStore,
    parts: new HdlPartStore(doc, tables.checkpoints),
    objects: store,
    hcm: client,
    dataSets: new HdlDataSets(client),
    ledger: new GoalLedger(doc, tables.checkpoints, { runId, connectionId }, TIMING),
    owner: `hdl-${runId}`,
    clock: { now: () => Date.now() },
  };
  const run: HdlRun = { runId, connectionId, attempt: 1, chunkSize: 10 };
  return { client, deps, run, objects };
}

type Harness = ReturnType<typeof harness>;

/** Waits (by rounds) until no data set of an earlier test is still loading goals into the simulator. */
async function settleEveryDataSet(): Promise<void> {
  const h = harness(CONNECTION_ID, 'settle', sourcePath);
  for (let i = 0; i < 200; i++) {
    const all = (await h.client.request('GET', DATA_SETS_PATH, { query: { limit: '500' } })) as {
      items: Array<{ DataSetStatusCode: string; DataSetName: string }>;
    };
    // A stuck data set (the stuck test's, named stuck-*) never ends and loads nothing.
    const loading = all.items.filter((s) => !s.DataSetName.startsWith('stuck-'));
    if (loading.every((s) => s.DataSetStatusCode !== 'ORA_IN_PROGRESS')) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function load(h: Harness) {
  const built = await buildHdlParts(h.run, h.deps, { sourceSystemOwner: OWNER, recordsPerFile: 12 });
  await submitHdlParts(h.run.runId, h.deps);
  let round = 0;
  // Bounded by rounds, not by wall clock: the simulator loads at 100,000 lines/s.
  for (let i = 0; i < 200; i++) {
    const polled = await pollHdlParts(h.run.runId, round, h.deps);
    round = polled.round;
    if (polled.pending === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const totals = await recordHdlOutcomes(h.run, h.deps, { sourceSystemOwner: OWNER });
  return { built, totals };
}

async function dataSetsNamed(h: Harness, runId: string): Promise<number> {
  const all = (await h.client.request('GET', DATA_SETS_PATH, { query: { limit: '500' } })) as {
    items: Array<{ DataSetName: string }>;
  };
  return all.items.filter((s) => s.DataSetName.startsWith(`${runId}-part-`)).length;
}

const names = () => new Set(peers.hcm.goals().map((g) => `${g.PersonId}/${g.GoalName}`));

describe('HDL submission protocol', () => {
  it('loads every record once, commits GoalId, self link and source key to the ledger', async () => {
    const runId = `hdl-run-${++seq}`;
    const h = harness(`${CONNECTION_ID}-hdl-${seq}`, runId, await keyedSource(runId));
    const { built, totals } = await load(h);
    expect(built).toMatchObject({ hdlRecords: GOALS, restRecords: 0, unchanged: 0 });
    expect(built.parts).toBeGreaterThanOrEqual(3);
    expect(totals).toEqual({ loaded: GOALS, failed: 0, unsettled: 0 });
    expect(peers.hcm.goals()).toHaveLength(GOALS);
    expect(await dataSetsNamed(h, runId)).toBe(built.parts);
    const ledger = await h.deps.ledger.get(`${runId}-${records[0]!.externalKey}`);
    expect(ledger).toMatchObject({ hdlSourceOwner: OWNER, lastRunId: runId, lastAction: 'created' });
    expect(ledger?.goalPath).toMatch(/\/goalPlans\/\d+\/child\/performanceGoals\//);
    const parts = await h.deps.parts.list(runId);
    expect(parts.every((p) => p.status === 'recorded' && p.requestId !== undefined)).toBe(true);
  });

  it('settles lost uploadFile and createFileDataSet answers by the data set name: one data set per part', async () => {
    peers.hcm.setFaults({ 'hdl.uploadDropAfterStoreRate': 1, 'hdl.submitDropAfterAcceptRate': 1 });
    const runId = `hdl-run-${++seq}`;
    const h = harness(`${CONNECTION_ID}-hdl-${seq}`, runId, await keyedSource(runId));
    const { built, totals } = await load(h);
    expect(totals.loaded).toBe(GOALS);
    expect(await dataSetsNamed(h, runId)).toBe(built.parts);
    expect(peers.hcm.goals()).toHaveLength(GOALS);
  });

  it('mutation H1: without the lookup by name, a lost createFileDataSet answer submits the part twice', async () => {
    protocolGuards.hdlLookupBeforeResubmit = false;
    peers.hcm.setFaults({ 'hdl.submitDropAfterAcceptRate': 1 });
    const runId = `hdl-run-${++seq}`;
    const h = harness(`${CONNECTION_ID}-hdl-${seq}`, runId, await keyedSource(runId));
    await buildHdlParts(h.run, h.deps, { sourceSystemOwner: OWNER, recordsPerFile: 12 });
    await expect(submitHdlParts(runId, h.deps)).rejects.toThrow(/createFileDataSet/);
    // The first part: submitted, answer lost, submitted again (lost again, so the run would retry).
    expect(await dataSetsNamed(h, runId)).toBe(2);
  });

  it('a resume polls the stored RequestId instead of submitting again', async () => {
    const runId = `hdl-run-${++seq}`;
    const connectionId = `${CONNECTION_ID}-hdl-${seq}`;
    const uri = await keyedSource(runId);
    const first = harness(connectionId, runId, uri);
    const built = await buildHdlParts(first.run, first.deps, {
      sourceSystemOwner: OWNER,
      recordsPerFile: 12,
    });
    await submitHdlParts(runId, first.deps);
    const resumed = harness(connectionId, runId, uri);
    // The resumed invocation has no stored files of its own: it must not need them.
    const again = await buildHdlParts(resumed.run, resumed.deps, { sourceSystemOwner: OWNER });
    expect(again).toMatchObject({ parts: built.parts, reused: true });
    expect(await submitHdlParts(runId, resumed.deps)).toMatchObject({ submitted: 0, held: 0 });
    expect(resumed.deps.dataSets.stats).toMatchObject({ uploads: 0, submissions: 0, lookups: 0 });
    expect(await dataSetsNamed(resumed, runId)).toBe(built.parts);
  });

  it('a data set in progress past the poll budget fails the run naming its RequestIds; a resume polls it again', async () => {
    peers.hcm.setFaults({ 'hdl.stuckRate': 1 });
    const runId = `stuck-run-${++seq}`;
    const h = harness(`${CONNECTION_ID}-hdl-${seq}`, runId, await keyedSource(runId));
    await buildHdlParts(h.run, h.deps, { sourceSystemOwner: OWNER, recordsPerFile: 12 });
    await submitHdlParts(runId, h.deps);
    const ids = (await h.deps.parts.list(runId)).map((p) => p.requestId!);
    // Within the budget: still loading, the Wait grows (5 s, 10 s, ... up to 300 s).
    const polled = await pollHdlParts(runId, 3, h.deps);
    expect(polled).toEqual({ pending: ids.length, waitSeconds: 40, round: 4 });
    const stuck = pollHdlParts(runId, 4, h.deps, { budgetSeconds: 0 });
    await expect(stuck).rejects.toMatchObject({ name: 'HdlLoadStuckError', requestIds: ids });
    await expect(pollHdlParts(runId, 4, h.deps, { budgetSeconds: 0 })).rejects.toThrow(
      new RegExp(`RequestId ${ids.join(', ')}; resume the run to poll them again`),
    );
    // Nothing was resubmitted: the parts keep their data sets.
    expect(await submitHdlParts(runId, h.deps)).toMatchObject({ submitted: 0, held: 0 });
    expect(await dataSetsNamed(h, runId)).toBe(ids.length);
  });

  it("records failed lines with Oracle's message and loads the rest", async () => {
    peers.hcm.setFaults({ 'hdl.lineErrorRate': 0.3 });
    const runId = `hdl-run-${++seq}`;
    const h = harness(`${CONNECTION_ID}-hdl-${seq}`, runId, await keyedSource(runId));
    const { totals } = await load(h);
    expect(totals.failed).toBeGreaterThan(0);
    expect(totals.loaded + totals.failed).toBe(GOALS);
    expect(totals.unsettled).toBe(0);
    expect(peers.hcm.goals()).toHaveLength(totals.loaded);
    let failedSeen = 0;
    for (const r of records) {
      const key = `${runId}-${r.externalKey}`;
      const rec = await h.deps.records.get(key);
      if (rec?.status !== 'failed') continue;
      failedSeen += 1;
      expect(rec.reason).toMatch(/^HDL data set \d+: Goal \(line \d+\): .*hdl\.lineErrorRate/);
      expect(await h.deps.ledger.get(key)).toBeUndefined();
    }
    expect(failedSeen).toBe(totals.failed);
  });

  it('a rerun with changed content merges by source key: updated in place, no new goal', async () => {
    const connectionId = `${CONNECTION_ID}-hdl-${++seq}`;
    const prefix = `hdl-rerun-${seq}`;
    await load(harness(connectionId, `hdl-run-${seq}-a`, await keyedSource(prefix)));
    const before = names();
    const changedPath = await keyedSource(prefix, (r, i) =>
      i % 2 === 0 ? { ...r, description: `changed ${i}` } : r,
    );
    const h = harness(connectionId, `hdl-run-${seq}-b`, changedPath);
    const { built, totals } = await load(h);
    expect(built).toMatchObject({ hdlRecords: GOALS / 2, unchanged: GOALS / 2, restRecords: 0 });
    expect(totals).toEqual({ loaded: GOALS / 2, failed: 0, unsettled: 0 });
    expect(names()).toEqual(before);
    expect(peers.hcm.goals()).toHaveLength(GOALS);
    expect(await h.deps.ledger.get(`${prefix}-${records[0]!.externalKey}`)).toMatchObject({
      lastAction: 'updated',
      lastRunId: `hdl-run-${seq}-b`,
    });
  });

  it('leaves goals HCM holds without our source key to the REST path', async () => {
    const connectionId = `${CONNECTION_ID}-hdl-${++seq}`;
    // A first HDL run under another connection: the goals exist, this connection's ledger knows none.
    const uri = await keyedSource(`hdl-rest-${seq}`);
    await load(harness(`${connectionId}-other`, `hdl-run-${seq}-x`, uri));
    const h = harness(connectionId, `hdl-run-${seq}-y`, uri);
    const built = await buildHdlParts(h.run, h.deps, { sourceSystemOwner: OWNER });
    expect(built).toMatchObject({ parts: 0, hdlRecords: 0, restRecords: GOALS });
  });
});
