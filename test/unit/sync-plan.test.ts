import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChunkStore, RunStore } from '#core/checkpoint/index.ts';
import type { ChunkRef, GoalSource, SourcePlan, SourceRef } from '#core/source/index.ts';
import { fileSourceCopies, openGoalSource } from '#core/source/index.ts';
import { PAYLOAD_CHUNK_LIMIT, PAYLOAD_LIMIT_BYTES, PLAN_DEFAULTS, planRun } from '#core/sync/index.ts';
import { ConfigError } from '../../lambdas/core/errors.ts';
import type { TestDynamo } from '../support/dynalite.ts';
import { openCheckpointStores } from './checkpoint-stores.ts';
import { ArraySource, goal } from './sync-fakes.ts';

let dynamo: TestDynamo;
let runs: RunStore;
let chunks: ChunkStore;
beforeAll(async () => {
  ({ dynamo, runs, chunks } = await openCheckpointStores());
});
afterAll(() => dynamo.close());

/** A source whose plan looks like a real large JSONL file's (offsets in the megabytes, full chunk refs). */
function bigSource(goals: number, chunkSize: number, invalidEvery = 0): GoalSource {
  const bytesPerLine = 310;
  return {
    async plan(size: number): Promise<SourcePlan> {
      expect(size).toBe(chunkSize);
      const chunks: ChunkRef[] = [];
      for (let first = 1; first <= goals; first += size) {
        const count = Math.min(size, goals - first + 1);
        chunks.push({
          index: chunks.length,
          byteStart: (first - 1) * bytesPerLine,
          byteEnd: (first - 1 + count) * bytesPerLine,
          firstLine: first,
          lineCount: count,
          recordCount: count,
        });
      }
      const invalid = invalidEvery
        ? Array.from({ length: Math.floor(goals / invalidEvery) }, (_, i) => ({
            line: (i + 1) * invalidEvery,
            key: `G-${(i + 1) * invalidEvery}`,
            reason: 'targetCompletionDate: must be on or after startDate 2025-01-01',
          }))
        : [];
      return {
        totalRecords: goals,
        validRecords: goals - invalid.length,
        invalid,
        chunks,
        bytes: goals * bytesPerLine,
      };
    },
    readChunk: () => {
      throw new Error('not used by plan');
    },
  };
}

describe('planRun', () => {
  it('a source in another encoding is planned and read through a UTF-8 copy per attempt; the run keeps the original', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-copy-'));
    try {
      const header = 'externalKey;personNumber;goalName;startDate;targetCompletionDate;status;goalPlanId';
      const rows = [1, 2, 3].map((i) => `K-${i};E${i};Zoë Ångström ${i};2026-01-01;2026-12-31;NOT_STARTED;7`);
      const path = join(dir, 'excel.csv');
      writeFileSync(path, Buffer.from(`${header}\r\n${rows.join('\r\n')}\r\n`, 'latin1'));
      const deps = {
        runs,
        chunks,
        openSource: (ref: SourceRef) => openGoalSource(ref),
        sourceCopies: fileSourceCopies(join(dir, 'objects')),
      };
      const input = {
        runId: 'plan-copy',
        connectionId: 'c',
        source: { uri: path, format: 'csv' as const, encoding: 'windows-1252' },
        chunkSize: 2,
      };
      const first = await planRun(input, deps);
      expect(first.source.uri).toBe(join(dir, 'objects', 'runs', 'plan-copy', 'attempt-1', 'source.csv'));
      expect(first.source.version?.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(first.totals).toMatchObject({ totalRecords: 3, validRecords: 3, invalid: 0 });
      const names: string[] = [];
      const copy = openGoalSource(first.source);
      for (const chunk of first.chunks as ChunkRef[])
        for await (const e of copy.readChunk(chunk)) if ('record' in e) names.push(e.record.goalName);
      expect(names).toEqual(['Zoë Ångström 1', 'Zoë Ångström 2', 'Zoë Ångström 3']);
      // The run item pins the original and what it is; a resume copies it again for its own attempt.
      expect((await runs.getRun('plan-copy'))?.source).toMatchObject({ uri: path, encoding: 'windows-1252' });
      const second = await planRun({ ...input, resume: true }, deps);
      expect(second.source.uri).toContain(join('plan-copy', 'attempt-2', 'source.csv'));
      expect(second.chunks).toEqual(first.chunks);
      // Without a place for the copy, plan-sync says so instead of reading the bytes as UTF-8.
      await expect(
        planRun({ ...input, runId: 'plan-copy-2' }, { runs, chunks, openSource: deps.openSource }),
      ).rejects.toThrow(/is windows-1252, which is read through a UTF-8 copy/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('50,000 goals in chunks of 100: 500 inline chunk refs, well under the 256 KiB payload limit', async () => {
    const out = await planRun(
      { runId: 'plan-50k', connectionId: 'c', source: { uri: 'big.jsonl', format: 'jsonl' }, chunkSize: 100 },
      { runs, chunks, openSource: () => bigSource(50_000, 100, 20) },
    );
    expect(out).toMatchObject({ chunkCount: 500, chunkMode: 'inline', attempt: 1, resumed: false });
    expect(out.totals).toEqual({
      totalRecords: 50_000,
      validRecords: 47_500,
      invalid: 2_500,
      bytes: 15_500_000,
    });
    const bytes = Buffer.byteLength(JSON.stringify(out));
    expect(bytes).toBeLessThan(PAYLOAD_LIMIT_BYTES / 2);
    // Invalid records are stored, not carried in the payload.
    expect(JSON.stringify(out)).not.toContain('must be on or after');
    expect(await runs.listInvalidRecords('plan-50k')).toHaveLength(2_500);
    // What one Map iteration gets (ItemSelector adds ids and the source) is tiny.
    const item = {
      runId: out.runId,
      connectionId: out.connectionId,
      source: out.source,
      attempt: 1,
      chunk: out.chunks[499],
    };
    expect(Buffer.byteLength(JSON.stringify(item))).toBeLessThan(400);
  });

  it('switches to an index list with chunk refs in DynamoDB when the refs would be too big', async () => {
    const out = await planRun(
      { runId: 'plan-idx', connectionId: 'c', source: { uri: 'big.jsonl', format: 'jsonl' }, chunkSize: 50 },
      { runs, chunks, openSource: () => bigSource(90_000, 50) },
      { maxInlineChunks: 2_000 },
    );
    expect(out.chunkMode).toBe('indexed');
    expect(out.chunks).toHaveLength(1_800);
    expect(out.chunks[1_799]).toBe(1_799);
    expect(Buffer.byteLength(JSON.stringify(out))).toBeLessThan(16 * 1024);
    expect(await chunks.getChunkRef('plan-idx', 1_799)).toMatchObject({
      index: 1_799,
      firstLine: 89_951,
      lineCount: 50,
    });
  });

  it('refuses more chunks than an inline Map can run, and writes a manifest when deployed with one', async () => {
    const input = {
      runId: 'plan-huge',
      connectionId: 'c',
      source: { uri: 'big.jsonl', format: 'jsonl' as const },
      chunkSize: 10,
    };
    await expect(
      planRun(input, { runs, chunks, openSource: () => bigSource(30_000, 10) }),
    ).rejects.toBeInstanceOf(ConfigError);
    const written: ChunkRef[][] = [];
    const out = await planRun(
      { ...input, runId: 'plan-huge-dist' },
      {
        runs,
        chunks,
        openSource: () => bigSource(30_000, 10),
        manifest: {
          write: async (runId, attempt, chunks) => {
            written.push(chunks);
            return { bucket: 'manifests', key: `runs/${runId}/attempt-${attempt}/chunks.json` };
          },
        },
      },
    );
    expect(out).toMatchObject({
      chunkMode: 'manifest',
      chunkCount: 3_000,
      chunks: [],
      manifest: { bucket: 'manifests', key: 'runs/plan-huge-dist/attempt-1/chunks.json' },
    });
    expect(written[0]).toHaveLength(3_000);
  });

  it('writes the manifest for every run; the chunk count against mapThreshold picks the branch', async () => {
    const written: string[] = [];
    const manifest = {
      write: async (runId: string, attempt: number) => {
        written.push(runId);
        return { bucket: 'manifests', key: `runs/${runId}/attempt-${attempt}/chunks.json` };
      },
    };
    const base = { connectionId: 'c', source: { uri: 'big.jsonl', format: 'jsonl' as const }, chunkSize: 10 };
    const deps = { runs, chunks, manifest, openSource: () => bigSource(50, 10) };
    // 5 chunks: inline by default (threshold = the inline Map's limit), the list also in the payload.
    const small = await planRun({ ...base, runId: 'plan-thr-a' }, deps);
    expect(small).toMatchObject({
      map: 'inline',
      mapThreshold: PLAN_DEFAULTS.maxInlineChunks,
      chunkMode: 'inline',
    });
    expect(small.chunks).toHaveLength(5);
    // The same run with a lower threshold (goal-sync local --map-threshold 4): the Distributed Map.
    const forced = await planRun({ ...base, runId: 'plan-thr-b', mapThreshold: 4 }, deps);
    expect(forced).toMatchObject({ map: 'distributed', mapThreshold: 4, chunkMode: 'manifest', chunks: [] });
    // The deployment's threshold (MAP_THRESHOLD=0, the distributedMap flag), and exactly at the threshold.
    expect(await planRun({ ...base, runId: 'plan-thr-c' }, deps, { mapThreshold: 0 })).toMatchObject({
      map: 'distributed',
    });
    expect(await planRun({ ...base, runId: 'plan-thr-d', mapThreshold: 5 }, deps)).toMatchObject({
      map: 'inline',
    });
    expect(written).toEqual(['plan-thr-a', 'plan-thr-b', 'plan-thr-c', 'plan-thr-d']);
    // A threshold above what an inline Map can take is refused before anything is written.
    await expect(
      planRun({ ...base, runId: 'plan-thr-e', mapThreshold: PLAN_DEFAULTS.maxInlineChunks + 1 }, deps),
    ).rejects.toThrow(/mapThreshold must be a whole number from 0 to 765/);
    expect(await runs.getRun('plan-thr-e')).toBeUndefined();
  });

  it('the default threshold is the history limit (765 chunks), well under the payload limit', () => {
    expect(PLAN_DEFAULTS.maxInlineChunks).toBe(765);
    expect(PAYLOAD_CHUNK_LIMIT).toBeGreaterThan(30_000);
  });

  it('a resume re-plans with the stored chunk size and the next attempt number', async () => {
    const source = ArraySource.of([goal(1), goal(2), goal(3)], [2]);
    const input = {
      runId: 'plan-resume',
      connectionId: 'c',
      source: { uri: 'x.jsonl', format: 'jsonl' as const },
    };
    const first = await planRun({ ...input, chunkSize: 2 }, { runs, chunks, openSource: () => source });
    const second = await planRun({ ...input, chunkSize: 3 }, { runs, chunks, openSource: () => source });
    expect(second).toMatchObject({ resumed: true, attempt: 2, chunkSize: 2 });
    expect(second.chunks).toEqual(first.chunks);
    expect(await runs.listInvalidRecords('plan-resume')).toEqual([
      { line: 2, reason: 'status: invalid option' },
    ]);
  });
});
