import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChunkStore, GoalLedger, type WriteTiming } from '#core/checkpoint/index.ts';
import { type HcmGoalsClient, type PlanGoalsQuery, toGoalPayload } from '#core/hcm/index.ts';
import type { ChunkRef, GoalRecord } from '#core/source/index.ts';
import { openGoalSource } from '#core/source/index.ts';
import { buildGoalIndex, type GoalSnapshot, loadSnapshot } from '#core/sync/index.ts';
import { protocolGuards } from '../../lambdas/core/protocol-guards.ts';
import { memoryIndexStore, passUntilComplete, sampleChunk, simClient, totalCounts } from './index-harness.ts';
import { CONNECTION_ID, type PipelinePeers, startPipelinePeers } from './pipeline-harness.ts';

/**
 * The plan-wide read (lambdas/core/sync/goal-index.ts) against dynalite and the HCM simulator over
 * HTTP: chunks look existing goals up in plan-sync's index instead of sending finders, and a record
 * whose ledger shows a write that may have committed is still looked up live (invariant 7, window O5).
 */
// Short claims keep the crashed-run tests quick; the request timeout leaves room for a loaded machine.
const TIMING: WriteTiming = { claimTtlMs: 3_000, requestTimeoutMs: 2_000, visibilityMs: 300, marginMs: 200 };
const GOALS = 12;

let peers: PipelinePeers;
let dir: string;
let sourcePath: string;
let chunk: ChunkRef;
let goalPlanIds: number[];
let records: GoalRecord[];
let seq = 0;
let connectionId: string;

beforeAll(async () => {
  peers = await startPipelinePeers({ tokenTtlSeconds: 300, hcmFaults: { rateLimitPerSecond: 0 } });
  dir = await mkdtemp(join(tmpdir(), 'goal-index-'));
  sourcePath = join(dir, 'goals.jsonl');
  ({ chunk, goalPlanIds, records } = await sampleChunk(sourcePath, GOALS, { invalidRate: 0, seed: 21 }));
});
afterAll(async () => {
  await peers.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  connectionId = `${CONNECTION_ID}-idx-${++seq}`;
  for (const g of peers.hcm.goals()) peers.hcm.deleteGoal(g.planChildKey);
});
afterEach(() => {
  protocolGuards.liveLookupAfterWriteTrace = true;
  protocolGuards.noPostWhileUnclear = true;
});

const client = () => simClient(peers, TIMING);
const memoryStore = memoryIndexStore;

/** plan-sync's part: the index of what HCM holds now, in an in-memory object store. */
async function planIndex(runId: string): Promise<GoalSnapshot> {
  const store = memoryStore();
  const summary = await buildGoalIndex(
    { runId, attempt: 2, chunks: [chunk], goalPlanIds, validRecords: GOALS, verify: false },
    { hcm: client(), source: openGoalSource({ uri: sourcePath, format: 'jsonl' }), store, now: Date.now },
    { minRecords: 0 },
  );
  // A first sync: one listing page per plan, and where the plan has several of the run's workers the
  // first page of its assignees (its size: the simulator's 20,000 make the whole plan dear) and one
  // `PersonNumber IN (...)` list of them.
  expect(summary).toMatchObject({ built: true, requests: goalPlanIds.length + 2 * assigneeProbes() });
  return (await loadSnapshot(store, runId, 2, chunk.index))!;
}

const workersOn = (id: number) =>
  new Set(records.filter((r) => r.goalPlanId === id).map((r) => r.personNumber));

/** Plans with more than one of the run's workers: plan-sync reads their assignments. */
const assigneeProbes = () => goalPlanIds.filter((id) => workersOn(id).size > 1).length;

/** Workers alone on their plan in this run: one query costs the chunk what plan-sync would spend. */
const loneWorkers = () => goalPlanIds.filter((id) => workersOn(id).size === 1).length;

const passes = (runId: string, snapshot: GoalSnapshot | undefined, chunks?: ChunkStore) =>
  passUntilComplete({
    peers,
    runId,
    connectionId,
    attempt: 2,
    chunk,
    sourcePath,
    timing: TIMING,
    workerPrefix: 'resume-p',
    ...(snapshot ? { snapshot } : {}),
    ...(chunks ? { chunks } : {}),
  });

const total = totalCounts;

const goalsOf = (r: GoalRecord) =>
  peers.hcm
    .goals()
    .filter(
      (g) => g.PersonNumber === r.personNumber && g.GoalPlanId === r.goalPlanId && g.GoalName === r.goalName,
    );

/**
 * An earlier run claimed the first record, started its write (ledger: writeStartedAt) and died; HCM
 * committed the POST after the resume's plan-sync had read the index. The index does not list the
 * goal, the ledger says a write may be in flight: the resume must ask HCM and adopt it.
 */
async function crashedWriteAfterIndex(
  runId: string,
): Promise<{ snapshot: GoalSnapshot; victim: GoalRecord }> {
  const snapshot = await planIndex(runId);
  const victim = records[0]!;
  const ledger = new GoalLedger(
    peers.dynamo.doc,
    peers.dynamo.tables.checkpoints,
    { runId: 'crashed-run', connectionId },
    TIMING,
  );
  expect((await ledger.claim(victim.externalKey, 'dead-worker')).claimed).toBe(true);
  // The dead worker had resolved the goal's worker as the sync does (goalPlanAssignees).
  const [worker] = (
    await client().listPlanAssignees(victim.goalPlanId, { offset: 0, limit: 5 }, victim.personNumber)
  ).items;
  const payload = {
    ...toGoalPayload(victim),
    PersonId: worker!.PersonId,
    AssignmentId: worker!.AssignmentId,
  };
  await client().create(victim.goalPlanId, payload, () =>
    ledger.beginWrite(victim.externalKey, 'dead-worker', 'POST'),
  );
  expect(snapshot.find({ ...victim })).toEqual([]);
  // The dead worker's claim lapses; nothing of it is committed to the ledger.
  await new Promise((r) => setTimeout(r, TIMING.claimTtlMs + 100));
  return { snapshot, victim };
}

/**
 * An HCM port whose plan changes after the first page of a listing: the first listed goal is deleted
 * and (with `add`) a goal of a new natural key is created. `keyset: false` plays a pod that ignores
 * orderBy and q (the query goes out as an offset page).
 */
function changingPlan(
  o: { keyset: boolean; add: boolean; addRecord?: GoalRecord },
  deleted: { goal?: number } = {},
): HcmGoalsClient {
  const real = client();
  let changed = false;
  return Object.assign(Object.create(real) as HcmGoalsClient, {
    listPlanGoals: async (planId: number, page: PlanGoalsQuery) => {
      const out = await real.listPlanGoals(planId, o.keyset ? page : { ...page, keyset: undefined });
      // Offset-read pages only when the pod ignores the keyset (its probe pages are not the read).
      const counts = o.keyset || page.keyset === undefined;
      // The plan with the most records: a page of 2 leaves at least one goal to shift.
      if (counts && planId === busiestPlan() && !changed && out.items.length > 0) {
        changed = true;
        const victim = out.items[0]!;
        deleted.goal = victim.GoalId;
        peers.hcm.deleteGoal(victim.ref.uniqId);
        if (o.add) await addGoal(planId, o.addRecord);
      }
      return out;
    },
  });
}

function busiestPlan(): number {
  const n = new Map<number, number>();
  for (const r of records) n.set(r.goalPlanId, (n.get(r.goalPlanId) ?? 0) + 1);
  return [...n.entries()].sort((a, b) => b[1] - a[1])[0]![0];
}

/** A goal of a natural key no record has, on the plan, for the first record's worker. */
async function addGoal(planId: number, record?: GoalRecord): Promise<void> {
  const r = record ?? records.find((x) => x.goalPlanId === planId) ?? records[0]!;
  const [worker] = (await client().listPlanAssignees(planId, { offset: 0, limit: 5 }, r.personNumber)).items;
  await client().create(planId, {
    ...toGoalPayload(record ?? { ...r, goalPlanId: planId, goalName: `Added meanwhile ${Date.now()}` }),
    PersonId: worker!.PersonId,
    AssignmentId: worker!.AssignmentId,
  });
}

async function indexWhileChanging(
  keyset: boolean,
  addRecord?: GoalRecord,
): Promise<{ snapshot: GoalSnapshot; deleted?: number }> {
  const store = memoryStore();
  const deleted: { goal?: number } = {};
  const summary = await buildGoalIndex(
    { runId: 'shifting', attempt: 1, chunks: [chunk], goalPlanIds, validRecords: GOALS, verify: false },
    {
      hcm: changingPlan({ keyset, add: true, ...(addRecord ? { addRecord } : {}) }, deleted),
      source: openGoalSource({ uri: sourcePath, format: 'jsonl' }),
      store,
      now: Date.now,
    },
    { minRecords: 0, pageSize: 2 },
  );
  expect(summary.built).toBe(true);
  const snapshot = (await loadSnapshot(store, 'shifting', 1, chunk.index))!;
  return { snapshot, ...(deleted.goal !== undefined ? { deleted: deleted.goal } : {}) };
}

describe('plan-wide read of existing goals (dynalite + HCM simulator over HTTP)', () => {
  it('a first sync with the index sends no finder: one request per goal, and one per worker plan-sync did not read', async () => {
    const snapshot = await planIndex(`first-${connectionId}`);
    const counts = total(await passes(`first-${connectionId}`, snapshot));
    expect(counts).toMatchObject({ created: GOALS, hcmRequests: GOALS + loneWorkers() });
  });

  it('without the index the same chunk sends finders', async () => {
    const counts = total(await passes(`finders-${connectionId}`, undefined));
    expect(counts.created).toBe(GOALS);
    expect(counts.hcmRequests).toBeGreaterThan(GOALS);
  });

  it('a goal a crashed run wrote after the index was read is adopted, not created again', async () => {
    const runId = `resume-${connectionId}`;
    const { snapshot, victim } = await crashedWriteAfterIndex(runId);
    const counts = total(await passes(runId, snapshot));
    expect(goalsOf(victim)).toHaveLength(1);
    expect(peers.hcm.goals()).toHaveLength(GOALS);
    expect(counts.reconciled).toBe(1);
    expect(counts.created).toBe(GOALS - 1);
    // The one live finder is for the record with the write trace; every other lookup used the index,
    // workers' assignments (and the finder's PersonId) too, except a worker alone on a plan: one query.
    expect(counts.hcmRequests).toBe(GOALS - 1 + 1 + loneWorkers());
  });

  it('pages through a plan with the page size it is given, every goal once', async () => {
    await passes(`seed-${connectionId}`, await planIndex(`seed-${connectionId}`));
    const store = memoryStore();
    const summary = await buildGoalIndex(
      { runId: 'paged', attempt: 1, chunks: [chunk], goalPlanIds, validRecords: GOALS, verify: false },
      { hcm: client(), source: openGoalSource({ uri: sourcePath, format: 'jsonl' }), store, now: Date.now },
      { minRecords: 0, pageSize: 5 },
    );
    // Per plan: ceil(goals / 5) pages; the first tells the total, so the rest go out together.
    const perPlan = goalPlanIds.map((id) => peers.hcm.goals().filter((g) => g.GoalPlanId === id).length);
    expect(summary).toMatchObject({ built: true, goals: GOALS, chunksWithGoals: 1 });
    // Every record's goal is listed: no create needs a worker, so no assignee is read.
    expect(summary.requests).toBe(perPlan.reduce((n, c) => n + Math.max(1, Math.ceil(c / 5)), 0));
    const snapshot = (await loadSnapshot(store, 'paged', 1, chunk.index))!;
    for (const r of records) expect(snapshot.find({ ...r })).toHaveLength(1);
  });

  it('a plan read by offset that changes while it is read is not trusted: finders for a sync, an error for verify', async () => {
    await passes(`seed2-${connectionId}`, await planIndex(`seed2-${connectionId}`));
    // A pod that does not honour the keyset; someone deletes a goal after the first page: the listing
    // no longer adds up.
    const build = (verify: boolean) =>
      buildGoalIndex(
        { runId: 'changing', attempt: 1, chunks: [chunk], goalPlanIds, validRecords: GOALS, verify },
        {
          hcm: changingPlan({ keyset: false, add: false }),
          source: openGoalSource({ uri: sourcePath, format: 'jsonl' }),
          store: memoryStore(),
          now: Date.now,
        },
        { minRecords: 0, pageSize: 2 },
      );
    const summary = await build(false);
    expect(summary.built).toBe(false);
    expect(summary.reason).toMatch(/changed while it was read/);
    await expect(build(true)).rejects.toMatchObject({
      name: 'TransientError',
      message: expect.stringMatching(/changed while it was read/),
    });
  });

  it('a delete and an add between two pages: read by key, no goal shifts out of the listing (issue 25)', async () => {
    await passes(`seed3-${connectionId}`, await planIndex(`seed3-${connectionId}`));
    const { snapshot, deleted } = await indexWhileChanging(true);
    expect(snapshot.absenceIsEvidence).toBe(true);
    // Every goal HCM still holds is listed (the deleted one was read before it went, which is fine).
    for (const r of records) {
      if (goalsOf(r).length === 1) expect(snapshot.find({ ...r }), r.externalKey).toHaveLength(1);
    }
    expect(deleted).toBeDefined();
  });

  it('by offset (a pod without keyset) the same change skips a goal with the count intact: it is looked up live, not created again', async () => {
    const runId = `seed4-${connectionId}`;
    await passes(runId, await planIndex(runId));
    // Someone else writes one record's goal while the plan is read (its goal was not there before).
    const added = records.filter((r) => r.goalPlanId === busiestPlan()).at(-1)!;
    peers.hcm.deleteGoal(goalsOf(added)[0]!.planChildKey);
    const { snapshot } = await indexWhileChanging(false, added);
    expect(snapshot.absenceIsEvidence).toBe(false);
    const skipped = records.filter((r) => goalsOf(r).length === 1 && snapshot.find({ ...r }).length === 0);
    // The reproduction: a goal HCM holds that the listing missed although it added up.
    expect(skipped.length).toBeGreaterThan(0);
    // A new run (fresh ledger) over that listing: the skipped records are found live, not created.
    connectionId = `${connectionId}-next`;
    const counts = total(await passes(`after-${connectionId}`, snapshot));
    for (const r of skipped) expect(goalsOf(r)).toHaveLength(1);
    for (const r of records) expect(goalsOf(r).length).toBeLessThanOrEqual(1);
    expect(counts.hcmRequests).toBeGreaterThan(0);
  });

  it('a listing HCM fails leaves a sync to its finders, and fails a verify run', async () => {
    await peers.hcm.setFaults({ errorRate: 1, errorStatus: 503 });
    try {
      const build = (verify: boolean) =>
        buildGoalIndex(
          { runId: 'failing', attempt: 1, chunks: [chunk], goalPlanIds, validRecords: GOALS, verify },
          {
            hcm: client(),
            source: openGoalSource({ uri: sourcePath, format: 'jsonl' }),
            store: memoryStore(),
            now: Date.now,
          },
          { minRecords: 0 },
        );
      expect(await build(false)).toMatchObject({ built: false, reason: 'listing failed: TransientError' });
      await expect(build(true)).rejects.toMatchObject({ name: 'TransientError' });
    } finally {
      await peers.hcm.setFaults({ errorRate: 0 });
    }
  });

  it('verify: a drifted goal edited again after the listing (412 on If-Match) is read again and PATCHed with the fresh ETag', async () => {
    await passes(`seed3-${connectionId}`, await planIndex(`seed3-${connectionId}`));
    const target = records[5]!;
    const [goal] = goalsOf(target);
    peers.hcm.editGoal(goal!.planChildKey, { StatusCode: 'CANCELLED' });
    const store = memoryStore();
    await buildGoalIndex(
      { runId: 'verify', attempt: 2, chunks: [chunk], goalPlanIds, validRecords: GOALS, verify: true },
      { hcm: client(), source: openGoalSource({ uri: sourcePath, format: 'jsonl' }), store, now: Date.now },
    );
    const snapshot = (await loadSnapshot(store, 'verify', 2, chunk.index))!;
    expect(snapshot.verify).toBe(true);
    // Edited again after the listing: the listing's ETag is stale, and its diff would miss this field.
    peers.hcm.editGoal(goal!.planChildKey, { Description: 'second edit' });
    const before = (await peers.hcm.stats()).requests.byStatus['412'] ?? 0;
    const result = { counts: total(await passes(`verify-${connectionId}`, snapshot)) };
    expect(result.counts).toMatchObject({
      verifyDrifted: 1,
      verifyMissing: 0,
      verifyRepaired: 1,
      updated: 1,
    });
    expect(result.counts.unchanged).toBe(GOALS - 1);
    // The PATCH with the stale ETag (412), the worker's assignment and goals read, then the PATCH of
    // the difference from what the read showed, with the ETag it showed (never one without If-Match).
    expect(result.counts.hcmRequests).toBe(4);
    expect(((await peers.hcm.stats()).requests.byStatus['412'] ?? 0) - before).toBe(1);
    const [now] = goalsOf(target);
    expect(now!.GoalId).toBe(goal!.GoalId);
    expect(now!.StatusCode).toBe(toGoalPayload(target).StatusCode);
    expect(now!.Description ?? null).toBe(toGoalPayload(target).Description ?? null);
  });

  it('verify findings stay in the chunk snapshot finish-sync sums, also after a repeated pass of the chunk', async () => {
    await passes(`seed4-${connectionId}`, await planIndex(`seed4-${connectionId}`));
    const [gone] = goalsOf(records[2]!);
    const [edited] = goalsOf(records[7]!);
    peers.hcm.deleteGoal(gone!.planChildKey);
    peers.hcm.editGoal(edited!.planChildKey, { StatusCode: 'CANCELLED' });
    const store = memoryStore();
    const runId = `verify-snap-${connectionId}`;
    await buildGoalIndex(
      { runId, attempt: 2, chunks: [chunk], goalPlanIds, validRecords: GOALS, verify: true },
      { hcm: client(), source: openGoalSource({ uri: sourcePath, format: 'jsonl' }), store, now: Date.now },
    );
    const snapshot = (await loadSnapshot(store, runId, 2, chunk.index))!;
    const chunks = new ChunkStore(peers.dynamo.doc, peers.dynamo.tables.checkpoints);
    const first = total(await passes(runId, snapshot, chunks));
    expect(first).toMatchObject({ verifyMissing: 1, verifyDrifted: 1, verifyRepaired: 2 });
    const findings = { verifyMissing: 1, verifyDrifted: 1, verifyRepaired: 2 };
    expect((await chunks.listChunkSummaries(runId))[0]).toMatchObject({ status: 'complete', ...findings });

    // Step Functions retries the iteration (or a duplicate invocation runs it): every record is done
    // already, this pass repairs nothing, and its snapshot still counts what the run found.
    const again = total(await passes(runId, snapshot, chunks));
    expect(again).toMatchObject({ alreadyDone: GOALS, verifyRepaired: 0, hcmRequests: 0 });
    const [summary] = await chunks.listChunkSummaries(runId);
    expect(summary).toMatchObject({ status: 'complete', passes: 2, ...findings });
  });

  it('control: trusting the index for that record (guard off), the crashed POST still keeps a second one out', async () => {
    protocolGuards.liveLookupAfterWriteTrace = false;
    // The crashed POST's mark alone keeps a second POST out (issue 25): the record ends unsettled.
    const runId = `unguarded-${connectionId}`;
    const { snapshot, victim } = await crashedWriteAfterIndex(runId);
    expect(total(await passes(runId, snapshot))).toMatchObject({ unsettled: 1 });
    expect(goalsOf(victim)).toHaveLength(1);
  });

  it('control: trusting the index, without the POST fence too (guards off), writes the goal twice', async () => {
    protocolGuards.liveLookupAfterWriteTrace = false;
    protocolGuards.noPostWhileUnclear = false;
    const runId = `unguarded-${connectionId}`;
    const { snapshot, victim } = await crashedWriteAfterIndex(runId);
    await passes(runId, snapshot);
    expect(goalsOf(victim)).toHaveLength(2);
  });
});
