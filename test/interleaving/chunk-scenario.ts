import fc from 'fast-check';
import { needsReconcile, RecordStore, WRITE_TIMING_DEFAULTS } from '#core/checkpoint/index.ts';
import { contentHash, DEFAULT_GOAL_MAPPING, diffGoal, toGoalPayload } from '#core/hcm/index.ts';
import type { ChunkRef, GoalRecord, GoalSource, SourceEntry } from '#core/source/index.ts';
import { GoalSnapshot, processChunk } from '#core/sync/index.ts';
import { checkpointTableSpec } from '../../lambdas/core/tables.ts';
import type { Verdict } from './broker-scenario.ts';
import { passUntilComplete } from './chunk-passes.ts';
import { DynamoModel } from './model/dynamo-model.ts';
import { type HcmCall, HcmModel, hcmCallArb, LATEST_COMMIT_MS, personNumberOf } from './model/hcm-model.ts';
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

/** A second run carries changed content for g-1: its PATCH may race run-a's late writes (window O7). */
const RECORDS_B: GoalRecord[] = RECORDS.map((r) =>
  r.externalKey === 'g-1' ? { ...r, description: 'Ship it, changed' } : r,
);

const recordsOf = (run: string) => (run === 'run-b' ? RECORDS_B : RECORDS);

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

const sourceOf = (run: string): GoalSource => ({
  plan: () => Promise.reject(new Error('not used')),
  async *readChunk(): AsyncIterable<SourceEntry> {
    for (const [i, record] of recordsOf(run).entries()) yield { line: i + 1, record };
  },
});

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
  await passUntilComplete(clock, passes, passOnce);

  function passOnce(pass: number) {
    return processChunk(
      { runId: p.run, connectionId: CONNECTION, attempt: p.attempt, chunk: CHUNK },
      {
        source: sourceOf(p.run),
        hcm: port,
        records,
        workerId: `${actor.name}#pass-${pass}`,
        remainingTimeMs: () => 15 * 60_000 - (world.now - started),
        clock,
        ...(snapshot ? { snapshot } : {}),
      },
      { concurrency: 2 },
    );
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

  // Then each run is resumed on a quiet HCM after every claim, visibility wait and late commit has
  // passed, as the state machine's later passes or an operator's resume would: every record ends done,
  // or `unsettled` while a POST of it that no read has shown may still land (never failed).
  world.advanceTo(
    world.now + TIMING.claimTtlMs + TIMING.requestTimeoutMs + TIMING.visibilityMs + LATEST_COMMIT_MS,
  );
  const runs = [...new Set(plan.invocations.map((p) => p.run))];
  const violations: string[] = [];
  // Every late write has landed: what the ledger calls committed (no write trace left) is what HCM holds.
  violations.push(...(await contentAgrees(world, db, hcm, runs[0]!)));
  const resume = async (attempt: number) => {
    let out = { steps: 0, exhausted: false };
    for (const run of runs) {
      const actor = world.actor(`resume ${run}/${attempt}`);
      void iterate(
        world,
        actor,
        db,
        hcm,
        { run, attempt, delayMs: 0, hcm: [], dynamo: [], index: true },
        8,
      ).catch((err: unknown) => errors.push(`resume ${run}: ${(err as Error).message}`));
      const r = await world.run(5_000);
      out = { steps: out.steps + r.steps, exhausted: out.exhausted || r.exhausted };
    }
    return out;
  };
  const second = await resume(3);
  for (const run of runs) {
    for (const [key, st] of await statesOf(world, db, run)) {
      const status = st?.record?.status;
      if (status === 'done') continue;
      const record = recordsOf(run).find((r) => r.externalKey === key)!;
      if (status !== 'unsettled')
        violations.push(`${run} ${key} ends ${status ?? 'untouched'} after the resume`);
      else if ([...hcm.goals.values()].some((g) => g.GoalName === record.goalName))
        violations.push(`${run} ${key} ends unsettled although HCM holds its goal`);
      // A token refused after the claim check must not leave a record unsettled that no POST left for
      // (window O8); a holder stalled or dead between its mark and its send is unsettled by design.
      else if (!hcm.postsSent.get(record.goalName) && hcm.markedUnsent.has(record.goalName))
        violations.push(
          `${run} ${key} ends unsettled: its claim was marked, then the token refused, and no POST ever left`,
        );
    }
  }

  // Past the settle horizon, the next resume writes what no read has shown: every record ends done.
  world.advanceTo(world.now + (TIMING.settleHorizonMs ?? 0) + 1);
  const third = await resume(4);

  if (first.exhausted || second.exhausted || third.exhausted)
    violations.push('livelock: the step budget ran out');
  for (const [key, n] of hcm.countsByKey()) if (n > 1) violations.push(`${n} HCM goals for ${key}`);
  for (const run of runs) {
    const states = await statesOf(world, db, run);
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
  violations.push(...(await contentAgrees(world, db, hcm, runs[0]!)));
  return { violations: [...violations, ...errors.map((e) => `unexpected error: ${e}`)], story: world.story };
}

/** No goal holds other content than its ledger entry says, where the ledger shows no write in doubt. */
async function contentAgrees(world: World, db: DynamoModel, hcm: HcmModel, run: string): Promise<string[]> {
  const out: string[] = [];
  for (const [key, st] of await statesOf(world, db, run)) {
    const ledger = st?.ledger;
    if (!ledger?.contentHash || ledger.hcmGoalId === undefined || needsReconcile(ledger)) continue;
    const goal = hcm.goals.get(ledger.hcmGoalId);
    const says = [RECORDS, RECORDS_B]
      .map((rs) => rs.find((r) => r.externalKey === key)!)
      .find((r) => contentHash(r, DEFAULT_GOAL_MAPPING) === ledger.contentHash);
    if (goal && says && diffGoal(goal, toGoalPayload(says)) !== null)
      out.push(`${key}: HCM holds other content than the ledger says (${goal.Description ?? '-'})`);
  }
  return out;
}

async function statesOf(world: World, db: DynamoModel, run: string) {
  const store = new RecordStore(modelDocClient(world, world.actor(`check ${run}`), db), TABLE, {
    runId: run,
    connectionId: CONNECTION,
    expiresAt: 0,
  });
  const loading = store.loadStates(RECORDS.map((r) => r.externalKey));
  await world.run(100);
  return loading;
}
