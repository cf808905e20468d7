import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ChunkStore,
  GoalLedger,
  RecordStore,
  RunLease,
  RunStore,
  type WriteTiming,
} from '#core/checkpoint/index.ts';
import { HcmGoalsClient } from '#core/hcm/index.ts';
import type { ChunkRef } from '#core/source/index.ts';
import { openGoalSource } from '#core/source/index.ts';
import { type ChunkResult, finishRun, planRun, processChunk } from '#core/sync/index.ts';
import { RunLeaseLostError } from '../../lambdas/core/errors.ts';
import type { EventPublisher, TokenProvider } from '../../lambdas/core/ports.ts';
import { protocolGuards } from '../../lambdas/core/protocol-guards.ts';
import { writeSampleFile } from '../../local/sample/generate.ts';
import { CONNECTION_ID, type PipelinePeers, startPipelinePeers } from './pipeline-harness.ts';

/**
 * The run generation (docs/invariants.md, invariant 10) against dynalite and the HCM simulator over
 * HTTP: finish-sync releases the lease of an aborted execution whose Lambda still runs; a new run takes
 * the connection; the orphan's next write is refused with RunLeaseLostError, before any request leaves.
 */
const TIMING: WriteTiming = { claimTtlMs: 5_000, requestTimeoutMs: 3_000, visibilityMs: 800, marginMs: 500 };
const GOALS = 6;

let peers: PipelinePeers;
let dir: string;
let sourcePath: string;
let chunk: ChunkRef;
let seq = 0;

beforeAll(async () => {
  peers = await startPipelinePeers({ tokenTtlSeconds: 300, hcmFaults: { rateLimitPerSecond: 0 } });
  dir = await mkdtemp(join(tmpdir(), 'generation-'));
});
afterAll(async () => {
  await peers.close();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  protocolGuards.runGenerationFence = true;
});

const noEvents: EventPublisher = { publish: async () => {} };

/** Holds the first token request made once HCM holds `after` more goals, until `release` is called. */
function heldOnceWritten(after: number): {
  tokens: TokenProvider;
  reached: Promise<void>;
  release: () => void;
} {
  const inner = peers.broker.tokenProvider();
  const before = peers.hcm.goals().length;
  let held = false;
  let release!: () => void;
  let reachedNow!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const reached = new Promise<void>((r) => {
    reachedNow = r;
  });
  return {
    reached,
    release,
    tokens: {
      getToken: async (_id, opts) => {
        if (!held && peers.hcm.goals().length - before >= after) {
          held = true;
          reachedNow();
          await gate;
        }
        return inner.getToken(CONNECTION_ID, opts);
      },
    },
  };
}

function stores(runId: string, connectionId: string) {
  const doc = peers.dynamo.doc;
  const table = peers.dynamo.tables.checkpoints;
  return {
    lease: new RunLease(doc, table),
    runs: new RunStore(doc, table),
    chunks: new ChunkStore(doc, table),
    records: new RecordStore(doc, table, { runId, connectionId, expiresAt: 1 }),
    doc,
    table,
  };
}

/** One chunk pass as sync-chunk makes it for (runId, generation): fenced by the run lease. */
function pass(runId: string, connectionId: string, generation: number, tokens?: TokenProvider) {
  const s = stores(runId, connectionId);
  const hcm = new HcmGoalsClient({
    baseUrl: peers.hcm.url,
    connectionId: CONNECTION_ID,
    tokens: tokens ?? peers.broker.tokenProvider(),
    timeoutMs: TIMING.requestTimeoutMs,
    maxAttempts: 1,
  });
  const fence = s.lease.fence(connectionId, runId, generation);
  return processChunk(
    { runId, connectionId, attempt: 1, chunk, generation },
    {
      source: openGoalSource({ uri: sourcePath, format: 'jsonl' }),
      hcm,
      records: s.records,
      ledger: new GoalLedger(s.doc, s.table, { runId, connectionId, generation }, TIMING, { fence }),
      workerId: `${runId}-w${++seq}`,
      remainingTimeMs: () => 600_000,
    },
    { minTimeMarginMs: 0, timing: TIMING, concurrency: 1 },
  );
}

async function orphanScenario() {
  const connectionId = `${CONNECTION_ID}-gen-${++seq}`;
  // A source of its own per scenario: goals no earlier test wrote to the shared simulator.
  sourcePath = join(dir, `goals-${seq}.jsonl`);
  await writeSampleFile(sourcePath, { goals: GOALS, invalidRate: 0, seed: 100 + seq });
  chunk = (await openGoalSource({ uri: sourcePath, format: 'jsonl' }).plan(GOALS)).chunks[0]!;
  const source = { uri: sourcePath, format: 'jsonl' as const };
  const [runA, runB] = [`run-a-${connectionId}`, `run-b-${connectionId}`];
  const a = stores(runA, connectionId);
  const before = peers.hcm.goals().length;
  const planA = await planRun({ runId: runA, connectionId, source }, { ...a, openSource: openGoalSource });
  expect(planA.generation).toBe(1);

  // run-a's pass writes one goal, then waits for the token of its second write...
  const held = heldOnceWritten(1);
  const orphan = pass(runA, connectionId, planA.generation!, held.tokens).catch((e: unknown) => e);
  await held.reached;
  // ...while its execution is aborted: finish-sync fails the run and releases the lease, and a new
  // run takes the connection.
  await finishRun(
    { runId: runA, outcome: 'failed' },
    { runs: a.runs, chunks: a.chunks, lease: a.lease, events: noEvents },
  );
  const b = stores(runB, connectionId);
  const planB = await planRun({ runId: runB, connectionId, source }, { ...b, openSource: openGoalSource });
  expect(planB.generation).toBe(2);
  held.release();
  const outcome = await orphan;
  return { connectionId, outcome, written: peers.hcm.goals().length - before };
}

describe('run generation: a pass of a released or superseded run writes nothing more (dynalite + HCM simulator)', () => {
  it('an orphaned pass after release and a new run: its next write is refused, before any request', async () => {
    const { outcome, written } = await orphanScenario();
    expect(outcome).toBeInstanceOf(RunLeaseLostError);
    expect((outcome as Error).message).toMatch(/run run-a-\S+ no longer holds connection/);
    expect((outcome as Error).message).toMatch(/now held by run run-b-/);
    // The one goal it wrote before the takeover; none after.
    expect(written).toBe(1);
  });

  it('with the generation fence off (mutation), the orphan writes on after the takeover', async () => {
    protocolGuards.runGenerationFence = false;
    const { outcome, written } = await orphanScenario();
    expect(outcome).not.toBeInstanceOf(RunLeaseLostError);
    // It finished the chunk: every write after the first went out after run-b took the connection.
    expect((outcome as ChunkResult).status).toBe('complete');
    expect(written).toBeGreaterThan(1);
  });

  it('a pass of an earlier generation cannot claim a record a later generation claimed', async () => {
    const connectionId = `${CONNECTION_ID}-gen-${++seq}`;
    const s = stores('run-x', connectionId);
    const newer = new GoalLedger(s.doc, s.table, { runId: 'run-y', connectionId, generation: 3 }, TIMING);
    const older = new GoalLedger(s.doc, s.table, { runId: 'run-x', connectionId, generation: 2 }, TIMING);
    expect((await newer.claim('k-1', 'y')).claimed).toBe(true);
    await newer.release('k-1', 'y', false);
    const refused = await older.claim('k-1', 'x').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RunLeaseLostError);
    expect((refused as Error).message).toContain('generation 2 superseded by 3');
    // The newer generation's own later claims still work, and an older one never lowers the stamp.
    expect((await newer.claim('k-1', 'y2')).claimed).toBe(true);
    expect((await newer.get('k-1'))?.runGeneration).toBe(3);
  });

  it('every take of the run lease increments the generation; release keeps it; a stale pass cannot renew', async () => {
    const connectionId = `${CONNECTION_ID}-gen-${++seq}`;
    const { lease } = stores('r', connectionId);
    expect((await lease.acquire(connectionId, 'r1')).generation).toBe(1);
    // The same run again (a resume, a redelivered start): a new take, a new generation.
    expect(await lease.acquire(connectionId, 'r1')).toEqual({ alreadyHeld: true, generation: 2 });
    await expect(lease.renew(connectionId, 'r1', 1)).rejects.toThrow(/generation 1 superseded by 2/);
    await lease.renew(connectionId, 'r1', 2);
    expect(await lease.release(connectionId, 'r1')).toBe(true);
    expect((await lease.get(connectionId))?.generation).toBe(2);
    await expect(lease.renew(connectionId, 'r1', 2)).rejects.toThrow(/no longer holds .* \(released\)/);
    await expect(lease.fence(connectionId, 'r1', 2).check()).rejects.toBeInstanceOf(RunLeaseLostError);
    expect((await lease.acquire(connectionId, 'r2')).generation).toBe(3);
    await lease.fence(connectionId, 'r2', 3).check();
  });

  it('a completed run never becomes failed: the late finish of a second execution changes nothing', async () => {
    const connectionId = `${CONNECTION_ID}-gen-${++seq}`;
    const runId = `run-done-${connectionId}`;
    sourcePath = join(dir, `goals-${seq}.jsonl`);
    await writeSampleFile(sourcePath, { goals: GOALS, invalidRate: 0, seed: 100 + seq });
    chunk = (await openGoalSource({ uri: sourcePath, format: 'jsonl' }).plan(GOALS)).chunks[0]!;
    const s = stores(runId, connectionId);
    const deps = { runs: s.runs, chunks: s.chunks, lease: s.lease, events: noEvents };
    const plan = await planRun(
      { runId, connectionId, source: { uri: sourcePath, format: 'jsonl' } },
      { ...s, openSource: openGoalSource },
    );
    expect((await pass(runId, connectionId, plan.generation!)).status).toBe('complete');
    expect((await finishRun({ runId }, deps)).status).toBe('completed');
    const late = await finishRun({ runId, outcome: 'failed', error: { Error: 'States.Timeout' } }, deps);
    expect(late).toMatchObject({ status: 'completed', changed: false });
    expect((await s.runs.getRun(runId))?.status).toBe('completed');
  });
});
