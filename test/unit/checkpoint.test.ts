import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkStore, GoalLedger, RecordStore, RunStore } from '#core/checkpoint/index.ts';
import { CheckpointConflictError, ClaimLostError, ConfigError } from '../../lambdas/core/errors.ts';
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

const ids = { hcmGoalId: 7, performanceGoalsUniqID: 'uniq-7', goalPlanId: 300, goalPath: '/g/uniq-7' };
const source = { uri: 'goals.jsonl', format: 'jsonl' as const };

function records(runId: string, clock: TestClock, connectionId = 'conn') {
  return new RecordStore(dynamo.doc, table, { runId, connectionId, expiresAt: 1 }, { clock });
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

describe('goal ledger: claims and commits (invariant 7)', () => {
  const timing = { claimTtlMs: 60_000, requestTimeoutMs: 10_000, visibilityMs: 30_000, marginMs: 2_000 };
  const ledger = (clock: TestClock, runId = 'run-claim', connectionId = 'conn') =>
    new GoalLedger(dynamo.doc, table, { runId, connectionId }, timing, { clock });
  const commit = { contentHash: 'h1', ids, personNumber: 'E1', action: 'created' as const };

  it('a claim is exclusive until it expires; the late owner can neither write nor commit', async () => {
    const clock = new TestClock();
    const l = ledger(clock);
    expect(await l.claim('K1', 'worker-a')).toEqual({ claimed: true });
    const second = await l.claim('K1', 'worker-b');
    expect(second).toMatchObject({ claimed: false, current: { claimOwner: 'worker-a' } });

    clock.advance(60_001);
    expect(await l.claim('K1', 'worker-b')).toMatchObject({
      claimed: true,
      previous: { claimOwner: 'worker-a' },
    });
    await expect(l.beginWrite('K1', 'worker-a', 'POST')).rejects.toBeInstanceOf(ClaimLostError);
    await expect(l.commit('K1', 'worker-a', commit)).rejects.toBeInstanceOf(ClaimLostError);

    await l.beginWrite('K1', 'worker-b', 'POST');
    await l.commit('K1', 'worker-b', commit);
    const done = await l.get('K1');
    expect(done).toMatchObject({
      contentHash: 'h1',
      hcmGoalId: 7,
      personNumber: 'E1',
      lastAction: 'created',
    });
    expect(done?.claimOwner).toBeUndefined();
    expect(done?.writeStartedAt).toBeUndefined();
  });

  it('claims of another run or attempt are never taken over before they expire', async () => {
    const clock = new TestClock();
    await ledger(clock, 'run-1').claim('K-old', 'attempt-1-worker');
    const resumed = await ledger(clock, 'run-1b').claim('K-old', 'resume-worker');
    expect(resumed).toMatchObject({ claimed: false });
    const other = await ledger(clock, 'run-2').claim('K-old', 'other-run-worker');
    expect(other).toMatchObject({ claimed: false });
  });

  it('a holder that started a write and vanished blocks everyone until the write would be visible', async () => {
    const clock = new TestClock();
    const l = new GoalLedger(
      dynamo.doc,
      table,
      { runId: 'r', connectionId: 'conn' },
      { ...timing, visibilityMs: 90_000 },
      { clock },
    );
    await l.claim('K-dead', 'dead');
    await l.beginWrite('K-dead', 'dead', 'POST');
    clock.advance(60_001); // claim expired ...
    const early = await l.claim('K-dead', 'next');
    // ... but request timeout + visibility (100 s after the write began) has not passed
    expect(early).toMatchObject({ claimed: false, until: expect.any(Number) });
    clock.advance(40_000);
    expect(await l.claim('K-dead', 'next')).toMatchObject({
      claimed: true,
      previous: { writeStartedAt: expect.any(Number) },
    });
  });

  it('an unclear write releases the claim, hides the record for the visibility window and counts', async () => {
    const clock = new TestClock();
    const l = ledger(clock);
    await l.claim('K3', 'w1');
    await l.beginWrite('K3', 'w1', 'POST');
    const first = await l.markUnclear('K3', 'w1');
    expect(first).toEqual({ visibleAfter: clock.now() + 30_000, unclearWrites: 1 });
    expect(await l.claim('K3', 'w1')).toMatchObject({ claimed: false, until: first.visibleAfter });
    clock.advance(30_000);
    const next = await l.claim('K3', 'w2');
    expect(next).toMatchObject({ claimed: true, previous: { ambiguous: true, unclearWrites: 1 } });
    // Settled (HCM refused the next write outright): the reconcile flags go with the claim.
    await l.release('K3', 'w2', true);
    const after = await l.get('K3');
    expect(after?.ambiguous).toBeUndefined();
    expect(after?.claimOwner).toBeUndefined();
  });

  it('postsSent counts the creates that reached HCM or may have, and outlives every commit', async () => {
    const clock = new TestClock();
    const l = ledger(clock);
    const ids = { hcmGoalId: 1, performanceGoalsUniqID: 'u', goalPlanId: 7, goalPath: '/g/u' };
    const commit = { contentHash: 'h', ids, personNumber: 'P1' };
    // An unclear POST may have created a goal: one.
    await l.claim('K-posts', 'w1');
    await l.beginWrite('K-posts', 'w1', 'POST');
    await l.markUnclear('K-posts', 'w1', true);
    clock.advance(30_001);
    // A POST that left and was refused (or never left) counts nothing; a committed create does: two.
    await l.claim('K-posts', 'w2');
    await l.beginWrite('K-posts', 'w2', 'POST');
    await l.release('K-posts', 'w2', true);
    expect((await l.get('K-posts'))?.postsSent).toBe(1);
    await l.claim('K-posts', 'w3');
    await l.beginWrite('K-posts', 'w3', 'POST');
    await l.commit('K-posts', 'w3', { ...commit, action: 'created' });
    expect((await l.get('K-posts'))?.postsSent).toBe(2);
    // An unclear PATCH and an update commit are no creates; the count stays through them.
    await l.claim('K-posts', 'w4');
    await l.beginWrite('K-posts', 'w4', 'PATCH');
    await l.markUnclear('K-posts', 'w4');
    clock.advance(30_001);
    await l.claim('K-posts', 'w5');
    await l.commit('K-posts', 'w5', { ...commit, action: 'updated' });
    expect((await l.get('K-posts'))?.postsSent).toBe(2);
  });

  it('a renewal that returns too late for the request to fit in the claim is not a go-ahead', async () => {
    const clock = new TestClock();
    const slowDoc = {
      send: async (cmd: unknown) => {
        // The renewal is applied, but answers 50 s later: 10 s left, less than request + margin.
        const out = await dynamo.doc.send(cmd as never);
        clock.advance(50_000);
        return out;
      },
    } as unknown as typeof dynamo.doc;
    const l = new GoalLedger(slowDoc, table, { runId: 'r', connectionId: 'conn' }, timing, { clock });
    await ledger(clock).claim('K-slow', 'w1');
    await expect(l.beginWrite('K-slow', 'w1', 'POST')).rejects.toThrow(/took too long/);
  });

  it('two workers racing for one record: exactly one wins', async () => {
    const l = ledger(new TestClock());
    const results = await Promise.all(['w1', 'w2', 'w3', 'w4'].map((owner) => l.claim('K-race', owner)));
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
  });

  it('a claim TTL that leaves no room for a request is refused up front', () => {
    expect(
      () =>
        new GoalLedger(
          dynamo.doc,
          table,
          { runId: 'r', connectionId: 'c' },
          { ...timing, claimTtlMs: 12_000 },
        ),
    ).toThrow(/no room/);
  });
});

describe('record checkpoints', () => {
  const progress = { contentHash: 'h', chunkIndex: 0, runAttempt: 1 };

  it('failed keeps the reason and never overwrites done', async () => {
    const store = records('run-fail', new TestClock());
    await store.fail('K2', progress, 'HCM answered 400: GoalName too long', false);
    expect(await store.get('K2')).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('400'),
      retryable: false,
    });
    await store.complete('K4', { ...progress, action: 'created', ids });
    await store.fail('K4', progress, 'late failure of a slower duplicate', true);
    expect(await store.get('K4')).toMatchObject({ status: 'done', action: 'created' });
  });

  it('loads record and ledger state of more keys than one BatchGetItem takes', async () => {
    const clock = new TestClock();
    const store = records('run-batch', clock);
    const l = new GoalLedger(dynamo.doc, table, { runId: 'run-batch', connectionId: 'conn' }, undefined, {
      clock,
    });
    const keys = Array.from({ length: 130 }, (_, i) => `B-${i}`);
    await store.markUnchanged(
      keys.slice(0, 60).map((k) => ({ externalKey: k, contentHash: 'h', chunkIndex: 0, runAttempt: 1, ids })),
    );
    for (const k of keys.slice(100, 103)) {
      await l.claim(k, 'w');
      await l.commit(k, 'w', { contentHash: 'hash-x', ids, personNumber: 'E1', action: 'created' });
    }
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
    const a = new GoalLedger(dynamo.doc, table, { runId: 'run-l1', connectionId: 'tenant-a' }, undefined, {
      clock,
    });
    await a.claim('SAME', 'w');
    await a.commit('SAME', 'w', { contentHash: 'hash-a', ids, personNumber: 'E1', action: 'created' });
    const other = await records('run-l2', clock, 'tenant-b').loadStates(['SAME']);
    expect(other.get('SAME')?.ledger).toBeUndefined();
    const same = await records('run-l3', clock, 'tenant-a').loadStates(['SAME']);
    expect(same.get('SAME')?.ledger?.contentHash).toBe('hash-a');
  });
});
