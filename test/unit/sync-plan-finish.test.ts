import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkStore, RecordStore, RunStore } from '#core/checkpoint/index.ts';
import type { ChunkRef, GoalSource, SourcePlan, SourceRef } from '#core/source/index.ts';
import { fileSourceCopies, openGoalSource } from '#core/source/index.ts';
import {
  finishRun,
  listTwins,
  type MetricsSink,
  PAYLOAD_CHUNK_LIMIT,
  PAYLOAD_LIMIT_BYTES,
  PLAN_DEFAULTS,
  planRun,
} from '#core/sync/index.ts';
import { ConfigError, SourceChangedError } from '../../lambdas/core/errors.ts';
import type { EventPublisher, EventType } from '../../lambdas/core/ports.ts';
import { generateGoals } from '../../local/sample/generate.ts';
import { startTestDynamo, type TestDynamo } from '../support/dynalite.ts';
import { ArraySource, goal, TestClock } from './sync-fakes.ts';

let dynamo: TestDynamo;
let runs: RunStore;
let chunks: ChunkStore;
beforeAll(async () => {
  dynamo = await startTestDynamo();
  runs = new RunStore(dynamo.doc, dynamo.tables.checkpoints);
  chunks = new ChunkStore(dynamo.doc, dynamo.tables.checkpoints);
});
afterAll(async () => {
  await dynamo.close();
});

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

const events = () => {
  const published: Array<{ type: EventType; detail: Record<string, unknown> }> = [];
  const publisher: EventPublisher = {
    publish: async (type, detail) => {
      published.push({ type, detail });
    },
  };
  return { published, publisher };
};

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

describe('planRun with a version pinned in the input (goal-sync start --upload)', () => {
  let uploaded: Buffer;
  beforeAll(async () => {
    const lines: string[] = [];
    for await (const line of generateGoals({ goals: 3, invalidRate: 0, seed: 8, format: 'jsonl' }))
      lines.push(line);
    uploaded = Buffer.from(`${lines.join('\n')}\n`);
  });
  const overwritten = Buffer.from('{"externalKey": "OTHER"}\n');

  it('reads the pinned S3 version even after the key was overwritten', async () => {
    // The key now holds v2; the execution input names v1, the version the upload wrote.
    const s3 = new S3Client({ region: 'eu-west-1' });
    const mock = mockClient(s3);
    const object = (versionId: string | undefined) => (versionId === 'v1' ? uploaded : overwritten);
    mock.on(HeadObjectCommand).callsFake(({ VersionId }: { VersionId?: string }) => ({
      ContentLength: object(VersionId).length,
      ETag: VersionId === 'v1' ? '"e1"' : '"e2"',
      VersionId: VersionId ?? 'v2',
    }));
    mock
      .on(GetObjectCommand)
      .callsFake(
        ({ VersionId }: { VersionId?: string }) =>
          ({ Body: Readable.from([object(VersionId)]) }) as unknown as GetObjectCommandOutput,
      );
    try {
      const version = { size: uploaded.length, etag: '"e1"', versionId: 'v1' };
      const out = await planRun(
        {
          runId: 'plan-pinned-s3',
          connectionId: 'c',
          source: { uri: 's3://goal-sync-source/uploads/r/goals.jsonl', format: 'jsonl', version },
        },
        { runs, chunks, openSource: (ref) => openGoalSource(ref, { s3 }) },
      );
      expect(out.totals).toMatchObject({ totalRecords: 3, validRecords: 3, invalid: 0 });
      expect((await runs.getRun('plan-pinned-s3'))?.source.version).toEqual(version);
      const versionsAsked = [
        ...mock.commandCalls(HeadObjectCommand).map((c) => c.args[0].input.VersionId),
        ...mock.commandCalls(GetObjectCommand).map((c) => c.args[0].input.VersionId),
      ];
      expect(versionsAsked.length).toBeGreaterThan(1);
      expect(new Set(versionsAsked)).toEqual(new Set(['v1']));
    } finally {
      mock.restore();
    }
  });

  it('refuses a source that is not the pinned version, and creates no run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-pinned-'));
    try {
      const path = join(dir, 'goals.jsonl');
      writeFileSync(path, overwritten);
      const plan = planRun(
        {
          runId: 'plan-pinned-file',
          connectionId: 'c',
          source: { uri: path, format: 'jsonl', version: { size: uploaded.length, sha256: 'ab'.repeat(32) } },
        },
        { runs, chunks, openSource: (ref) => openGoalSource(ref) },
      );
      await expect(plan).rejects.toThrow(SourceChangedError);
      await expect(plan).rejects.toThrow(
        /not the version the execution input pins \(size \d+ -> \d+ bytes\)/,
      );
      expect(await runs.getRun('plan-pinned-file')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('finishRun', () => {
  async function plannedRun(
    runId: string,
    valid: number,
    invalid: number,
    chunkCount: number,
    verify = false,
  ) {
    await runs.startRun({
      runId,
      source: { uri: 'x.jsonl', format: 'jsonl' },
      connectionId: 'c',
      chunkSize: 10,
    });
    await runs.markPlanned(
      runId,
      chunkCount,
      {
        totalRecords: valid + invalid,
        validRecords: valid,
        invalid,
        bytes: 1,
      },
      verify,
    );
  }
  const summary = (index: number, created: number, failed = 0) => ({
    index,
    attempt: 1,
    status: 'complete' as const,
    records: created + failed,
    invalid: 0,
    created,
    updated: 0,
    unchanged: 0,
    reconciled: 0,
    failed,
    settled: created + failed,
  });

  it('aggregates complete chunk snapshots, writes the report, emits one event and the metrics once', async () => {
    await plannedRun('fin-a', 20, 2, 2);
    await chunks.saveChunkSummary('fin-a', summary(0, 10));
    await chunks.saveChunkSummary('fin-a', summary(1, 9, 1));
    const { published, publisher } = events();
    const metrics: Array<[string, number]> = [];
    const sink = {
      addMetric: (name: string, _unit: unknown, value: number) => {
        metrics.push([name, value]);
      },
    } as unknown as MetricsSink;
    const clock = new TestClock(Date.now() + 5_000);

    const out = await finishRun(
      { runId: 'fin-a' },
      { runs, chunks, events: publisher, metrics: sink, clock },
    );
    expect(out).toMatchObject({
      status: 'completed_with_failures',
      aggregation: 'chunks',
      changed: true,
      goals: { total: 22, created: 19, failed: 1, invalid: 2, unsettled: 0 },
    });
    expect(published).toEqual([
      {
        type: 'sync.completed',
        detail: expect.objectContaining({ runId: 'fin-a', status: 'completed_with_failures' }),
      },
    ]);
    expect(metrics).toContainEqual(['SyncDurationMs', expect.any(Number)]);
    expect(await runs.getReport('fin-a')).toMatchObject({
      status: 'completed_with_failures',
      goals: { created: 19 },
    });

    const retried = await finishRun(
      { runId: 'fin-a' },
      { runs, chunks, events: publisher, metrics: sink, clock },
    );
    expect(retried).toMatchObject({ status: 'completed_with_failures', changed: false });
    expect(published).toHaveLength(1);
    expect(metrics.filter(([n]) => n === 'SyncDurationMs')).toHaveLength(1);
  });

  it('counts unsettled records from complete chunk snapshots: status, event and metric', async () => {
    await plannedRun('fin-u', 20, 0, 2);
    await chunks.saveChunkSummary('fin-u', summary(0, 10));
    await chunks.saveChunkSummary('fin-u', { ...summary(1, 7), unsettled: 3, settled: 10 });
    const { published, publisher } = events();
    const metrics: Array<[string, number]> = [];
    const sink = {
      addMetric: (name: string, _unit: unknown, value: number) => {
        metrics.push([name, value]);
      },
    } as unknown as MetricsSink;
    const out = await finishRun({ runId: 'fin-u' }, { runs, chunks, events: publisher, metrics: sink });
    expect(out).toMatchObject({
      status: 'completed_with_failures',
      aggregation: 'chunks',
      goals: { created: 17, failed: 0, unsettled: 3 },
    });
    expect(published[0]?.detail).toMatchObject({ goals: { unsettled: 3 } });
    expect(metrics).toContainEqual(['GoalsUnsettled', 3]);
  });

  it('reports twins of ours (goals.twins) and says so in an event of their own; a run without has neither', async () => {
    await plannedRun('fin-t', 20, 0, 2);
    const twin = {
      externalKey: 'k1',
      keep: { goalId: 1, ref: { goalPlanId: 7, path: '/g/1', uniqId: 'u1' } },
      younger: [{ goalId: 2, ref: { goalPlanId: 7, path: '/g/2', uniqId: 'u2' }, etag: 'e2' }],
      postsSent: 2,
    };
    await chunks.saveChunkSummary('fin-t', { ...summary(0, 10), twins: 1, twinList: [twin] });
    await chunks.saveChunkSummary('fin-t', summary(1, 10));
    const { published, publisher } = events();
    const out = await finishRun({ runId: 'fin-t' }, { runs, chunks, events: publisher });
    // Twins are no failure of this run: every record was written; a person decides about the younger.
    expect(out).toMatchObject({ status: 'completed', goals: { created: 20, twins: 1 } });
    expect(published.map((p) => p.type)).toEqual(['sync.completed', 'sync.twins_found']);
    expect(published[1]?.detail).toEqual({
      runId: 'fin-t',
      connectionId: 'c',
      twins: 1,
      next: 'goal-sync twins --run-id fin-t',
    });
    expect(await listTwins(chunks, 'fin-t')).toEqual([twin]);

    await plannedRun('fin-t0', 10, 0, 1);
    await chunks.saveChunkSummary('fin-t0', summary(0, 10));
    const none = events();
    const plain = await finishRun({ runId: 'fin-t0' }, { runs, chunks, events: none.publisher });
    expect(plain.goals.twins).toBeUndefined();
    expect(none.published.map((p) => p.type)).toEqual(['sync.completed']);
  });

  it('falls back to counting record checkpoints when snapshots are missing, and reports unsettled goals', async () => {
    await plannedRun('fin-b', 4, 0, 2);
    await chunks.saveChunkSummary('fin-b', summary(0, 2));
    const store = new RecordStore(dynamo.doc, dynamo.tables.checkpoints, {
      runId: 'fin-b',
      connectionId: 'c',
      expiresAt: 1,
    });
    const ids = { hcmGoalId: 1, performanceGoalsUniqID: 'u', goalPlanId: 1, goalPath: '/g/u' };
    for (const [key, action] of [
      ['A', 'created'],
      ['B', 'reconciled'],
    ] as const) {
      await store.complete(key, { contentHash: 'h', chunkIndex: 0, runAttempt: 1, action, ids });
    }
    // C's write may have reached HCM unseen: unsettled. D was claimed but never finished: no record
    // checkpoint at all. Both count as unsettled, under the one name.
    await store.unsettle('C', { contentHash: 'h', chunkIndex: 0, runAttempt: 1 }, 'POST answered 504');
    const { publisher, published } = events();
    const out = await finishRun({ runId: 'fin-b' }, { runs, chunks, events: publisher });
    expect(out).toMatchObject({
      aggregation: 'records',
      status: 'completed_with_failures',
      goals: { created: 1, reconciled: 1, failed: 0, unsettled: 2 },
    });
    expect(published).toEqual([
      expect.objectContaining({
        type: 'sync.completed',
        detail: expect.objectContaining({ goals: expect.objectContaining({ unsettled: 2 }) }),
      }),
    ]);
  });

  it('a verify run reports what its chunks found and repaired: from the snapshots, and from the records', async () => {
    const metrics: Array<[string, number]> = [];
    const sink = {
      addMetric: (name: string, _unit: unknown, value: number) => {
        metrics.push([name, value]);
      },
    } as unknown as MetricsSink;
    // Snapshots: chunk 0 repaired one missing and one drifted goal; chunk 1 failed to repair a drifted one.
    await plannedRun('fin-verify', 20, 0, 2, true);
    await chunks.saveChunkSummary('fin-verify', {
      ...summary(0, 10),
      verifyMissing: 1,
      verifyDrifted: 1,
      verifyRepaired: 2,
    });
    await chunks.saveChunkSummary('fin-verify', {
      ...summary(1, 9, 1),
      verifyMissing: 0,
      verifyDrifted: 1,
      verifyRepaired: 0,
    });
    const fast = await finishRun(
      { runId: 'fin-verify' },
      { runs, chunks, events: events().publisher, metrics: sink },
    );
    expect(fast.aggregation).toBe('chunks');
    expect(fast.goals.verify).toEqual({ missing: 1, drifted: 2, repaired: 2 });
    expect((await runs.getRun('fin-verify'))?.counts?.verify).toEqual({
      missing: 1,
      drifted: 2,
      repaired: 2,
    });
    expect(await runs.getReport('fin-verify')).toMatchObject({ goals: { verify: { repaired: 2 } } });
    expect(metrics).toContainEqual(['GoalsRepaired', 2]);
    expect(metrics).toContainEqual(['GoalsFoundDrifted', 2]);

    // Records (no snapshots): the finding each record checkpoint carries.
    await plannedRun('fin-verify-records', 3, 0, 1, true);
    const store = new RecordStore(dynamo.doc, dynamo.tables.checkpoints, {
      runId: 'fin-verify-records',
      connectionId: 'c',
      expiresAt: 1,
    });
    const ids = { hcmGoalId: 1, performanceGoalsUniqID: 'u', goalPlanId: 1, goalPath: '/g/u' };
    const progress = { contentHash: 'h', chunkIndex: 0, runAttempt: 1 };
    await store.complete('A', { ...progress, action: 'created', ids, verifyFinding: 'missing' });
    await store.complete('B', { ...progress, action: 'updated', ids, verifyFinding: 'drifted' });
    await store.fail('C', { ...progress, verifyFinding: 'drifted' }, 'HTTP 400', false);
    const exact = await finishRun(
      { runId: 'fin-verify-records' },
      { runs, chunks, events: events().publisher },
    );
    expect(exact.aggregation).toBe('records');
    expect(exact.goals.verify).toEqual({ missing: 1, drifted: 2, repaired: 2 });

    // A run that is not a verify pass reports no verify block.
    await plannedRun('fin-plain', 1, 0, 1);
    await chunks.saveChunkSummary('fin-plain', summary(0, 1));
    const plain = await finishRun({ runId: 'fin-plain' }, { runs, chunks, events: events().publisher });
    expect(plain.goals.verify).toBeUndefined();
  });

  it('marks needs_reauth with the masked error; a later failed outcome does not overwrite it', async () => {
    await plannedRun('fin-c', 3, 0, 1);
    const { published, publisher } = events();
    const jwt = `eyJhbGciOiJSUzI1NiJ9.${'a'.repeat(40)}.${'b'.repeat(40)}`;
    const out = await finishRun(
      {
        runId: 'fin-c',
        outcome: 'needs_reauth',
        error: { Error: 'ReauthRequiredError', Cause: `grant dead for ${jwt}` },
      },
      { runs, chunks, events: publisher },
    );
    expect(out.status).toBe('needs_reauth');
    expect(published.map((p) => p.type)).toEqual(['sync.failed']);
    const run = await runs.getRun('fin-c');
    expect(run?.lastError?.cause).not.toContain(jwt);

    const later = await finishRun({ runId: 'fin-c', outcome: 'failed' }, { runs, chunks, events: publisher });
    expect(later).toMatchObject({ status: 'needs_reauth', changed: false });
    expect(published).toHaveLength(1);
  });

  it('an unknown run is a ConfigError', async () => {
    await expect(
      finishRun({ runId: 'nope' }, { runs, chunks, events: events().publisher }),
    ).rejects.toBeInstanceOf(ConfigError);
  });
});
