import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ChunkStore,
  GoalLedger,
  RecordStore,
  RunLease,
  RunStore,
  type WriteTiming,
} from '#core/checkpoint/index.ts';
import { HcmGoalsClient, hcmResources } from '#core/hcm/index.ts';
import type { ChunkRef, GoalSource } from '#core/source/index.ts';
import { openGoalSource } from '#core/source/index.ts';
import { type ChunkResult, planRun, processChunk } from '#core/sync/index.ts';
import { RunInProgressError } from '../../lambdas/core/errors.ts';
import type { TokenProvider } from '../../lambdas/core/ports.ts';
import { writeSampleFile } from '../../local/sample/generate.ts';
import { CONNECTION_ID, type PipelinePeers, startPipelinePeers } from './pipeline-harness.ts';

/**
 * The four ways the last review wrote one goal twice (issue "exactly-once when work overlaps"), each
 * against dynalite and the HCM simulator over HTTP, with nothing of ours mocked. Timing is scaled
 * down (claims of 5 s, requests of 3 s) so every wait is real but short.
 */
const TIMING: WriteTiming = { claimTtlMs: 5_000, requestTimeoutMs: 3_000, visibilityMs: 800, marginMs: 500 };
const GOALS = 12;

let peers: PipelinePeers;
let dir: string;
let sourcePath: string;
let chunk: ChunkRef;
let runSeq = 0;

beforeAll(async () => {
  peers = await startPipelinePeers({ tokenTtlSeconds: 300, hcmFaults: { rateLimitPerSecond: 0 } });
  dir = await mkdtemp(join(tmpdir(), 'overlap-'));
  sourcePath = join(dir, 'goals.jsonl');
  await writeSampleFile(sourcePath, { goals: GOALS, invalidRate: 0, seed: 11 });
  chunk = (await openGoalSource({ uri: sourcePath, format: 'jsonl' }).plan(GOALS)).chunks[0]!;
});
afterAll(async () => {
  await peers.close();
  await rm(dir, { recursive: true, force: true });
});

let connectionId: string;
beforeEach(async () => {
  // A fresh connection per test: its own ledger, so every test starts with HCM holding none of its goals.
  connectionId = `${CONNECTION_ID}-${++runSeq}`;
  await peers.hcm.setFaults({ latencyMs: 0, jitterMs: 0, lateCommitRate: 0, commitThenDropRate: 0 });
  for (const goal of peers.hcm.goals()) await deleteGoal(goal.GoalPlanId, goal.planChildKey);
});

async function deleteGoal(planId: number, uniq: string): Promise<void> {
  const token = await peers.broker.tokenProvider().getToken(CONNECTION_ID);
  // A test's own cleanup: the simulator's control listing names each goal's plan child key.
  await fetch(`${peers.hcm.url}${hcmResources.planGoals(planId)}/${encodeURIComponent(uniq)}`, {
    method: 'DELETE',
    headers: { Authorization: `Bearer ${token.accessToken}` },
  });
}

/** A token provider that stalls `count` requests after the first `skip` (a slow broker call, a long 429 pause). */
function stalling(stallMs: number, count = 1, skip = 0): TokenProvider {
  const inner = peers.broker.tokenProvider();
  let seen = 0;
  return {
    getToken: async (_id, opts) => {
      seen += 1;
      if (seen > skip && seen <= skip + count) await new Promise((r) => setTimeout(r, stallMs));
      return inner.getToken(CONNECTION_ID, opts);
    },
  };
}

interface Worker {
  runId?: string;
  attempt?: number;
  owner: string;
  tokens?: TokenProvider;
  concurrency?: number;
}

/** One chunk pass as sync-chunk makes it: its own HCM client, stores and claim owner. */
function pass(
  w: Worker,
  source: GoalSource = openGoalSource({ uri: sourcePath, format: 'jsonl' }),
): Promise<ChunkResult> {
  const runId = `${w.runId ?? 'run-a'}-${connectionId}`;
  const doc = peers.dynamo.doc;
  const table = peers.dynamo.tables.checkpoints;
  const hcm = new HcmGoalsClient({
    baseUrl: peers.hcm.url,
    connectionId: CONNECTION_ID,
    tokens: w.tokens ?? peers.broker.tokenProvider(),
    timeoutMs: TIMING.requestTimeoutMs,
    maxAttempts: 1,
  });
  return processChunk(
    { runId, connectionId, attempt: w.attempt ?? 1, chunk },
    {
      source,
      hcm,
      records: new RecordStore(doc, table, { runId, connectionId, expiresAt: 1 }),
      ledger: new GoalLedger(doc, table, { runId, connectionId }, TIMING),
      workerId: w.owner,
      remainingTimeMs: () => 600_000,
    },
    { minTimeMarginMs: 0, timing: TIMING, ...(w.concurrency ? { concurrency: w.concurrency } : {}) },
  );
}

/** Passes until the chunk is complete, waiting what each pass asks for (the state machine's loop). */
async function untilComplete(w: Worker): Promise<ChunkResult> {
  for (let i = 0; i < 30; i++) {
    const r = await pass({ ...w, owner: `${w.owner}-p${i}` });
    if (r.status === 'complete') return r;
    await new Promise((res) => setTimeout(res, Math.min(r.waitSeconds * 1000, 1_000) || 100));
  }
  throw new Error('chunk did not complete in 30 passes');
}

/** Exactly one HCM goal per natural key, and the ledger of every record points at that goal. */
async function expectOneGoalEach(): Promise<void> {
  const goals = peers.hcm.goals();
  const byKey = new Map<string, number[]>();
  for (const g of goals) {
    const k = `${g.PersonNumber}|${g.GoalPlanId}|${g.GoalName}`;
    byKey.set(k, [...(byKey.get(k) ?? []), g.GoalId]);
  }
  expect([...byKey.values()].filter((ids) => ids.length > 1)).toEqual([]);
  expect(goals).toHaveLength(GOALS);
  const ledger = new GoalLedger(
    peers.dynamo.doc,
    peers.dynamo.tables.checkpoints,
    { runId: 'x', connectionId },
    TIMING,
  );
  for await (const entry of openGoalSource({ uri: sourcePath, format: 'jsonl' }).readChunk(chunk)) {
    if (!('record' in entry)) continue;
    const r = entry.record;
    const item = await ledger.get(r.externalKey);
    expect(item?.hcmGoalId).toBe(byKey.get(`${r.personNumber}|${r.goalPlanId}|${r.goalName}`)?.[0]);
    expect(item?.claimOwner).toBeUndefined();
  }
}

describe('no goal is written twice when work overlaps (dynalite + HCM simulator over HTTP)', () => {
  it('1. late commit after an unclear POST: no second POST in that pass; the next pass finds the goal', async () => {
    await peers.hcm.setFaults({ lateCommitRate: 1, lateCommitDelayMs: 300 });
    const before = (await peers.hcm.stats()).requests.byMethod.POST ?? 0;
    const first = await pass({ owner: 'w1' });
    expect(first).toMatchObject({ status: 'partial', counts: { created: 0 } });
    // Every 504 slows the pacer (an overload sign), so a record may be left for the next pass unsent;
    // `remaining` counts both kinds.
    expect(first.counts.unclearWrites).toBeGreaterThanOrEqual(1);
    expect(first.counts.remaining).toBe(GOALS);
    // One POST per record sent, none repeated after its 504.
    expect(((await peers.hcm.stats()).requests.byMethod.POST ?? 0) - before).toBe(first.counts.unclearWrites);
    await peers.hcm.setFaults({ lateCommitRate: 0 });
    const done = await untilComplete({ owner: 'w2' });
    expect(done.counts.created + done.counts.reconciled + done.counts.alreadyDone).toBe(GOALS);
    // Every POST the first pass sent committed late (after its 504); the rest were sent by later passes.
    expect((await peers.hcm.stats()).lateCommits).toBeGreaterThanOrEqual(first.counts.unclearWrites);
    await expectOneGoalEach();
  });

  it('2. a claim that expires while its holder is stalled: the holder never sends its POST', async () => {
    // Worker A (one record at a time) looks the first record up, then the token for its POST stalls
    // past the claim; B (a Step Functions retry of the same chunk) takes the record over and creates it.
    const a = pass({ owner: 'stalled-a', concurrency: 1, tokens: stalling(TIMING.claimTtlMs + 800, 1, 1) });
    await new Promise((r) => setTimeout(r, TIMING.claimTtlMs + 100));
    const b = await untilComplete({ owner: 'retry-b' });
    const ra = await a;
    // A lost its claim on the stalled record before sending: it waits instead of writing.
    expect(ra.counts.remaining).toBeGreaterThanOrEqual(1);
    expect(b.status).toBe('complete');
    await expectOneGoalEach();
  });

  it('3. a resume (attempt 2) never takes over a live claim of attempt 1', async () => {
    // Attempt 1 holds record 1 while the token for its POST is slow; the resume starts meanwhile.
    const live = pass({ owner: 'attempt-1', attempt: 1, concurrency: 1, tokens: stalling(1_500, 1, 1) });
    await new Promise((r) => setTimeout(r, 400));
    const resumed = await pass({ owner: 'attempt-2', attempt: 2 });
    // Record 1 is still attempt 1's: the resume leaves it and waits, it does not write it.
    expect(resumed.counts.remaining).toBeGreaterThanOrEqual(1);
    expect(resumed.waitSeconds).toBeGreaterThanOrEqual(1);
    await live;
    await untilComplete({ owner: 'attempt-2-next', attempt: 2 });
    await expectOneGoalEach();
  });

  it('4. two runs of one connection: the second start is refused; racing passes still write once', async () => {
    const doc = peers.dynamo.doc;
    const table = peers.dynamo.tables.checkpoints;
    const deps = {
      runs: new RunStore(doc, table),
      chunks: new ChunkStore(doc, table),
      lease: new RunLease(doc, table),
      openSource: (ref: { uri: string; format: 'jsonl' | 'csv' }) => openGoalSource(ref),
    };
    const source = { uri: sourcePath, format: 'jsonl' as const };
    const nightly = `nightly-${connectionId}`;
    await planRun({ runId: nightly, connectionId, source }, deps);
    const second = await planRun({ runId: 'manual', connectionId, source }, deps).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(RunInProgressError);
    expect((second as Error).message).toContain(`busy with run ${nightly}`);
    expect((second as Error).message).toContain(`goal-sync resume ${nightly}`);
    expect(await deps.runs.getRun('manual')).toBeUndefined();

    // Even past the lease (it lapsed, or an old invocation outlived its execution), the ledger's
    // claims keep two runs' passes from writing one goal twice.
    const results = await Promise.all([
      untilComplete({ owner: 'nightly-w', runId: 'nightly' }),
      untilComplete({ owner: 'manual-w', runId: 'manual' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['complete', 'complete']);
    await expectOneGoalEach();
    await deps.lease.release(connectionId, nightly);
  });
});
