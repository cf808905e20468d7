import fc from 'fast-check';
import { GoalLedger, RecordStore, WRITE_TIMING_DEFAULTS } from '#core/checkpoint/index.ts';
import type { GoalPayload } from '#core/hcm/index.ts';
import type { ChunkRef, GoalRecord, GoalSource, SourceEntry } from '#core/source/index.ts';
import { buildGoalIndex, loadSnapshot, ObjectGoalIndex, processChunk } from '#core/sync/index.ts';
import { checkpointTableSpec } from '../../lambdas/core/tables.ts';
import type { Verdict } from './broker-scenario.ts';
import { passUntilComplete } from './chunk-passes.ts';
import { DynamoModel } from './model/dynamo-model.ts';
import { type HcmCall, HcmModel, hcmCallArb } from './model/hcm-model.ts';
import { modelDocClient } from './model/peers.ts';
import { type Actor, World } from './model/world.ts';

/**
 * Window O10, a listing shift (issue 25): plan-sync reads the plan's goals in pages while a person in
 * HCM deletes one goal and adds another. Read by offset, the delete moves a goal the second page would
 * have shown into the first page already read: it is in neither, and the count (one gone, one new)
 * still adds up. That goal is the only evidence for its record (a person made it; no ledger entry).
 * Property: no natural key ends with two goals. Read by key (`q=GoalId>last`) nothing can be skipped;
 * read by offset, the chunk must not take the goal's absence as evidence (live finder before a POST).
 */
const TABLE = 'checkpoints';
const CONNECTION = 'conn-1';
const PLAN = 300;
const RUN = 'run-1';
const TIMING = WRITE_TIMING_DEFAULTS;

const record = (key: string, person: string, name: string): GoalRecord =>
  ({
    externalKey: key,
    personNumber: person,
    goalName: name,
    startDate: '2026-01-01',
    targetCompletionDate: '2026-12-31',
    status: 'NOT_STARTED',
    goalPlanId: PLAN,
  }) as GoalRecord;

/** g-1's goal exists in HCM (a person made it); g-2 has none yet. */
const RECORDS = [record('g-1', 'P1', 'Ship it'), record('g-2', 'P2', 'Learn')];
const CHUNK: ChunkRef = { index: 0, byteStart: 0, byteEnd: 1, firstLine: 1, lineCount: RECORDS.length };

const goal = (personId: number, name: string): GoalPayload =>
  ({
    GoalName: name,
    PersonId: personId,
    StartDate: '2026-01-01',
    TargetCompletionDate: '2026-12-31',
    StatusCode: 'NOT_STARTED',
  }) as GoalPayload;

export interface ListingPlan {
  /** Whether the pod honours keyset paging. */
  keyset: boolean;
  /** The page size the listing gets (the server's cap). */
  pageSize: number;
  /** Virtual ms after the listing starts at which the person deletes a goal and adds one. */
  shiftAfterMs: number;
  /** Which of the goals listed before g-1's the person deletes. */
  deleted: number;
  chunkHcm: HcmCall[];
}

export const listingPlanArb: fc.Arbitrary<ListingPlan> = fc.record({
  keyset: fc.boolean(),
  pageSize: fc.constantFrom(1, 2, 3),
  shiftAfterMs: fc.constantFrom(0, 10, 20, 30, 45, 70, 100),
  deleted: fc.constantFrom(0, 1, 2),
  chunkHcm: fc.array(hcmCallArb, { maxLength: 4 }),
});

const source: GoalSource = {
  plan: () => Promise.reject(new Error('not used')),
  async *readChunk(): AsyncIterable<SourceEntry> {
    for (const [i, r] of RECORDS.entries()) yield { line: i + 1, record: r };
  },
};

function memoryIndex(): ObjectGoalIndex {
  const objects = new Map<string, string>();
  return new ObjectGoalIndex({
    put: async (k, body) => void objects.set(k, body),
    get: async (k) => objects.get(k),
  });
}

/** Passes of the chunk with the plan-time snapshot, as sync-chunk makes them. */
async function passes(
  world: World,
  actor: Actor,
  db: DynamoModel,
  hcm: HcmModel,
  store: ObjectGoalIndex,
  plan: ListingPlan,
) {
  const doc = modelDocClient(world, actor, db);
  const clock = world.clock(actor);
  const scope = { runId: RUN, connectionId: CONNECTION };
  const records = new RecordStore(doc, TABLE, { ...scope, expiresAt: 0 }, { clock });
  const ledger = new GoalLedger(doc, TABLE, scope, TIMING, { clock });
  const snapshot = await loadSnapshot(store, RUN, 1, CHUNK.index);
  const port = hcm.port(actor, plan.chunkHcm);
  const started = world.now;
  await passUntilComplete(clock, 8, (pass) =>
    processChunk(
      { runId: RUN, connectionId: CONNECTION, attempt: 1, chunk: CHUNK },
      {
        source,
        hcm: port,
        records,
        ledger,
        workerId: `${actor.name}#pass-${pass}`,
        remainingTimeMs: () => 15 * 60_000 - (world.now - started),
        clock,
        ...(snapshot ? { snapshot } : {}),
      },
      { concurrency: 2 },
    ),
  );
}

export async function runListingScenario(s: fc.Scheduler, plan: ListingPlan): Promise<Verdict> {
  const world = new World(s);
  const db = new DynamoModel([checkpointTableSpec(TABLE)]);
  const hcm = new HcmModel(world, TIMING);
  hcm.keyset = plan.keyset;
  // Goals of other workers first (lower GoalIds), then g-1's, then one more: g-1's sits on a later page.
  const before = [hcm.seed(PLAN, goal(109, 'Filler a')), hcm.seed(PLAN, goal(109, 'Filler b'))];
  before.push(hcm.seed(PLAN, goal(108, 'Filler c')));
  hcm.seed(PLAN, goal(101, 'Ship it'));
  hcm.seed(PLAN, goal(109, 'Filler d'));
  const errors: string[] = [];
  const store = memoryIndex();

  const planSync = world.actor('plan-sync');
  const person = world.actor('person in HCM');
  const listing = buildGoalIndex(
    {
      runId: RUN,
      attempt: 1,
      chunks: [CHUNK],
      goalPlanIds: [PLAN],
      validRecords: RECORDS.length,
      verify: false,
    },
    { hcm: hcm.port(planSync), source, store, now: () => world.now },
    { minRecords: 0, pageSize: plan.pageSize, concurrency: 1 },
  ).catch((err: unknown) => {
    errors.push(`plan-sync: ${(err as Error).message}`);
  });
  void (async () => {
    const clock = world.clock(person);
    await clock.sleep(Math.max(1, plan.shiftAfterMs));
    const gone = before[plan.deleted]!;
    await world.step(person, `delete ${gone.GoalName}`, 5, () => hcm.goals.delete(gone.GoalId));
    await world.step(person, 'add Filler e', 5, () => hcm.seed(PLAN, goal(108, 'Filler e')));
  })().catch((err: unknown) => errors.push(`person: ${(err as Error).message}`));
  const first = await world.run(2_000);
  await listing;

  const chunk = world.actor('sync-chunk');
  void passes(world, chunk, db, hcm, store, plan).catch((err: unknown) =>
    errors.push(`sync-chunk: ${(err as Error).message}`),
  );
  const second = await world.run(5_000);

  const violations: string[] = [];
  if (first.exhausted || second.exhausted) violations.push('livelock: the step budget ran out');
  for (const [key, n] of hcm.countsByKey()) if (n > 1) violations.push(`${n} HCM goals for ${key}`);
  return { violations: [...violations, ...errors.map((e) => `unexpected error: ${e}`)], story: world.story };
}
