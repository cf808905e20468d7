import fc from 'fast-check';
import { HdlPartStore, HdlSendFence, RunLease } from '#core/checkpoint/index.ts';
import { HdlDataSets } from '#core/hdl/index.ts';
import { hdlObjectKey, pollHdlParts, submitHdlParts } from '#core/sync/index.ts';
import { TransientError } from '../../lambdas/core/errors.ts';
import { checkpointTableSpec } from '../../lambdas/core/tables.ts';
import type { Verdict } from './broker-scenario.ts';
import { DynamoModel } from './model/dynamo-model.ts';
import { encodePart, type HdlCall, HdlModel, hdlCallArb, LATE_ACCEPT_MS } from './model/hdl-model.ts';
import { type CallFault, callFaultArb, modelDocClient } from './model/peers.ts';
import { type Actor, World } from './model/world.ts';

/**
 * The HDL submission protocol (docs/hdl.md; windows H1 and H2 in docs/invariants.md). run-a (older
 * content) takes the connection and submits its two parts; its answers may be lost, its invocation may
 * die (its request on the wire or not). Maybe run-a is resumed (a new take of the lease, the same part
 * names); then run-a is aborted and run-b (newer content, the same source keys) takes the connection
 * and loads. Properties: no part has two data sets (a part loaded twice), run-b loads, and every source
 * key ends with run-b's content (no older part sent, or loaded, after run-b's).
 */
const TABLE = 'checkpoints';
const CONNECTION = 'conn-1';
const LAMBDA_TIMEOUT_MS = 15 * 60_000;
const PARTS = [
  { part: 1, keys: ['k-1', 'k-2'] },
  { part: 2, keys: ['k-3'] },
];

export interface HdlPlan {
  a1: HdlCall[];
  a2: HdlCall[];
  b: HdlCall[];
  dynamo: CallFault[];
  /** run-a's first invocation stops forever at this step (its request may still land). */
  killA1?: { at: number; lands: boolean };
  resume: boolean;
  resumeAfterMs: number;
  takeoverAfterMs: number;
  loadMs: number;
}

export const hdlPlanArb: fc.Arbitrary<HdlPlan> = fc.record(
  {
    a1: fc.array(hdlCallArb, { maxLength: 6 }),
    a2: fc.array(hdlCallArb, { maxLength: 4 }),
    b: fc.array(hdlCallArb, { maxLength: 4 }),
    dynamo: fc.array(
      callFaultArb.map((f) => (f.fault === 'throttle' ? { ...f, fault: 'none' as const } : f)),
      { maxLength: 6 },
    ),
    killA1: fc.record({ at: fc.integer({ min: 1, max: 14 }), lands: fc.boolean() }),
    resume: fc.boolean(),
    resumeAfterMs: fc.constantFrom(0, 50, 400, 5_000),
    takeoverAfterMs: fc.constantFrom(0, 10, 400, 5_000, 70_000),
    loadMs: fc.constantFrom(50, 2_000, 30_000),
  },
  { requiredKeys: ['a1', 'a2', 'b', 'dynamo', 'resume', 'resumeAfterMs', 'takeoverAfterMs', 'loadMs'] },
);

type Outcome = 'loaded' | 'refused' | 'gave up';

interface Take {
  runId: 'run-a' | 'run-b';
  generation: number;
  hcm: HdlCall[];
}

/** One take's state machine steps: submit (held: wait, again), poll until loaded; a Lambda per step. */
async function steps(
  world: World,
  actor: Actor,
  db: DynamoModel,
  hdl: HdlModel,
  t: Take,
  dynamo: CallFault[],
) {
  const doc = modelDocClient(world, actor, db, dynamo);
  const clock = world.clock(actor);
  const lease = new RunLease(doc, TABLE, { clock });
  const parts = new HdlPartStore(doc, TABLE, { clock });
  const dataSets = new HdlDataSets(hdl.port(actor, t.hcm));
  const objects = { put: async () => {}, get: async (k: string) => ZIPS.get(k) };
  let round = 0;
  for (let i = 0; i < 40; i++) {
    const invocationEnds = world.now + LAMBDA_TIMEOUT_MS;
    const sendFence = new HdlSendFence(
      doc,
      TABLE,
      { connectionId: CONNECTION, runId: t.runId, generation: t.generation },
      { clock, invocationEndsAt: () => invocationEnds, lateAcceptMs: LATE_ACCEPT_MS },
    );
    try {
      await lease.renew(CONNECTION, t.runId, t.generation);
      const submitted = await submitHdlParts(t.runId, { parts, objects, dataSets, sendFence, clock });
      if (submitted.held > 0) {
        await clock.sleep(submitted.holdSeconds * 1_000);
        continue;
      }
      const polled = await pollHdlParts(t.runId, round, { parts, dataSets, clock });
      round = polled.round;
      if (polled.pending === 0) return 'loaded' satisfies Outcome;
      await clock.sleep(polled.waitSeconds * 1_000);
    } catch (err) {
      if ((err as Error).name === 'RunLeaseLostError') return 'refused' satisfies Outcome;
      // The state machine's Retry: a lost answer or a transient failure, the step again.
      if (!(err instanceof TransientError)) throw err;
      await clock.sleep(2_000);
    }
  }
  return 'gave up' satisfies Outcome;
}

/** The parts' zips as the build step stored them (the model's content stands for Goal.dat). */
const ZIPS = new Map<string, string>();
const partName = (runId: string, part: number) => `${runId}-part-${String(part).padStart(4, '0')}.zip`;
for (const runId of ['run-a', 'run-b'])
  for (const p of PARTS)
    ZIPS.set(
      hdlObjectKey(runId, partName(runId, p.part), 'zip'),
      encodePart({ version: runId, keys: p.keys }),
    );

export async function runHdlScenario(s: fc.Scheduler, plan: HdlPlan): Promise<Verdict> {
  const world = new World(s);
  const db = new DynamoModel([checkpointTableSpec(TABLE)]);
  const hdl = new HdlModel(world, plan.loadMs);
  const errors: string[] = [];
  const control = world.actor('step functions');
  const controlDoc = modelDocClient(world, control, db);
  const lease = new RunLease(controlDoc, TABLE, { clock: world.clock(control) });
  const partStore = new HdlPartStore(controlDoc, TABLE, { clock: world.clock(control) });

  // plan-sync and the build step of run-a and of run-b (run-b's build ran before run-a loaded anything).
  const setup = (async () => {
    const a = await lease.acquire(CONNECTION, 'run-a');
    for (const runId of ['run-a', 'run-b'])
      for (const p of PARTS)
        await partStore.putBuilt(runId, {
          part: p.part,
          name: partName(runId, p.part),
          goalPlanId: 300,
          records: p.keys.length,
        });
    return a.generation;
  })();
  await world.run(200);
  const genA = await setup;

  const report = (who: string) => (err: unknown) => errors.push(`${who}: ${(err as Error).message}`);
  const a1 = world.actor('run-a', plan.killA1);
  void steps(world, a1, db, hdl, { runId: 'run-a', generation: genA, hcm: plan.a1 }, plan.dynamo).catch(
    report('run-a'),
  );
  let runB: Outcome | undefined;
  void (async () => {
    const clock = world.clock(control);
    await clock.sleep(Math.max(1, plan.resumeAfterMs));
    if (plan.resume) {
      // `goal-sync resume run-a`: plan-sync takes the lease again (a new generation, the same parts).
      const again = await lease.acquire(CONNECTION, 'run-a');
      const a2 = world.actor('run-a resumed');
      void steps(
        world,
        a2,
        db,
        hdl,
        { runId: 'run-a', generation: again.generation, hcm: plan.a2 },
        [],
      ).catch(report('run-a resumed'));
    }
    await clock.sleep(Math.max(1, plan.takeoverAfterMs));
    // run-a's execution is aborted (finish-sync releases), run-b's plan-sync takes the connection.
    await lease.release(CONNECTION, 'run-a');
    const b = await lease.acquire(CONNECTION, 'run-b');
    runB = await steps(
      world,
      world.actor('run-b'),
      db,
      hdl,
      { runId: 'run-b', generation: b.generation, hcm: plan.b },
      [],
    );
  })().catch(report('run-b'));
  const played = await world.run(20_000);
  // Every request still on the wire reaches Oracle, every data set loads.
  world.advanceTo(world.now + LATE_ACCEPT_MS + 2 * plan.loadMs + 1);

  const violations: string[] = [];
  if (played.exhausted) violations.push('livelock: the step budget ran out');
  for (const [name, n] of hdl.countsByName()) if (n > 1) violations.push(`${n} data sets for part ${name}`);
  if (runB !== 'loaded') violations.push(`run-b ended ${runB ?? 'unfinished'}, not loaded`);
  for (const p of PARTS)
    for (const k of p.keys) {
      const held = hdl.keyMap.get(k);
      if (held !== 'run-b') violations.push(`${k}: HCM holds ${held ?? 'nothing'}'s content, not run-b's`);
    }
  return { violations: [...violations, ...errors.map((e) => `unexpected error: ${e}`)], story: world.story };
}
