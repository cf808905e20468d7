import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkStore, RecordStore } from '#core/checkpoint/index.ts';
import type { GoalPayload, PlanGoal, WriteGuard } from '#core/hcm/index.ts';
import { processChunk } from '#core/sync/index.ts';
import { startTestDynamo, type TestDynamo } from '../support/dynalite.ts';
import { ArraySource, FakeHcm, goal } from './sync-fakes.ts';

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  await dynamo.close();
});

/** An HCM whose creates take a while, reporting a fixed in-flight demand and the peak it saw. */
class SlowHcm extends FakeHcm {
  running = 0;
  peak = 0;
  inFlightDemand?: () => number;
  constructor(demand: number | undefined) {
    super();
    if (demand !== undefined) this.inFlightDemand = () => demand;
  }
  override async create(goalPlanId: number, payload: GoalPayload, guard?: WriteGuard): Promise<PlanGoal> {
    this.running += 1;
    this.peak = Math.max(this.peak, this.running);
    try {
      await new Promise((r) => setTimeout(r, 40));
      return await super.create(goalPlanId, payload, guard);
    } finally {
      this.running -= 1;
    }
  }
}

let n = 0;
async function pass(hcm: SlowHcm) {
  const runId = `window-run-${++n}`;
  const connectionId = `window-conn-${n}`;
  const source = ArraySource.of(Array.from({ length: 60 }, (_, i) => goal(i)));
  return processChunk(
    { runId, connectionId, attempt: 1, chunk: source.chunk() },
    {
      source,
      hcm,
      records: new RecordStore(dynamo.doc, dynamo.tables.checkpoints, { runId, connectionId, expiresAt: 1 }),
      chunks: new ChunkStore(dynamo.doc, dynamo.tables.checkpoints),
      workerId: 'w',
      remainingTimeMs: () => 600_000,
    },
    { concurrency: 4, minTimeMarginMs: 1_000 },
  );
}

describe('processChunk: records in flight follow the HCM client demand', () => {
  it('keeps the configured number in flight when the client has no higher demand', async () => {
    const hcm = new SlowHcm(undefined);
    const r = await pass(hcm);
    expect(r.counts.created).toBe(60);
    expect(hcm.peak).toBeLessThanOrEqual(4);
    const low = new SlowHcm(2);
    await pass(low);
    expect(low.peak).toBeLessThanOrEqual(4);
  });

  it('raises records in flight to the demand of a client facing a slow server', async () => {
    const hcm = new SlowHcm(12);
    const r = await pass(hcm);
    expect(r.counts.created).toBe(60);
    expect(hcm.peak).toBeGreaterThan(4);
    expect(hcm.peak).toBeLessThanOrEqual(12);
  });
});
