import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChunkStore, RecordStore, type RunStore } from '#core/checkpoint/index.ts';
import { finishRun, listTwins, type MetricsSink } from '#core/sync/index.ts';
import { ConfigError } from '../../lambdas/core/errors.ts';
import type { TestDynamo } from '../support/dynalite.ts';
import { events, openCheckpointStores } from './checkpoint-stores.ts';
import { TestClock } from './sync-fakes.ts';

let dynamo: TestDynamo;
let runs: RunStore;
let chunks: ChunkStore;
beforeAll(async () => {
  ({ dynamo, runs, chunks } = await openCheckpointStores());
});
afterAll(() => dynamo.close());

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
