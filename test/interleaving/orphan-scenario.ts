import fc from 'fast-check';
import { GoalLedger, RecordStore, RunLease, WRITE_TIMING_DEFAULTS } from '#core/checkpoint/index.ts';
import { DEFAULT_GOAL_MAPPING, diffGoal, mapGoal } from '#core/hcm/index.ts';
import type { ChunkRef, GoalRecord, GoalSource, SourceEntry } from '#core/source/index.ts';
import { processChunk } from '#core/sync/index.ts';
import { checkpointTableSpec } from '../../lambdas/core/tables.ts';
import type { Verdict } from './broker-scenario.ts';
import { passUntilComplete } from './chunk-passes.ts';
import { DynamoModel } from './model/dynamo-model.ts';
import { type HcmCall, HcmModel, hcmCallArb } from './model/hcm-model.ts';
import { type CallFault, callFaultArb, modelDocClient } from './model/peers.ts';
import { type Actor, World } from './model/world.ts';

/**
 * Window O9, an orphaned pass after release (docs/invariants.md, invariant 10): run-a's execution is
 * aborted while one of its chunk passes still runs (Step Functions does not stop a running Lambda);
 * finish-sync releases the run lease; run-b takes the connection (generation 2) and writes newer
 * content. The orphan goes on. Property: every goal ends with run-b's content, the ledger agrees, and
 * no natural key has two goals. Without the generation fence the orphan writes run-a's older content
 * over run-b's and the ledger calls it current, so no later run corrects it.
 */
const TABLE = 'checkpoints';
const CONNECTION = 'conn-1';
const TIMING = WRITE_TIMING_DEFAULTS;

const base = (key: string, person: string, name: string, target: string): GoalRecord =>
  ({
    externalKey: key,
    personNumber: person,
    goalName: name,
    startDate: '2026-01-01',
    targetCompletionDate: target,
    status: 'NOT_STARTED',
    goalPlanId: 300,
  }) as GoalRecord;

/** run-a's export (older) and run-b's (newer: every target date moved). */
const CONTENT: Record<'run-a' | 'run-b', GoalRecord[]> = {
  'run-a': [
    base('g-1', 'P1', 'Ship it', '2026-12-31'),
    base('g-2', 'P1', 'Learn', '2026-12-31'),
    base('g-3', 'P2', 'Mentor', '2026-12-31'),
  ],
  'run-b': [
    base('g-1', 'P1', 'Ship it', '2026-11-30'),
    base('g-2', 'P1', 'Learn', '2026-11-30'),
    base('g-3', 'P2', 'Mentor', '2026-11-30'),
  ],
};

const CHUNK: ChunkRef = { index: 0, byteStart: 0, byteEnd: 1, firstLine: 1, lineCount: 3 };

export interface OrphanPlan {
  /** Virtual ms after run-a's pass starts at which its execution is aborted and run-b takes over. */
  takeoverAfterMs: number;
  /** Virtual ms after the takeover at which run-b's first pass starts. */
  runBDelayMs: number;
  orphanHcm: HcmCall[];
  runBHcm: HcmCall[];
  orphanDynamo: CallFault[];
  runBDynamo: CallFault[];
}

const noThrottle = fc.array(
  callFaultArb.map((f) => (f.fault === 'throttle' ? { ...f, fault: 'none' as const } : f)),
  { maxLength: 10 },
);

export const orphanPlanArb: fc.Arbitrary<OrphanPlan> = fc.record({
  takeoverAfterMs: fc.constantFrom(0, 10, 50, 400, 5_000),
  runBDelayMs: fc.constantFrom(0, 0, 100, 3_000),
  orphanHcm: fc.array(hcmCallArb, { maxLength: 6 }),
  runBHcm: fc.array(hcmCallArb, { maxLength: 6 }),
  orphanDynamo: noThrottle,
  runBDynamo: noThrottle,
});

const sourceOf = (run: 'run-a' | 'run-b'): GoalSource => ({
  plan: () => Promise.reject(new Error('not used')),
  async *readChunk(): AsyncIterable<SourceEntry> {
    for (const [i, record] of CONTENT[run].entries()) yield { line: i + 1, record };
  },
});

interface PassSpec {
  run: 'run-a' | 'run-b';
  attempt: number;
  generation: number;
  hcm: HcmCall[];
  dynamo: CallFault[];
  passes: number;
}

/** Passes of one chunk as sync-chunk makes them: fenced by the run lease at the plan's generation. */
async function iterate(world: World, actor: Actor, db: DynamoModel, hcm: HcmModel, p: PassSpec) {
  const doc = modelDocClient(world, actor, db, p.dynamo);
  const clock = world.clock(actor);
  const scope = { runId: p.run, connectionId: CONNECTION };
  const records = new RecordStore(doc, TABLE, { ...scope, expiresAt: 0 }, { clock });
  const lease = new RunLease(doc, TABLE, { clock });
  const fence = lease.fence(CONNECTION, p.run, p.generation);
  const ledger = new GoalLedger(doc, TABLE, { ...scope, generation: p.generation }, TIMING, { clock, fence });
  const started = world.now;
  const port = hcm.port(actor, p.hcm);
  await passUntilComplete(clock, p.passes, (pass) =>
    processChunk(
      {
        runId: p.run,
        connectionId: CONNECTION,
        attempt: p.attempt,
        chunk: CHUNK,
        generation: p.generation,
      },
      {
        source: sourceOf(p.run),
        hcm: port,
        records,
        ledger,
        fence,
        workerId: `${actor.name}#pass-${pass}`,
        remainingTimeMs: () => 15 * 60_000 - (world.now - started),
        clock,
      },
      { concurrency: 2 },
    ),
  );
}

export async function runOrphanScenario(s: fc.Scheduler, plan: OrphanPlan): Promise<Verdict> {
  const world = new World(s);
  const db = new DynamoModel([checkpointTableSpec(TABLE)]);
  const hcm = new HcmModel(world, TIMING);
  const errors: string[] = [];
  const control = world.actor('step functions');
  const controlDoc = modelDocClient(world, control, db);
  const lease = new RunLease(controlDoc, TABLE, { clock: world.clock(control) });

  // plan-sync of run-a took the connection (generation 1) before its chunk pass started.
  const taking = lease.acquire(CONNECTION, 'run-a');
  await world.run(100);
  const a = await taking;

  const orphan = world.actor('run-a pass (orphaned)');
  void iterate(world, orphan, db, hcm, {
    run: 'run-a',
    attempt: 1,
    generation: a.generation,
    hcm: plan.orphanHcm,
    dynamo: plan.orphanDynamo,
    // The execution is aborted: no later pass of run-a is started, the running one goes on.
    passes: 1,
  }).catch((err: unknown) => {
    if ((err as Error).name !== 'RunLeaseLostError') errors.push(`run-a: ${(err as Error).message}`);
  });
  void (async () => {
    const clock = world.clock(control);
    await clock.sleep(Math.max(1, plan.takeoverAfterMs));
    // finish-sync of the aborted execution, then run-b's plan-sync.
    await lease.release(CONNECTION, 'run-a');
    const b = await lease.acquire(CONNECTION, 'run-b');
    const runB = world.actor('run-b pass');
    if (plan.runBDelayMs > 0) await clock.sleep(plan.runBDelayMs);
    await iterate(world, runB, db, hcm, {
      run: 'run-b',
      attempt: 1,
      generation: b.generation,
      hcm: plan.runBHcm,
      dynamo: plan.runBDynamo,
      passes: 6,
    });
  })().catch((err: unknown) => errors.push(`run-b: ${(err as Error).message}`));
  const first = await world.run(20_000);

  // run-b's later passes on a quiet HCM once every claim and visibility wait has passed.
  world.advanceTo(world.now + TIMING.claimTtlMs + TIMING.requestTimeoutMs + TIMING.visibilityMs + 1);
  const generation = (await readGeneration(world, db)) ?? 0;
  const last = world.actor('run-b resume');
  void iterate(world, last, db, hcm, {
    run: 'run-b',
    attempt: 2,
    generation,
    hcm: [],
    dynamo: [],
    passes: 8,
  }).catch((err: unknown) => errors.push(`run-b resume: ${(err as Error).message}`));
  const second = await world.run(5_000);

  const violations: string[] = [];
  if (first.exhausted || second.exhausted) violations.push('livelock: the step budget ran out');
  for (const [key, n] of hcm.countsByKey()) if (n > 1) violations.push(`${n} HCM goals for ${key}`);
  const ledger = new GoalLedger(modelDocClient(world, world.actor('check'), db), TABLE, {
    runId: 'run-b',
    connectionId: CONNECTION,
  });
  for (const r of CONTENT['run-b']) {
    const reading = ledger.get(r.externalKey);
    await world.run(100);
    const item = await reading;
    const goal = item?.hcmGoalId !== undefined ? hcm.goals.get(item.hcmGoalId) : undefined;
    if (!goal) {
      violations.push(`${r.externalKey}: the ledger points at no goal (${item?.hcmGoalId})`);
      continue;
    }
    const mapped = mapGoal(r, DEFAULT_GOAL_MAPPING);
    if (mapped.ok && diffGoal(goal, mapped.payload) !== null)
      violations.push(`${r.externalKey}: HCM holds older content than run-b wrote (${item?.lastRunId} last)`);
  }
  return { violations: [...violations, ...errors.map((e) => `unexpected error: ${e}`)], story: world.story };
}

/** What a resume's plan-sync would get: a new take of the lease by run-b. */
async function readGeneration(world: World, db: DynamoModel): Promise<number | undefined> {
  const actor = world.actor('run-b resume plan');
  const lease = new RunLease(modelDocClient(world, actor, db), TABLE, { clock: world.clock(actor) });
  const taking = lease.acquire(CONNECTION, 'run-b');
  await world.run(100);
  return (await taking).generation;
}
