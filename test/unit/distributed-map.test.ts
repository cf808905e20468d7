import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExecutionError } from 'aws-local-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REAUTH_ERROR, RENDERED_MANIFEST_BUCKET, renderDefinition } from '../../infra/state-machine.ts';
import { ReauthRequiredError } from '../../lambdas/core/errors.ts';
import { LocalObjectStore } from '../../local/adapters/local-objects.ts';
import { executeLocally, withLocalDistributedMaps } from '../../local/runner/executor.ts';

/**
 * The local Distributed Map (local/runner/distributed-map.ts) running the rendered definition's
 * distributed branch with fake handlers: ItemReader over the local object store, ItemBatcher batches
 * as child executions, MaxConcurrency, tolerated failures and the error the parent sees.
 */
type JSONValue = null | boolean | number | string | JSONValue[] | { [key: string]: JSONValue };
interface Batch {
  Items: Array<{ runId: string; attempt: number; chunk: number }>;
}

let dir: string;
let objects: LocalObjectStore;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmap-'));
  objects = new LocalObjectStore(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Setup {
  chunkCount: number;
  /** plan-sync's REST deadline (epoch ms, 0: none): every item carries it (issue 24 item 4). */
  restDeadline?: number;
  mapThreshold: number;
  toleratedFailurePercentage?: number;
  maxConcurrency?: number;
  /** Skip writing the manifest (ItemReader failure). */
  noManifest?: boolean;
  /** Fields set on the Distributed Map state as rendered (thresholds CDK does not expose here). */
  mapFields?: Record<string, unknown>;
  chunk: (batch: Batch, call: number) => JSONValue | Promise<JSONValue>;
}

async function run(runId: string, s: Setup) {
  const { asl, functionArns } = renderDefinition({
    maxConcurrency: s.maxConcurrency ?? 3,
    distributed: { bucket: true, toleratedFailurePercentage: s.toleratedFailurePercentage },
  });
  if (s.mapFields) {
    const states = asl.States as Record<string, Record<string, unknown>>;
    Object.assign(states.SyncChunksDistributed!, s.mapFields);
  }
  const key = `runs/${runId}/attempt-1/chunks.json`;
  if (!s.noManifest) {
    const refs = Array.from({ length: s.chunkCount }, (_, i) => i);
    await objects.putObject(RENDERED_MANIFEST_BUCKET, key, JSON.stringify(refs));
  }
  const calls = { chunk: [] as Batch[], finish: [] as JSONValue[], inFlight: 0, maxInFlight: 0 };
  const handlers = {
    plan: async (event: JSONValue) => {
      const i = (event as { input: { runId: string; connectionId: string; source: JSONValue } }).input;
      const inline = s.chunkCount <= s.mapThreshold;
      return {
        runId: i.runId,
        connectionId: i.connectionId,
        source: i.source,
        attempt: 1,
        generation: 1,
        chunkCount: s.chunkCount,
        mapThreshold: s.mapThreshold,
        chunks: inline ? Array.from({ length: s.chunkCount }, (_, n) => n) : [],
        manifest: { bucket: RENDERED_MANIFEST_BUCKET, key },
        restDeadline: s.restDeadline ?? 0,
      };
    },
    chunk: async (event: JSONValue) => {
      const batch = event as unknown as Batch;
      calls.chunk.push(batch);
      calls.inFlight += 1;
      calls.maxInFlight = Math.max(calls.maxInFlight, calls.inFlight);
      try {
        await new Promise((r) => setTimeout(r, 5));
        return await s.chunk(batch, calls.chunk.length);
      } finally {
        calls.inFlight -= 1;
      }
    },
    finish: async (event: JSONValue) => {
      calls.finish.push(event);
      const e = event as { runId: string; outcome: string };
      return { runId: e.runId, status: e.outcome };
    },
    // The plan answers no writeMode: the HDL branch is never taken.
    hdl: async () => {
      throw new Error('the HDL branch is not part of this test');
    },
  };
  const execution = executeLocally(
    asl,
    functionArns,
    handlers,
    { runId, connectionId: 'c1', source: { uri: 'goals.jsonl', format: 'jsonl' } },
    runId,
    { objects },
  );
  const outcome = await execution.result.then(
    (value) => ({ value, error: undefined }),
    (error: unknown) => ({ value: undefined, error: error as ExecutionError }),
  );
  return { ...outcome, calls, mapRuns: execution.mapRuns };
}

const done = (batch: Batch) => ({
  index: batch.Items[0]!.chunk,
  indexes: batch.Items.map((i) => i.chunk),
  status: 'complete',
  waitSeconds: 0,
  counts: {},
});

describe('local Distributed Map', () => {
  it('the executable form swaps only the Distributed Map state for a Task with its Catch and transition', () => {
    const { asl } = renderDefinition({ maxConcurrency: 3, distributed: { bucket: true } });
    const { asl: executable, maps } = withLocalDistributedMaps(asl);
    expect([...maps.keys()]).toEqual(['SyncChunksDistributed']);
    const states = executable.States as Record<string, Record<string, unknown>>;
    const original = (asl.States as Record<string, Record<string, unknown>>).SyncChunksDistributed!;
    expect(states.SyncChunksDistributed).toMatchObject({
      Type: 'Task',
      Catch: original.Catch,
      Next: original.Next,
      ResultPath: null,
    });
    // Everything else is the definition as rendered.
    const { SyncChunksDistributed: _a, ...rest } = states;
    const { SyncChunksDistributed: _b, ...restOriginal } = asl.States as Record<string, unknown>;
    expect(rest).toEqual(restOriginal);
  });

  it('reads the manifest, batches 4 chunks per child execution, runs each chunk once, then finishes', async () => {
    const r = await run('dm-ok', { chunkCount: 10, mapThreshold: 2, chunk: done });
    expect(r.error).toBeUndefined();
    expect(r.value).toEqual({ runId: 'dm-ok', status: 'completed' });
    expect(r.calls.chunk.map((b) => b.Items.length).sort()).toEqual([2, 4, 4]);
    const seen = r.calls.chunk.flatMap((b) => b.Items.map((i) => i.chunk)).sort((a, b) => a - b);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // ItemSelector: references plus the item itself, evaluated per item.
    expect(r.calls.chunk[0]!.Items[0]).toMatchObject({ runId: 'dm-ok', attempt: 1, connectionId: 'c1' });
    expect(r.mapRuns).toEqual([
      expect.objectContaining({ items: 10, children: 3, succeeded: 3, failed: 0, aborted: 0 }),
    ]);
    expect(r.mapRuns[0]!.maxChildEvents).toBeGreaterThan(0);
    expect(r.calls.finish).toEqual([
      expect.objectContaining({ runId: 'dm-ok', outcome: 'completed', restDeadline: 0 }),
    ]);
  });

  it('carries the REST deadline into every batched item; a deferred batch ends its loop', async () => {
    const deadline = Date.parse('2026-12-06T06:00:00Z');
    const r = await run('dm-defer', {
      chunkCount: 6,
      mapThreshold: 0,
      restDeadline: deadline,
      chunk: (batch) => ({ ...done(batch), status: 'deferred' }),
    });
    expect(r.error).toBeUndefined();
    const items = r.calls.chunk.flatMap((b) => b.Items);
    // One pass per chunk: deferred is not partial.
    expect(items.map((i) => i.chunk).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    for (const i of items) expect(i).toMatchObject({ restDeadline: deadline });
    expect(r.calls.finish).toEqual([expect.objectContaining({ restDeadline: deadline })]);
  });

  it('a run at the threshold takes the inline Map: no child executions', async () => {
    const r = await run('dm-inline', {
      chunkCount: 3,
      mapThreshold: 3,
      chunk: (b) => {
        const chunk = (b as unknown as { chunk: number }).chunk;
        return { index: chunk, status: 'complete', waitSeconds: 0, counts: {} };
      },
    });
    expect(r.error).toBeUndefined();
    expect(r.mapRuns).toEqual([]);
    expect(r.calls.chunk).toHaveLength(3);
  });

  it('keeps to MaxConcurrency child executions at once', async () => {
    const r = await run('dm-conc', { chunkCount: 40, mapThreshold: 0, maxConcurrency: 2, chunk: done });
    expect(r.error).toBeUndefined();
    expect(r.mapRuns[0]).toMatchObject({ children: 10, succeeded: 10 });
    expect(r.calls.maxInFlight).toBe(2);
  });

  it('loops a batch while its pass is partial (the child keeps its own loop)', async () => {
    let first = true;
    const r = await run('dm-partial', {
      chunkCount: 4,
      mapThreshold: 0,
      chunk: (b) => {
        const partial = first;
        first = false;
        return { ...done(b), status: partial ? 'partial' : 'complete' };
      },
    });
    expect(r.error).toBeUndefined();
    expect(r.calls.chunk).toHaveLength(2);
  });

  it('a failed child execution fails the map with States.ExceedToleratedFailureThreshold -> MarkFailed', async () => {
    const r = await run('dm-fail', {
      chunkCount: 12,
      mapThreshold: 2,
      maxConcurrency: 1,
      chunk: (b, call) => {
        if (call === 1) {
          const err = new Error('bad chunk');
          err.name = 'ConfigError';
          throw err;
        }
        return done(b);
      },
    });
    expect(r.error).toBeInstanceOf(ExecutionError);
    expect((r.error!.cause as Error).name).toBe('SyncFailed');
    const [finish] = r.calls.finish as Array<{ outcome: string; error: { Error: string; Cause: string } }>;
    expect(finish).toMatchObject({
      outcome: 'failed',
      error: { Error: 'States.ExceedToleratedFailureThreshold' },
    });
    expect(finish!.error.Cause).toContain('ConfigError');
    // No new child starts once the threshold is crossed (one at a time: only the failed one ran).
    expect(r.mapRuns[0]).toMatchObject({ failed: 1, succeeded: 0 });
    expect(r.calls.chunk).toHaveLength(1);
  });

  it('tolerates failed children within ToleratedFailurePercentage', async () => {
    const r = await run('dm-tolerate', {
      chunkCount: 12,
      mapThreshold: 2,
      toleratedFailurePercentage: 40,
      chunk: (b) => {
        if (b.Items[0]!.chunk === 0) throw Object.assign(new Error('x'), { name: 'ConfigError' });
        return done(b);
      },
    });
    // 4 of 12 items failed (33%): within 40%.
    expect(r.error).toBeUndefined();
    expect(r.mapRuns[0]).toMatchObject({ children: 3, succeeded: 2, failed: 1 });
    expect(r.calls.finish).toEqual([expect.objectContaining({ runId: 'dm-tolerate', outcome: 'completed' })]);
  });

  it('ToleratedFailureCount alone, and with a percentage (either one exceeded fails the map run)', async () => {
    const failFirst = (b: Batch) => {
      if (b.Items[0]!.chunk === 0) throw Object.assign(new Error('x'), { name: 'ConfigError' });
      return done(b);
    };
    // 4 of 12 items failed: not more than a count of 4.
    const alone = await run('dm-count', {
      chunkCount: 12,
      mapThreshold: 0,
      mapFields: { ToleratedFailureCount: 4 },
      chunk: failFirst,
    });
    expect(alone.error).toBeUndefined();
    // ... but 33% is more than 10%: with both set, the percentage fails it.
    const both = await run('dm-both', {
      chunkCount: 12,
      mapThreshold: 0,
      mapFields: { ToleratedFailureCount: 4, ToleratedFailurePercentage: 10 },
      chunk: failFirst,
    });
    expect(both.calls.finish[0]).toMatchObject({
      error: { Error: 'States.ExceedToleratedFailureThreshold' },
    });
  });

  it('a dead grant in a child marks the run needs_reauth from the child, the parent then fails', async () => {
    const r = await run('dm-reauth', {
      chunkCount: 4,
      mapThreshold: 0,
      chunk: () => {
        throw new ReauthRequiredError('c1', 'invalid_grant');
      },
    });
    expect(r.error).toBeInstanceOf(ExecutionError);
    const outcomes = (r.calls.finish as Array<{ outcome: string; error?: { Error: string } }>).map((f) => [
      f.outcome,
      f.error?.Error,
    ]);
    // MarkChunkNeedsReauth in the child, then the parent's Catch (MarkFailed, which keeps needs_reauth).
    expect(outcomes).toEqual([
      ['needs_reauth', REAUTH_ERROR],
      ['failed', 'States.ExceedToleratedFailureThreshold'],
    ]);
  });

  it('a missing manifest fails the map with States.ItemReaderFailed', async () => {
    const r = await run('dm-nomanifest', { chunkCount: 5, mapThreshold: 0, noManifest: true, chunk: done });
    expect(r.error).toBeInstanceOf(ExecutionError);
    expect(r.calls.chunk).toHaveLength(0);
    expect(r.calls.finish[0]).toMatchObject({
      outcome: 'failed',
      error: { Error: 'States.ItemReaderFailed' },
    });
  });
});

describe('LocalObjectStore', () => {
  it('refuses keys that leave the bucket', async () => {
    await expect(objects.getObject(RENDERED_MANIFEST_BUCKET, '../../etc/passwd')).rejects.toThrow(
      /not an object of this store/,
    );
    await expect(objects.putObject('..', 'x', '[]')).rejects.toThrow(/not an object of this store/);
  });
});
