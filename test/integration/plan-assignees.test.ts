import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChunkRef, GoalRecord } from '#core/source/index.ts';
import { openGoalSource } from '#core/source/index.ts';
import { buildGoalIndex, type GoalSnapshot, loadSnapshot } from '#core/sync/index.ts';
import { memoryIndexStore, passUntilComplete, sampleChunk, simClient, totalCounts } from './index-harness.ts';
import { CONNECTION_ID, type PipelinePeers, startPipelinePeers } from './pipeline-harness.ts';

/**
 * Goal-plan assignees resolved in bulk (issue 23): plan-sync reads a plan's goalPlanAssignees whole
 * when that costs fewer requests than one query per worker, and leaves each chunk its workers' rows
 * in the goal index. Against dynalite and the HCM simulator over HTTP, with a tenant small enough
 * (300 workers: one page per plan) that the bulk read is the cheaper one.
 */
const PERSONS = 300;
const GOALS = 40;
const TIMING = { claimTtlMs: 3_000, requestTimeoutMs: 2_000, visibilityMs: 300, marginMs: 200 };

let peers: PipelinePeers;
let dir: string;
let sourcePath: string;
let chunk: ChunkRef;
let goalPlanIds: number[];
let records: GoalRecord[];
let run = 0;

beforeAll(async () => {
  peers = await startPipelinePeers({
    tokenTtlSeconds: 300,
    hcmFaults: { rateLimitPerSecond: 0 },
    hcmPersons: PERSONS,
  });
  dir = await mkdtemp(join(tmpdir(), 'plan-assignees-'));
  sourcePath = join(dir, 'goals.jsonl');
  ({ chunk, goalPlanIds, records } = await sampleChunk(sourcePath, GOALS, {
    invalidRate: 0,
    seed: 7,
    persons: PERSONS,
  }));
});
afterAll(async () => {
  await peers.close();
  await rm(dir, { recursive: true, force: true });
});

const client = () => simClient(peers, TIMING);

async function planIndex(runId: string) {
  const store = memoryIndexStore();
  const summary = await buildGoalIndex(
    { runId, attempt: 1, chunks: [chunk], goalPlanIds, validRecords: records.length, verify: false },
    { hcm: client(), source: openGoalSource({ uri: sourcePath, format: 'jsonl' }), store, now: Date.now },
    { minRecords: 0 },
  );
  return { summary, snapshot: (await loadSnapshot(store, runId, 1, chunk.index))! };
}

const passes = (runId: string, snapshot: GoalSnapshot) =>
  passUntilComplete({
    peers,
    runId,
    connectionId: `${CONNECTION_ID}-${runId}`,
    attempt: 1,
    chunk,
    sourcePath,
    timing: TIMING,
    snapshot,
    workerPrefix: 'w',
  });

const total = totalCounts;
const gets = async () => (await peers.hcm.stats()).requests.byMethod.GET ?? 0;

describe('goal-plan assignees read in bulk by plan-sync (dynalite + HCM simulator over HTTP)', () => {
  it('one page per plan at plan time, then no assignee query in the chunk: one request per goal', async () => {
    const workers = new Set(records.map((r) => `${r.goalPlanId}|${r.personNumber}`)).size;
    expect(workers).toBeGreaterThan(2 * goalPlanIds.length); // per-worker queries would cost more

    const before = await gets();
    const { summary, snapshot } = await planIndex(`bulk-${++run}`);
    // Per plan: one (empty) goal listing page and one assignee page of its ~300 rows.
    expect(summary).toMatchObject({ built: true, assigneePlans: goalPlanIds.length });
    expect(summary.requests).toBe(2 * goalPlanIds.length);
    expect((await gets()) - before).toBe(summary.requests);

    const afterPlan = await gets();
    const counts = total(await passes(`bulk-${run}`, snapshot));
    // The sample has workers on no plan (every 53rd): those records fail in the chunk, and each such
    // worker is asked about live once, in case the plan was assigned after plan-sync's read.
    const unassigned = new Set(
      records
        .filter((r) => snapshot.rows(r.goalPlanId, r.personNumber)?.length === 0)
        .map((r) => r.personNumber),
    );
    const unassignedWorkers = new Set(
      records.filter((r) => unassigned.has(r.personNumber)).map((r) => `${r.goalPlanId}|${r.personNumber}`),
    ).size;
    expect(counts.created + counts.failed).toBe(records.length);
    expect(counts.hcmRequests).toBe(counts.created + unassignedWorkers);
    expect((await gets()) - afterPlan).toBe(unassignedWorkers);
    expect((await peers.hcm.stats()).duplicates).toBe(0);
  });

  it('a worker the plan-time read did not see is looked up live in the chunk, not failed on the snapshot', async () => {
    for (const g of peers.hcm.goals()) peers.hcm.deleteGoal(g.planChildKey);
    const { snapshot } = await planIndex(`late-${++run}`);
    const victim = records.find((r) => (snapshot.rows(r.goalPlanId, r.personNumber)?.length ?? 0) > 0)!;
    // As if the worker had been assigned to the plan after plan-sync's read: the slice lacks them.
    const blind = Object.create(snapshot, {
      rows: {
        value: (plan: number, person: string) =>
          person === victim.personNumber ? [] : snapshot.rows(plan, person),
      },
    }) as GoalSnapshot;
    const before = await gets();
    const counts = total(await passes(`late-${run}`, blind));
    // Only the records of workers on no plan fail; the victim's were resolved by the live query.
    const onNoPlan = records.filter((r) => snapshot.rows(r.goalPlanId, r.personNumber)?.length === 0);
    expect(counts.failed).toBe(onNoPlan.length);
    // The victim's worker (once per plan they have records on) was asked about live.
    const victimPlans = new Set(
      records.filter((r) => r.personNumber === victim.personNumber).map((r) => r.goalPlanId),
    );
    expect((await gets()) - before).toBeGreaterThanOrEqual(victimPlans.size);
    expect(counts.created).toBe(records.length - onNoPlan.length);
  });
});
