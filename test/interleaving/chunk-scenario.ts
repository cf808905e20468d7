import fc from 'fast-check';
import { RecordStore, WRITE_TIMING_DEFAULTS } from '#core/checkpoint/index.ts';
import type { ChunkRef, GoalRecord, GoalSource, SourceEntry } from '#core/source/index.ts';
import { GoalSnapshot, processChunk } from '#core/sync/index.ts';
import { checkpointTableSpec } from '../../lambdas/core/tables.ts';
import type { Verdict } from './broker-scenario.ts';
import { DynamoModel } from './model/dynamo-model.ts';
import { type HcmCall, HcmModel, hcmCallArb, personNumberOf } from './model/hcm-model.ts';
import { type CallFault, callFaultArb, modelDocClient } from './model/peers.ts';
import { type Actor, World } from './model/world.ts';

/**
 * The chunk engine's claim/commit protocol under every ordering the scheduler picks: invocations of the
 * same chunk (a Step Functions retry while the first is alive), of a resumed attempt, and of a second run
 * of the same connection, against an HCM whose writes may commit late, lose their answer, or outlive the
 * client's timeout; invocations may stop forever at any await. Properties: docs/invariants.md, invariant 7.
 */
const TABLE = 'checkpoints';
const CONNECTION = 'conn-1';
const TIMING = WRITE_TIMING_DEFAULTS;

const RECORDS: GoalRecord[] = [
  {
    externalKey: 'g-1',
    personNumber: 'P1',
    goalName: 'Ship it',
    startDate: '2026-01-01',
    targetCompletionDate: '2026-12-31',
    status: 'NOT_STARTED',
    goalPlanId: 300,
  },
  {
    externalKey: 'g-2',
    personNumber: 'P1',
    goalName: 'Learn',
    startDate: '2026-01-01',
    targetCompletionDate: '2026-12-31',
    status: 'NOT_STARTED',
    goalPlanId: 300,
  },
  {
    externalKey: 'g-3',
    personNumber: 'P2',
    goalName: 'Mentor',
    startDate: '2026-01-01',
    targetCompletionDate: '2026-12-31',
    status: 'NOT_STARTED',
    goalPlanId: 300,
  },
] as GoalRecord[];

const CHUNK: ChunkRef = { index: 0, byteStart: 0, byteEnd: 1, firstLine: 1, lineCount: RECORDS.length };

export interface InvocationPlan {
  /** run-a attempt 1 is the first; the same run again is a Step Functions retry; attempt 2 a resume; run-b a second run. */
  run: 'run-a' | 'run-b';
  attempt: number;
  /** Virtual ms after the start at which it begins. */
  delayMs: number;
  hcm: HcmCall[];
  /** DynamoDB latency and lost answers (no throttling: the checkpoint stores' own retry waits are real timers). */
  dynamo: CallFault[];
  kill?: { at: number; lands: boolean };
  /**
   * The attempt was planned with the plan-wide read (goal-index.ts): its snapshot of HCM is taken when
   * it starts and used by every pass, however many writes commit after it. Otherwise: finders.
   */
  index: boolean;
}

export interface ChunkPlan {
  invocations: InvocationPlan[];
}

const invocationArb = (kills: boolean): fc.Arbitrary<InvocationPlan> =>
  fc.record(
    {
      run: fc.constantFrom<'run-a' | 'run-b'>('run-a', 'run-a', 'run-b'),
      attempt: fc.constantFrom(1, 1, 2),
      delayMs: fc.constantFrom(0, 0, 500, 130_000),
      hcm: fc.array(hcmCallArb, { maxLength: 6 }),
      index: fc.boolean(),
      dynamo: fc.array(
        callFaultArb.map((f) => (f.fault === 'throttle' ? { ...f, fault: 'none' as const } : f)),
        { maxLength: 12 },
      ),
      ...(kills ? { kill: fc.record({ at: fc.integer({ min: 1, max: 20 }), lands: fc.boolean() }) } : {}),
    },
    { requiredKeys: ['run', 'attempt', 'delayMs', 'hcm', 'dynamo', 'index'] },
  );

export const chunkPlans = (o: { kills?: boolean } = {}): fc.Arbitrary<ChunkPlan> =>
  fc.record({ invocations: fc.array(invocationArb(o.kills ?? true), { minLength: 2, maxLength: 3 }) });

export const chunkPlanArb = chunkPlans();

const source: GoalSource = {
  plan: () => Promise.reject(new Error('not used')),
  async *readChunk(): AsyncIterable<SourceEntry> {
    for (const [i, record] of RECORDS.entries()) yield { line: i + 1, record };
  },
};

/** One Map iteration as the state machine runs it: passes until complete, waiting as each partial says. */
async function iterate(
  world: World,
  actor: Actor,
  db: DynamoModel,
  hcm: HcmModel,
  p: InvocationPlan,
  passes: number,
) {
  const doc = modelDocClient(world, actor, db, p.dynamo);
  const clock = world.clock(actor);
  const records = new RecordStore(
    doc,
    TABLE,
    { runId: p.run, connectionId: CONNECTION, expiresAt: 0 },
    { clock },
  );
  const started = world.now;
  const port = hcm.port(actor, p.hcm);
  let snapshot: GoalSnapshot | undefined;
  if (p.index && port.listPlanGoals) {
    const readAt = world.now;
    const page = await port.listPlanGoals(300, { offset: 0, limit: 500, totalResults: true });
    // plan-sync names each listed goal's worker from the plan's assignees.
    const items = page.items.map((g) => ({ ...g, personNumber: personNumberOf(g.PersonId) }));
    snapshot = new GoalSnapshot(items, readAt, false);
  }
  for (let pass = 0; pass < passes; pass++) {
    const result = await processChunk(
      { runId: p.run, connectionId: CONNECTION, attempt: p.attempt, chunk: CHUNK },
      {
        source,
        hcm: port,
        records,
        workerId: `${actor.name}#pass-${pass}`,
        remainingTimeMs: () => 15 * 60_000 - (world.now - started),
        clock,
        ...(snapshot ? { snapshot } : {}),
      },
      { concurrency: 2 },
    );
    if (result.status === 'complete') return;
    await clock.sleep(Math.max(1, result.waitSeconds) * 1_000);
  }
}

export async function runChunkScenario(s: fc.Scheduler, plan: ChunkPlan): Promise<Verdict> {
  const world = new World(s);
  const db = new DynamoModel([checkpointTableSpec(TABLE)]);
  const hcm = new HcmModel(world, TIMING);
  const errors: string[] = [];
  plan.invocations.forEach((p, i) => {
    const actor = world.actor(`inv-${i} ${p.run}/${p.attempt}`, p.kill);
    void (async () => {
      if (p.delayMs > 0) await world.clock(actor).sleep(p.delayMs);
      await iterate(world, actor, db, hcm, p, 6);
    })().catch((err: unknown) => errors.push(`${actor.name}: ${(err as Error).message}`));
  });
  const first = await world.run(20_000);

  // Then each run is resumed on a quiet HCM after every claim and visibility wait has passed, as the
  // state machine's later passes or an operator's resume would: every valid record must end done.
  world.advanceTo(world.now + TIMING.claimTtlMs + TIMING.requestTimeoutMs + TIMING.visibilityMs + 1);
  const runs = [...new Set(plan.invocations.map((p) => p.run))];
  let second = { steps: 0, exhausted: false };
  for (const run of runs) {
    const actor = world.actor(`resume ${run}`);
    void iterate(
      world,
      actor,
      db,
      hcm,
      { run, attempt: 3, delayMs: 0, hcm: [], dynamo: [], index: true },
      8,
    ).catch((err: unknown) => errors.push(`resume ${run}: ${(err as Error).message}`));
    const r = await world.run(5_000);
    second = { steps: second.steps + r.steps, exhausted: second.exhausted || r.exhausted };
  }

  const violations: string[] = [];
  if (first.exhausted || second.exhausted) violations.push('livelock: the step budget ran out');
  for (const [key, n] of hcm.countsByKey()) if (n > 1) violations.push(`${n} HCM goals for ${key}`);
  for (const run of runs) {
    const store = new RecordStore(modelDocClient(world, world.actor(`check ${run}`), db), TABLE, {
      runId: run,
      connectionId: CONNECTION,
      expiresAt: 0,
    });
    const loading = store.loadStates(RECORDS.map((r) => r.externalKey));
    await world.run(100);
    const states = await loading;
    for (const r of RECORDS) {
      const st = states.get(r.externalKey);
      const goalId = st?.record?.hcmGoalId;
      if (st?.record?.status !== 'done') {
        violations.push(`${run} ${r.externalKey} ends ${st?.record?.status ?? 'untouched'}`);
        continue;
      }
      if (goalId === undefined || !hcm.goals.has(goalId))
        violations.push(`${run} ${r.externalKey} is done without a committed goal (${goalId})`);
      if (st.ledger !== undefined && st.ledger.hcmGoalId !== goalId)
        violations.push(
          `${r.externalKey}: ledger points at ${st.ledger?.hcmGoalId}, the record at ${goalId}`,
        );
    }
  }
  return { violations: [...violations, ...errors.map((e) => `unexpected error: ${e}`)], story: world.story };
}
