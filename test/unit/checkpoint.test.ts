import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkStore } from '../../lambdas/core/checkpoint/chunk-store.ts';
import { RecordStore } from '../../lambdas/core/checkpoint/record-store.ts';
import { RunStore } from '../../lambdas/core/checkpoint/run-store.ts';
import { CheckpointConflictError, ConfigError } from '../../lambdas/core/errors.ts';
import { startTestDynamo, type TestDynamo } from '../support/dynalite.ts';
import { TestClock } from './sync-fakes.ts';

let dynamo: TestDynamo;
let table: string;
beforeAll(async () => {
  dynamo = await startTestDynamo();
  table = dynamo.tables.checkpoints;
});
afterAll(async () => {
  await dynamo.close();
});

const ids = { hcmGoalId: 7, performanceGoalsUniqID: 'uniq-7', goalPlanId: 300 };
const source = { uri: 'goals.jsonl', format: 'jsonl' as const };

function records(runId: string, clock: TestClock, connectionId = 'conn') {
  return new RecordStore(dynamo.doc, table, { runId, connectionId, expiresAt: 1 }, { clock });
}

function claimReq(key: string, owner: string) {
  return { externalKey: key, contentHash: 'h1', chunkIndex: 0, runAttempt: 1, owner, claimTtlMs: 60_000 };
}

describe('run item', () => {
  it('creates a run, resumes the same runId with the stored chunk size and refuses a different source', async () => {
    const runs = new RunStore(dynamo.doc, table);
    const first = await runs.startRun({ runId: 'run-a', source, connectionId: 'conn', chunkSize: 50 });
    expect(first).toMatchObject({ resumed: false, run: { attempt: 1, status: 'planning', chunkSize: 50 } });
    await runs.markPlanned('run-a', 3, { totalRecords: 150, validRecords: 149, invalid: 1, bytes: 10 });
    expect(await runs.getRun('run-a')).toMatchObject({ status: 'running', chunkCount: 3 });

    const again = await runs.startRun({ runId: 'run-a', source, connectionId: 'conn', chunkSize: 10 });
    expect(again).toMatchObject({ resumed: true, run: { attempt: 2, status: 'planning', chunkSize: 50 } });
    expect(again.run.startedAt).toBe(first.run.startedAt);

    await expect(
      runs.startRun({
        runId: 'run-a',
        source: { uri: 'other.jsonl', format: 'jsonl' },
        connectionId: 'conn',
        chunkSize: 50,
      }),
    ).rejects.toBeInstanceOf(ConfigError);
  });

  it('concurrent starts of one runId: one creates, the other resumes, none is lost', async () => {
    const runs = new RunStore(dynamo.doc, table);
    const results = await Promise.allSettled([
      runs.startRun({ runId: 'run-race', source, connectionId: 'conn', chunkSize: 5 }),
      runs.startRun({ runId: 'run-race', source, connectionId: 'conn', chunkSize: 5 }),
    ]);
    const created = results.filter((r) => r.status === 'fulfilled' && !r.value.resumed);
    expect(created).toHaveLength(1);
    // The loser either resumed (attempt 2) or was told to retry: never a second "create".
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(CheckpointConflictError);
    }
  });

  it('moves to a terminal status once; failed never overwrites needs_reauth', async () => {
    const runs = new RunStore(dynamo.doc, table);
    await runs.startRun({ runId: 'run-t', source, connectionId: 'conn', chunkSize: 5 });
    expect(await runs.transition('run-t', { status: 'completed' })).toBe(true);
    expect(await runs.transition('run-t', { status: 'completed' })).toBe(false);

    await runs.startRun({ runId: 'run-r', source, connectionId: 'conn', chunkSize: 5 });
    expect(
      await runs.transition('run-r', { status: 'needs_reauth', lastError: { error: 'ReauthRequiredError' } }),
    ).toBe(true);
    expect(await runs.transition('run-r', { status: 'failed' })).toBe(false);
    expect(await runs.getRun('run-r')).toMatchObject({
      status: 'needs_reauth',
      lastError: { error: 'ReauthRequiredError' },
    });
  });

  it('stores invalid records and lists them in line order', async () => {
    const runs = new RunStore(dynamo.doc, table);
    const invalid = [
      { line: 120, reason: 'startDate: is required', key: 'G-120' },
      { line: 3, reason: 'not JSON' },
      { line: 45, reason: 'status: invalid option', key: 'G-45' },
    ];
    await runs.putInvalidRecords('run-inv', invalid);
    await runs.putInvalidRecords('run-inv', invalid); // idempotent on resume
    expect(await runs.listInvalidRecords('run-inv')).toEqual([invalid[1], invalid[2], invalid[0]]);
    expect(await runs.listInvalidRecords('run-inv', 2)).toHaveLength(2);
  });

  it('keeps the chunk snapshot with more settled records within an attempt, replaces it on a new attempt', async () => {
    const chunks = new ChunkStore(dynamo.doc, table);
    const snap = (attempt: number, settled: number) => ({
      index: 4,
      attempt,
      status: 'partial' as const,
      records: 10,
      invalid: 0,
      created: settled,
      updated: 0,
      unchanged: 0,
      reconciled: 0,
      failed: 0,
      settled,
    });
    await chunks.saveChunkSummary('run-c', snap(1, 8));
    await chunks.saveChunkSummary('run-c', snap(1, 5)); // a slower, older pass of the same attempt
    expect((await chunks.listChunkSummaries('run-c'))[0]).toMatchObject({
      attempt: 1,
      settled: 8,
      passes: 1,
    });
    await chunks.saveChunkSummary('run-c', snap(2, 2));
    expect(await chunks.listChunkSummaries('run-c')).toEqual([
      expect.objectContaining({ index: 4, attempt: 2, settled: 2, passes: 2 }),
    ]);
  });
});

describe('record checkpoints', () => {
  it('claim is exclusive until it expires; the late owner cannot complete a taken-over record', async () => {
    const clock = new TestClock();
    const store = records('run-claim', clock);
    expect(await store.claim(claimReq('K1', 'worker-a'))).toEqual({ claimed: true });
    const second = await store.claim(claimReq('K1', 'worker-b'));
    expect(second).toMatchObject({
      claimed: false,
      reason: 'owned-elsewhere',
      current: { owner: 'worker-a' },
    });

    clock.advance(60_001);
    const takeover = await store.claim(claimReq('K1', 'worker-b'));
    expect(takeover).toMatchObject({
      claimed: true,
      previous: { status: 'pending', owner: 'worker-a', attempts: 1 },
    });
    await expect(store.complete('K1', 'worker-a', 'created', ids)).rejects.toBeInstanceOf(
      CheckpointConflictError,
    );

    await store.complete('K1', 'worker-b', 'created', ids);
    const done = await store.get('K1');
    expect(done).toMatchObject({ status: 'done', action: 'created', hcmGoalId: 7, attempts: 2 });
    expect(done?.owner).toBeUndefined();
    expect(await store.claim(claimReq('K1', 'worker-c'))).toMatchObject({ claimed: false, reason: 'done' });
  });

  it('a claim of an earlier run attempt is taken over at once (the resume does not wait out the TTL)', async () => {
    const store = records('run-attempts', new TestClock());
    await store.claim(claimReq('K-old', 'dead-worker'));
    const sameAttempt = await store.claim(claimReq('K-old', 'retry-worker'));
    expect(sameAttempt).toMatchObject({ claimed: false, reason: 'owned-elsewhere' });
    const resumed = await store.claim({ ...claimReq('K-old', 'resume-worker'), runAttempt: 2 });
    expect(resumed).toMatchObject({
      claimed: true,
      previous: { status: 'pending', owner: 'dead-worker', runAttempt: 1 },
    });
    // And the older attempt cannot take it back while the new claim lives.
    expect(await store.claim(claimReq('K-old', 'dead-worker'))).toMatchObject({ claimed: false });
  });

  it('two workers racing for one record: exactly one wins', async () => {
    const store = records('run-race-rec', new TestClock());
    const results = await Promise.all(
      ['w1', 'w2', 'w3', 'w4'].map((owner) => store.claim(claimReq('K-race', owner))),
    );
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
  });

  it('failed keeps the reason and can be claimed again; ambiguous survives a takeover', async () => {
    const clock = new TestClock();
    const store = records('run-fail', clock);
    await store.claim(claimReq('K2', 'w1'));
    await store.fail('K2', 'w1', 'HCM answered 400: GoalName too long', false);
    expect(await store.get('K2')).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('400'),
      retryable: false,
    });

    await store.claim(claimReq('K3', 'w1'));
    await store.markAmbiguous('K3', 'w1');
    clock.advance(120_000);
    const next = await store.claim(claimReq('K3', 'w2'));
    expect(next).toMatchObject({ claimed: true, previous: { status: 'pending', ambiguous: true } });
  });

  it('loads record and ledger state of more keys than one BatchGetItem takes', async () => {
    const clock = new TestClock();
    const store = records('run-batch', clock);
    const keys = Array.from({ length: 130 }, (_, i) => `B-${i}`);
    await store.markUnchanged(
      keys.slice(0, 60).map((k) => ({ externalKey: k, contentHash: 'h', chunkIndex: 0, runAttempt: 1, ids })),
    );
    for (const k of keys.slice(100, 103)) await store.putLedger(k, 'hash-x', ids);
    const states = await store.loadStates([...keys, 'B-1']); // a duplicate key must not break the batch
    expect(states.size).toBe(130);
    expect(states.get('B-0')?.record).toMatchObject({ status: 'done', action: 'unchanged' });
    expect(states.get('B-100')?.ledger).toMatchObject({
      contentHash: 'hash-x',
      performanceGoalsUniqID: 'uniq-7',
    });
    expect(states.get('B-100')?.record).toBeUndefined();
    expect(states.get('B-129')).toEqual({});
  });

  it('ledger entries are per connection', async () => {
    const clock = new TestClock();
    await records('run-l1', clock, 'tenant-a').putLedger('SAME', 'hash-a', ids);
    const other = await records('run-l2', clock, 'tenant-b').loadStates(['SAME']);
    expect(other.get('SAME')?.ledger).toBeUndefined();
    const same = await records('run-l3', clock, 'tenant-a').loadStates(['SAME']);
    expect(same.get('SAME')?.ledger?.contentHash).toBe('hash-a');
  });
});
