import { type ChunkStore, GoalLedger, RecordStore, type WriteTiming } from '#core/checkpoint/index.ts';
import { HcmGoalsClient } from '#core/hcm/index.ts';
import type { ChunkRef, GoalRecord } from '#core/source/index.ts';
import { openGoalSource } from '#core/source/index.ts';
import {
  addCounts,
  type ChunkResult,
  emptyCounts,
  type GoalSnapshot,
  ObjectGoalIndex,
  processChunk,
} from '#core/sync/index.ts';
import { type SampleOptions, writeSampleFile } from '../../local/sample/generate.ts';
import { CONNECTION_ID, type PipelinePeers } from './pipeline-harness.ts';

/**
 * What the plan-wide read's tests share (goal-index.test.ts, plan-assignees.test.ts): a client of the
 * HCM simulator with no retries, an in-memory object store for the index, and a chunk's passes until
 * it completes, as the state machine loops them.
 */

export function simClient(peers: PipelinePeers, timing: WriteTiming): HcmGoalsClient {
  return new HcmGoalsClient({
    baseUrl: peers.hcm.url,
    connectionId: CONNECTION_ID,
    tokens: peers.broker.tokenProvider(),
    timeoutMs: timing.requestTimeoutMs,
    maxAttempts: 1,
  });
}

export function memoryIndexStore(): ObjectGoalIndex {
  const objects = new Map<string, string>();
  return new ObjectGoalIndex({
    put: async (k, body) => void objects.set(k, body),
    get: async (k) => objects.get(k),
  });
}

export interface ChunkPasses {
  peers: PipelinePeers;
  runId: string;
  connectionId: string;
  attempt: number;
  chunk: ChunkRef;
  sourcePath: string;
  timing: WriteTiming;
  snapshot?: GoalSnapshot;
  chunks?: ChunkStore;
  /** Each pass is a worker of its own: `${workerPrefix}${pass}`. */
  workerPrefix: string;
}

/** Passes of one chunk until it completes (20 at most), waiting what each partial pass asks. */
export async function passUntilComplete(o: ChunkPasses): Promise<ChunkResult[]> {
  const { doc } = o.peers.dynamo;
  const table = o.peers.dynamo.tables.checkpoints;
  const scope = { runId: o.runId, connectionId: o.connectionId };
  const out: ChunkResult[] = [];
  for (let i = 0; i < 20; i++) {
    const r = await processChunk(
      { ...scope, attempt: o.attempt, chunk: o.chunk },
      {
        source: openGoalSource({ uri: o.sourcePath, format: 'jsonl' }),
        hcm: simClient(o.peers, o.timing),
        records: new RecordStore(doc, table, { ...scope, expiresAt: 1 }),
        ledger: new GoalLedger(doc, table, scope, o.timing),
        workerId: `${o.workerPrefix}${i}`,
        remainingTimeMs: () => 600_000,
        ...(o.snapshot ? { snapshot: o.snapshot } : {}),
        ...(o.chunks ? { chunks: o.chunks } : {}),
      },
      { minTimeMarginMs: 0, timing: o.timing },
    );
    out.push(r);
    if (r.status === 'complete') return out;
    await new Promise((res) => setTimeout(res, Math.max(100, r.waitSeconds * 1000)));
  }
  throw new Error('chunk did not complete in 20 passes');
}

/** What every pass of the chunk did (a pass cut short under load leaves the rest to the next). */
export const totalCounts = (results: ChunkResult[]) =>
  results.map((r) => r.counts).reduce(addCounts, emptyCounts());

/** A sample source of `goals` records in one chunk: the chunk, its plans and its valid records. */
export async function sampleChunk(
  path: string,
  goals: number,
  options: Omit<SampleOptions, 'goals'>,
): Promise<{ chunk: ChunkRef; goalPlanIds: number[]; records: GoalRecord[] }> {
  await writeSampleFile(path, { ...options, goals });
  const plan = await openGoalSource({ uri: path, format: 'jsonl' }).plan(goals);
  const chunk = plan.chunks[0]!;
  const records: GoalRecord[] = [];
  for await (const e of openGoalSource({ uri: path, format: 'jsonl' }).readChunk(chunk)) {
    if ('record' in e) records.push(e.record);
  }
  return { chunk, goalPlanIds: plan.goalPlanIds ?? [], records };
}
