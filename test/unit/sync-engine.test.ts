import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkStore, GoalLedger, RecordStore } from '#core/checkpoint/index.ts';
import { DEFAULT_GOAL_MAPPING, type GoalPayload, toGoalPayload } from '#core/hcm/index.ts';
import type { GoalRecord } from '#core/source/index.ts';
import { type EngineOptions, processChunk } from '#core/sync/index.ts';
import {
  AmbiguousWriteError,
  ConnectionRecoveringError,
  HcmRequestError,
  ReauthRequiredError,
} from '../../lambdas/core/errors.ts';
import { startTestDynamo, type TestDynamo } from '../support/dynalite.ts';
import { ArraySource, FakeHcm, fakeAssignee, goal, TestClock } from './sync-fakes.ts';

/** A record's goal as HCM would hold it after a create: the mapped attributes and its worker. */
function heldGoal(r: GoalRecord): GoalPayload {
  const worker = fakeAssignee(r.personNumber);
  return { ...toGoalPayload(r), PersonId: worker.PersonId, AssignmentId: worker.AssignmentId };
}

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo.close();
});

let runCounter = 0;
const ample = () => 600_000;

interface Harness {
  runId: string;
  connectionId: string;
  clock: TestClock;
  hcm: FakeHcm;
  records: RecordStore;
  ledger: GoalLedger;
  chunks: ChunkStore;
  pass(
    source: ArraySource,
    opts?: { attempt?: number; worker?: string; remaining?: () => number; engine?: EngineOptions },
  ): ReturnType<typeof processChunk>;
}

function harness(
  connectionId = `conn-${++runCounter}`,
  hcm = new FakeHcm(),
  runId = `run-${++runCounter}`,
): Harness {
  const clock = new TestClock();
  const records = new RecordStore(
    dynamo.doc,
    dynamo.tables.checkpoints,
    { runId, connectionId, expiresAt: 1 },
    { clock },
  );
  const chunks = new ChunkStore(dynamo.doc, dynamo.tables.checkpoints, { clock });
  const ledger = new GoalLedger(dynamo.doc, dynamo.tables.checkpoints, { runId, connectionId }, undefined, {
    clock,
  });
  return {
    runId,
    connectionId,
    clock,
    hcm,
    records,
    ledger,
    chunks,
    pass: (source, opts = {}) =>
      processChunk(
        { runId, connectionId, attempt: opts.attempt ?? 1, chunk: source.chunk() },
        {
          source,
          hcm,
          records,
          chunks,
          workerId: opts.worker ?? 'worker-1',
          remainingTimeMs: opts.remaining ?? ample,
          clock,
        },
        { minTimeMarginMs: 1_000, ...opts.engine },
      ),
  };
}

const records = (n: number, from = 0): GoalRecord[] => Array.from({ length: n }, (_, i) => goal(from + i));

describe('processChunk', () => {
  it('creates new goals with one prefetch per person, then skips them as already done', async () => {
    const h = harness();
    const source = ArraySource.of(records(9), [4]); // 9 goals of 3 persons + 1 invalid line
    const first = await h.pass(source);
    expect(first.status).toBe('complete');
    expect(first.counts).toMatchObject({ created: 9, invalid: 1, failed: 0, remaining: 0, alreadyDone: 0 });
    expect(h.hcm.goals).toHaveLength(9);
    // 3 persons x 3 goals: one findByPerson each instead of nine natural-key finders.
    expect(h.hcm.calls).toEqual({ findByNaturalKey: 0, findByPerson: 3, create: 9, update: 0 });
    // ... plus each worker's assignments on the plan, once per worker for all their records.
    expect(h.hcm.assigneeReads).toBe(3);
    expect(first.counts.hcmRequests).toBe(15);

    const done = await h.records.get('G-00000');
    expect(done).toMatchObject({ status: 'done', action: 'created', hcmGoalId: h.hcm.goals[0]!.GoalId });

    h.hcm.resetCalls();
    const again = await h.pass(source);
    expect(again.counts).toMatchObject({ alreadyDone: 9, created: 0, invalid: 1, hcmRequests: 0 });
    expect(h.hcm.totalCalls()).toBe(0);
  });

  it("a person's goals in two plans: one finder per plan (the plan child collection), adopting only same-plan goals", async () => {
    const h = harness();
    // P0000: goals 0 and 1 in plan 300, goal 2 in plan 301. P0001: goals 3-5, all in plan 300.
    const input = records(6).map((r, i) => (i === 2 ? { ...r, goalPlanId: 301 } : r));
    // HCM already holds "Goal 0" of P0000, but in the other plan: not the same goal.
    await h.hcm.create(301, { ...heldGoal(input[0]!), Description: 'other plan' });
    h.hcm.resetCalls();
    const result = await h.pass(ArraySource.of(input));
    expect(result.counts).toMatchObject({ created: 6, updated: 0, reconciled: 0 });
    // P0000's two goals in plan 300 and P0001's three: a worker finder each; P0000's one goal in
    // plan 301: the natural-key finder. Never the top-level resource, never across plans.
    expect(h.hcm.calls).toEqual({ findByNaturalKey: 1, findByPerson: 2, create: 6, update: 0 });
    expect([...h.hcm.findByPersonPlans].sort()).toEqual([300, 300]);
    expect(h.hcm.goals.filter((g) => g.GoalName === 'Goal 0')).toHaveLength(2);
  });

  it('binds a client that offers withTimeBudget to the invocation clock', async () => {
    const budgets: Array<() => number> = [];
    const hcm = new FakeHcm();
    const bound = Object.assign(Object.create(hcm) as FakeHcm, {
      withTimeBudget(remaining: () => number) {
        budgets.push(remaining);
        return hcm;
      },
    });
    const h = harness(undefined, bound);
    const remaining = () => 123_456;
    const result = await h.pass(ArraySource.of(records(3)), { remaining });
    expect(result.counts.created).toBe(3);
    expect(budgets).toEqual([remaining]);
    expect(hcm.goals).toHaveLength(3);
  });

  it('a new run over unchanged goals makes no HCM call; a changed goal is PATCHed by its ledger ids', async () => {
    const connectionId = `conn-${++runCounter}`;
    const hcm = new FakeHcm();
    await harness(connectionId, hcm).pass(ArraySource.of(records(6)));
    hcm.resetCalls();

    const changed = records(6);
    changed[2] = { ...changed[2]!, status: 'IN_PROGRESS', percentComplete: 40 };
    const second = harness(connectionId, hcm);
    const result = await second.pass(ArraySource.of(changed));
    expect(result.counts).toMatchObject({ unchanged: 5, updated: 1, created: 0 });
    expect(hcm.calls).toEqual({ findByNaturalKey: 0, findByPerson: 0, create: 0, update: 1 });
    expect(hcm.goals.find((g) => g.GoalName === 'Goal 2')).toMatchObject({
      StatusCode: 'IN_PROGRESS',
      PercentCompletion: '25',
    });
    expect(await second.records.get('G-00001')).toMatchObject({ status: 'done', action: 'unchanged' });

    hcm.resetCalls();
    const third = await harness(connectionId, hcm).pass(ArraySource.of(changed));
    expect(third.counts).toMatchObject({ unchanged: 6 });
    expect(hcm.totalCalls()).toBe(0);
  });

  it('reconciles a record left pending by a crash: finds the committed goal and does not create it again', async () => {
    const h = harness();
    const g = goal(1);
    // Worker A claimed the record and its POST committed, then it died before committing the ledger.
    await h.ledger.claim(g.externalKey, 'dead');
    await h.ledger.beginWrite(g.externalKey, 'dead', 'POST');
    await h.hcm.create(g.goalPlanId, {
      ...heldGoal(g),
    });
    h.hcm.resetCalls();

    // Goal 1 shares its person with goals 0 and 2 (which the prefetch covers); it is looked up by itself.
    const source = ArraySource.of([goal(0), g, goal(2)]);
    // Before the claim expires the record is someone else's: partial, with a wait.
    const early = await h.pass(source, { engine: { concurrency: 1 } });
    expect(early).toMatchObject({ status: 'partial', counts: { remaining: 1, created: 2 } });
    expect(early.waitSeconds).toBeGreaterThanOrEqual(1);
    expect(h.hcm.calls).toEqual({ findByNaturalKey: 0, findByPerson: 1, create: 2, update: 0 });

    h.hcm.resetCalls();
    h.clock.advance(120_001); // the claim's TTL (the write became visible 70 s after it began)
    // The export gained a goal for the same person: it is what makes this pass prefetch the person.
    const newcomer = goal(99, { personNumber: g.personNumber });
    const result = await h.pass(ArraySource.of([goal(0), g, goal(2), newcomer]));
    expect(result).toMatchObject({
      status: 'complete',
      counts: { reconciled: 1, created: 1, alreadyDone: 2 },
    });
    // Reconcile first: a fresh natural-key finder for the pending record, not the person prefetch.
    expect(h.hcm.calls).toEqual({ findByNaturalKey: 1, findByPerson: 1, create: 1, update: 0 });
    expect(h.hcm.goals).toHaveLength(4);
    expect(await h.records.get(g.externalKey)).toMatchObject({ status: 'done', action: 'reconciled' });
  });

  it('an unclear create is never POSTed again while it may land: a read that sees it adopts, one that does not leaves it unsettled until the settle horizon', async () => {
    const h = harness();
    const [a, b] = [goal(10), goal(20)];
    h.hcm.afterCreate = (created, call) => {
      // The first POST commits but the answer is lost (commit-then-drop).
      if (call === 1 && created.GoalName === a.goalName)
        throw new AmbiguousWriteError('POST goals', 'socket hang up');
    };
    h.hcm.beforeCreate = (payload, call) => {
      // A POST for b times out before HCM stored anything: also ambiguous from the client's side.
      if (payload.GoalName === b.goalName && call <= 2)
        throw new AmbiguousWriteError('POST goals', 'timeout');
    };
    const first = await h.pass(ArraySource.of([a, b]), { engine: { concurrency: 1 } });
    expect(first).toMatchObject({
      status: 'partial',
      counts: { remaining: 2, unclearWrites: 2, created: 0 },
    });
    // One lookup each before the create, none after the unclear answer.
    expect(h.hcm.calls).toMatchObject({ create: 2, findByNaturalKey: 2 });
    // Waits out the visibility window (60 s by default) before anyone looks.
    expect(first.waitSeconds).toBe(60);
    const tooEarly = await h.pass(ArraySource.of([a, b]), { worker: 'worker-2' });
    expect(tooEarly.counts).toMatchObject({ remaining: 2 });
    expect(h.hcm.calls.create).toBe(2);

    h.clock.advance(60_000);
    const second = await h.pass(ArraySource.of([a, b]), { engine: { concurrency: 1 }, worker: 'worker-3' });
    // a is seen and adopted; b is not seen, and its POST may still land: unsettled, not POSTed again.
    expect(second).toMatchObject({
      status: 'complete',
      counts: { reconciled: 1, created: 0, failed: 0, unsettled: 1 },
    });
    expect(h.hcm.calls).toMatchObject({ create: 2, findByNaturalKey: 4 });
    expect(await h.records.get(b.externalKey)).toMatchObject({
      status: 'unsettled',
      reason: expect.stringContaining('may still land'),
    });
    expect(await h.ledger.get(b.externalKey)).toMatchObject({
      ambiguous: true,
      postStartedAt: expect.any(Number),
    });

    // A resume an hour later: still unseen, still within the horizon: unsettled again, no POST.
    h.clock.advance(60 * 60_000);
    const resumed = await h.pass(ArraySource.of([a, b]), { worker: 'worker-4', attempt: 2 });
    expect(resumed.counts).toMatchObject({ unsettled: 1, created: 0 });
    expect(h.hcm.calls.create).toBe(2);

    // Past the settle horizon (24 h after the POST left), the goal is not coming: written again, once.
    h.clock.advance(24 * 60 * 60_000);
    const later = await h.pass(ArraySource.of([a, b]), { worker: 'worker-5', attempt: 3 });
    expect(later.counts).toMatchObject({ created: 1, unsettled: 0 });
    expect(h.hcm.calls.create).toBe(3);
    expect(h.hcm.goals.filter((g) => g.GoalName === a.goalName)).toHaveLength(1);
    expect(h.hcm.goals.filter((g) => g.GoalName === b.goalName)).toHaveLength(1);
    expect(await h.ledger.get(b.externalKey)).not.toHaveProperty('postStartedAt');
  });

  it('an unclear POST that lands after the visibility wait is adopted by the next run, never POSTed twice', async () => {
    const h = harness();
    const g = goal(40);
    h.hcm.beforeCreate = () => {
      throw new AmbiguousWriteError('POST goals', 'HTTP 504');
    };
    await h.pass(ArraySource.of([g]));
    h.clock.advance(60_000);
    expect((await h.pass(ArraySource.of([g]), { worker: 'worker-2' })).counts).toMatchObject({
      unsettled: 1,
    });
    // HCM commits the first POST three minutes late, far past the visibility wait.
    h.hcm.beforeCreate = undefined;
    const late = await h.hcm.create(g.goalPlanId, {
      ...toGoalPayload(g, DEFAULT_GOAL_MAPPING),
      PersonId: fakeAssignee(g.personNumber).PersonId,
    });
    h.hcm.resetCalls();
    const next = await h.pass(ArraySource.of([g]), { worker: 'worker-3', attempt: 2 });
    expect(next.counts).toMatchObject({ reconciled: 1, created: 0, unsettled: 0 });
    expect(h.hcm.calls.create).toBe(0);
    expect(h.hcm.goals).toHaveLength(1);
    expect(await h.ledger.get(g.externalKey)).toMatchObject({ hcmGoalId: late.GoalId, etag: late.etag });
  });

  it('PATCHes that stay unclear leave the record unsettled (not failed); each one after the first is sent only after a read', async () => {
    const connection = `conn-patch-${++runCounter}`;
    const earlier = harness(connection);
    const g = goal(30);
    await earlier.pass(ArraySource.of([g]));
    // The next run of the connection, with changed content.
    const h = harness(connection, earlier.hcm);
    const changed = goal(30, { description: 'Changed' });
    h.hcm.beforeUpdate = () => {
      throw new AmbiguousWriteError('PATCH goal', 'HTTP 504');
    };
    h.hcm.resetCalls();
    const engine = { maxUnclearWrites: 2 };
    expect(
      (await h.pass(ArraySource.of([changed]), { engine, attempt: 2, worker: 'w-2' })).counts,
    ).toMatchObject({
      remaining: 1,
      unclearWrites: 1,
    });
    // The first PATCH carried the ledger's ETag; nothing was read.
    expect(h.hcm.calls).toMatchObject({ update: 1, findByPerson: 0 });
    h.clock.advance(60_000);
    const second = await h.pass(ArraySource.of([changed]), { engine, worker: 'w-3' });
    expect(second.counts).toMatchObject({ failed: 0, unsettled: 1, remaining: 0 });
    // After the unclear PATCH: a read first, then the PATCH with the ETag it showed.
    expect(h.hcm.calls).toMatchObject({ update: 2, findByPerson: 1 });
    expect(h.hcm.ifMatch).toEqual([h.hcm.goals[0]?.etag, h.hcm.goals[0]?.etag]);
    expect(await h.records.get(g.externalKey)).toMatchObject({ status: 'unsettled' });
    expect(await h.ledger.get(g.externalKey)).toMatchObject({ ambiguous: true, unclearWrites: 2 });

    h.hcm.beforeUpdate = undefined;
    h.clock.advance(60_000);
    const retry = await h.pass(ArraySource.of([changed]), { worker: 'w-4', attempt: 2 });
    expect(retry.counts).toMatchObject({ updated: 1 });
    expect(h.hcm.goals).toHaveLength(1);
    expect(h.hcm.goals[0]).toMatchObject({ Description: 'Changed' });
    expect(await h.ledger.get(g.externalKey)).toMatchObject({ etag: h.hcm.goals[0]?.etag });
  });

  it('a claim renewal that comes back too late to send after puts its marks back: nothing left, nothing to look for', async () => {
    const h = harness();
    const g = goal(50);
    const slowDoc = {
      send: async (cmd: { input?: { UpdateExpression?: string } }) => {
        const out = await h.records.doc.send(cmd as never);
        // The renewal before the POST is applied, then answers 110 s later: too late to send.
        if (cmd.input?.UpdateExpression?.includes('writeStartedAt = :now')) h.clock.advance(110_000);
        return out;
      },
    } as unknown as typeof h.records.doc;
    const ledger = new GoalLedger(
      slowDoc,
      h.records.table,
      { runId: h.runId, connectionId: h.connectionId },
      undefined,
      {
        clock: h.clock,
      },
    );
    const source = ArraySource.of([g]);
    const run = (l?: GoalLedger) =>
      processChunk(
        { runId: h.runId, connectionId: h.connectionId, attempt: 1, chunk: source.chunk() },
        {
          source,
          hcm: h.hcm,
          records: h.records,
          ...(l ? { ledger: l } : {}),
          workerId: 'w-slow',
          remainingTimeMs: ample,
          clock: h.clock,
        },
      );
    const first = await run(ledger);
    expect(first.counts).toMatchObject({ remaining: 1, created: 0 });
    expect(h.hcm.goals).toHaveLength(0);
    const item = await h.ledger.get(g.externalKey);
    expect(item).not.toHaveProperty('writeStartedAt');
    expect(item).not.toHaveProperty('postStartedAt');
    expect(item).not.toHaveProperty('claimOwner');
    // The next pass creates it at once: no write trace, so no unsettled wait for a POST that never left.
    h.clock.advance(1_000);
    expect((await run()).counts).toMatchObject({ created: 1, unsettled: 0 });
  });

  it('a 400 fails that record with its reason, the others go on; the same attempt does not retry it', async () => {
    const h = harness();
    const input = records(4);
    h.hcm.beforeCreate = (payload) => {
      if (payload.GoalName === 'Goal 2') throw new HcmRequestError(400, 'GoalName: invalid characters');
    };
    const result = await h.pass(ArraySource.of(input));
    expect(result).toMatchObject({ status: 'complete', counts: { created: 3, failed: 1 } });
    expect(await h.records.get('G-00002')).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('GoalName: invalid characters'),
    });

    h.hcm.beforeCreate = undefined;
    h.hcm.resetCalls();
    const samePass = await h.pass(ArraySource.of(input));
    expect(samePass.counts).toMatchObject({ alreadyDone: 3, failed: 0, alreadyFailed: 1 });
    expect(h.hcm.totalCalls()).toBe(0);

    const nextAttempt = await h.pass(ArraySource.of(input), { attempt: 2 });
    expect(nextAttempt.counts).toMatchObject({ alreadyDone: 3, created: 1, failed: 0 });
  });

  it('ReauthRequiredError stops the chunk and propagates by name; finished records stay done', async () => {
    const h = harness();
    h.hcm.beforeCreate = (_payload, call) => {
      if (call >= 3) throw new ReauthRequiredError('conn', 'invalid_grant');
    };
    const error = await h
      .pass(ArraySource.of(records(12)), { engine: { concurrency: 2 } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReauthRequiredError);
    expect((error as Error).name).toBe('ReauthRequiredError');
    // Intake stopped: far fewer than 12 creates were attempted.
    expect(h.hcm.calls.create).toBeLessThan(6);
    expect(await h.records.get('G-00000')).toMatchObject({ status: 'done' });
    const summary = (await h.chunks.listChunkSummaries(h.runId))[0];
    expect(summary).toMatchObject({ status: 'partial', settled: 2 });
  });

  it('a connection recovering by itself: the chunk returns partial and waits, no record failed or marked unclear', async () => {
    const h = harness();
    const retryAt = Date.now() + 45_000;
    let recovering = true;
    h.hcm.beforeCreate = (_payload, call) => {
      if (recovering && call >= 3)
        throw new ConnectionRecoveringError('conn', 'invalid_client', retryAt, { notSent: true });
    };
    const first = await h.pass(ArraySource.of(records(12)), { engine: { concurrency: 2 } });
    expect(first.status).toBe('partial');
    expect(first.counts.failed).toBe(0);
    expect(first.counts.remaining).toBeGreaterThan(0);
    expect(first.waitSeconds).toBeGreaterThanOrEqual(40);
    expect(first.waitSeconds).toBeLessThanOrEqual(60);
    // Intake stopped at the first one: far fewer than 12 creates were attempted.
    expect(h.hcm.calls.create).toBeLessThan(6);
    // Recovered: the next pass writes the rest, each goal once.
    recovering = false;
    const second = await h.pass(ArraySource.of(records(12)));
    expect(second.status).toBe('complete');
    expect(second.counts.failed).toBe(0);
    expect(first.counts.created + second.counts.created).toBe(12);
  });

  it('stops taking records when the time budget runs low and returns partial; the next pass finishes', async () => {
    const h = harness();
    let remaining = 10_000;
    h.hcm.afterCreate = () => {
      remaining -= 3_000; // each create "takes" 3 s of the invocation
    };
    const first = await h.pass(ArraySource.of(records(6)), {
      remaining: () => remaining,
      engine: { concurrency: 1, minTimeMarginMs: 2_000 },
    });
    expect(first.status).toBe('partial');
    expect(first.waitSeconds).toBe(0);
    expect(first.counts.created).toBe(3);
    expect(first.counts.remaining).toBe(3);

    const second = await h.pass(ArraySource.of(records(6)));
    expect(second).toMatchObject({ status: 'complete', counts: { alreadyDone: 3, created: 3 } });
    expect(h.hcm.goals).toHaveLength(6);
  });

  it('a goal deleted in HCM since the last sync is found missing by PATCH (404) and created again', async () => {
    const connectionId = `conn-${++runCounter}`;
    const hcm = new FakeHcm();
    await harness(connectionId, hcm).pass(ArraySource.of([goal(40)]));
    hcm.goals.length = 0;
    const result = await harness(connectionId, hcm).pass(ArraySource.of([goal(40, { status: 'COMPLETED' })]));
    expect(result.counts).toMatchObject({ created: 1 });
    expect(hcm.goals).toHaveLength(1);
  });

  it('adopts a goal HCM already holds for the natural key (no ledger): updated if it differs', async () => {
    const h = harness();
    const g = goal(50);
    await h.hcm.create(g.goalPlanId, { ...heldGoal(g), Description: 'typed in by hand' });
    h.hcm.resetCalls();
    const result = await h.pass(ArraySource.of([g]));
    expect(result.counts).toMatchObject({ updated: 1, created: 0 });
    // Single record for this person: the narrow finder, then a PATCH with only the difference.
    expect(h.hcm.calls).toEqual({ findByNaturalKey: 1, findByPerson: 0, create: 0, update: 1 });
    expect(h.hcm.goals).toHaveLength(1);
    expect(h.hcm.goals[0]?.Description).toBe(g.description);
  });

  it("worker assignments come from the plan's assignees: several without assignmentNumber, or none on the plan, fail the record naming them", async () => {
    const h = harness();
    const two = goal(60); // P0020
    const named = goal(61, { assignmentNumber: 'P0020-B' });
    const absent = goal(63); // P0021: not on the plan
    h.hcm.assigneesOf = () => [
      { ...fakeAssignee('P0020'), AssignmentNumber: 'P0020-A' },
      { ...fakeAssignee('P0020'), AssignmentId: 9_000_020, AssignmentNumber: 'P0020-B' },
    ];
    const result = await h.pass(ArraySource.of([two, named, absent]));
    expect(result.counts).toMatchObject({ created: 1, failed: 2, remaining: 0 });
    expect(h.hcm.goals).toEqual([
      expect.objectContaining({ GoalName: named.goalName, AssignmentId: 9_000_020 }),
    ]);
    expect((await h.records.get(two.externalKey))?.reason).toMatch(
      /P0020 has 2 assignments on goal plan 300 \(P0020-A, P0020-B\): name one in assignmentNumber/,
    );
    expect((await h.records.get(absent.externalKey))?.reason).toMatch(
      /P0021 is not assigned to goal plan 300/,
    );
    // One assignees query per worker (P0020's two records share one), not one per goal.
    expect(h.hcm.assigneeReads).toBe(2);
  });

  it('a source value the mapping has no code for fails the record before any HCM request, naming the setting', async () => {
    const h = harness();
    const onHold = goal(70, { status: 'ON_HOLD' });
    const result = await h.pass(ArraySource.of([onHold, goal(71)]));
    expect(result.counts).toMatchObject({ created: 1, failed: 1 });
    expect(h.hcm.calls.create).toBe(1);
    expect((await h.records.get(onHold.externalKey))?.reason).toMatch(/status 'ON_HOLD'.*goalStatusMap/);
    // With the tenant's code configured, the next attempt writes it.
    const mapping = { ...DEFAULT_GOAL_MAPPING, status: { ...DEFAULT_GOAL_MAPPING.status, ON_HOLD: 'HOLD' } };
    const retry = await h.pass(ArraySource.of([onHold, goal(71)]), { attempt: 2, engine: { mapping } });
    expect(retry.counts).toMatchObject({ created: 1 });
    expect(h.hcm.goals.find((g) => g.GoalName === onHold.goalName)?.StatusCode).toBe('HOLD');
  });

  it("a 500 with o:errorDetails (a business rule) fails the record with HCM's message; no unclear write", async () => {
    const h = harness();
    const g = goal(80);
    h.hcm.beforeCreate = () => {
      throw new HcmRequestError(500, 'POST x: StatusCode: the value is not valid', { businessRule: true });
    };
    const result = await h.pass(ArraySource.of([g]));
    expect(result).toMatchObject({ status: 'complete', counts: { failed: 1, remaining: 0 } });
    expect((await h.records.get(g.externalKey))?.reason).toMatch(/the value is not valid/);
    expect((await h.ledger.get(g.externalKey))?.ambiguous).toBeUndefined();
  });

  it('writes the chunk summary finish-sync aggregates', async () => {
    const h = harness();
    await h.pass(ArraySource.of(records(5), [2]));
    expect(await h.chunks.listChunkSummaries(h.runId)).toEqual([
      expect.objectContaining({
        index: 0,
        attempt: 1,
        status: 'complete',
        records: 6,
        invalid: 1,
        created: 5,
        settled: 5,
      }),
    ]);
  });
});
