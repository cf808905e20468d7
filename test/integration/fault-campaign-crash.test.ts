import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareWithHcm, naturalKey } from '../../bench/bench-source.ts';
import { crashAt, namespacedSource, prng } from '../support/campaign.ts';
import { measure, type PipelinePeers, runPipeline, startPipelinePeers } from './pipeline-harness.ts';

/**
 * Fault campaign, crash-resume (issue 7, scenario 4): for each seed a random workload is killed at a
 * random HCM call (before it is sent, or after it committed and before the answer is recorded),
 * sometimes killed again during the resume, then resumed to the end. Every count comes from the HCM
 * simulator: each valid goal exactly once, and HCM writes = valid goals (nothing written twice).
 * Seeds run on 4 independent sets of peers at once: the runs wait on HCM pacing, not on the CPU.
 */
const SEEDS = Array.from({ length: 20 }, (_, i) => 1000 + i);
const TRACKS = 4;

const tracks: PipelinePeers[] = [];
afterAll(async () => {
  await Promise.all(tracks.map((p) => p.close()));
});

type SeedSummary = Record<string, number | string>;

async function crashAndResume(peers: PipelinePeers, seed: number): Promise<SeedSummary> {
  const t0 = performance.now();
  const label = `seed ${seed}`;
  const r = prng(seed);
  const facts = await namespacedSource(join(peers.dir, `crash-${seed}.jsonl`), {
    goals: r.int(25, 60),
    seed,
    invalidRate: 0.03,
  });
  const valid = facts.validKeys.size;
  // Each lane is one HCM client with its own pacer: more lanes, more requests per second.
  const shape = {
    runId: `campaign-${seed}`,
    sourcePath: facts.path,
    chunkSize: r.int(5, 15),
    concurrency: r.int(4, 10),
  };
  const before = peers.hcm.stats();
  // At least one call per valid goal (its POST), so any point up to `valid` lands inside the run.
  const point = { atCall: r.int(1, valid), when: r.next() < 0.5 ? 'before-send' : 'after-commit' } as const;
  const first = crashAt(point);
  const crashed = await runPipeline(peers, { ...shape, wrapHcm: first.wrap });
  expect(first.state.dead, label).toBe(true);
  expect(crashed.finish, label).toBeUndefined();
  const atCrash = peers.hcm.stats();

  let resumes = 1;
  if (r.next() < 0.35) {
    // Killed again while resuming: pending intents of two dead processes to reconcile.
    const left = valid - (atCrash.goalsStored - before.goalsStored);
    const second = crashAt({ atCall: r.int(1, Math.max(1, left)), when: 'after-commit' });
    await runPipeline(peers, { ...shape, wrapHcm: second.wrap });
    resumes += 1;
  }
  const final = await runPipeline(peers, shape);
  const after = peers.hcm.stats();

  expect(final.finish, label).toMatchObject({ status: 'completed', goals: { failed: 0 } });
  // Exactly once in HCM: every valid goal present, none twice (duplicates is simulator-wide).
  const mine = peers.hcm
    .goals()
    .filter((g) => facts.validKeys.has(naturalKey(g.PersonNumber, g.GoalPlanId, g.GoalName)));
  expect(compareWithHcm(facts, mine).lost, label).toBe(0);
  expect(mine.length, label).toBe(valid);
  expect(after.duplicates, label).toBe(0);
  // Each goal written once over all processes: a committed create is adopted, never repeated.
  expect(after.creates - before.creates, label).toBe(valid);
  expect(after.updates - before.updates, label).toBe(0);
  // The resume(s) wrote exactly what the crash left missing.
  expect(after.creates - atCrash.creates, label).toBe(valid - (atCrash.goalsStored - before.goalsStored));
  if (first.state.diedOnCommittedCreate) {
    expect(final.finish!.goals.reconciled, `${label}: the dead worker's create`).toBeGreaterThanOrEqual(1);
  }
  return {
    seed,
    valid,
    crashAt: `${point.when} #${point.atCall}`,
    committedAtCrash: atCrash.goalsStored - before.goalsStored,
    resumes,
    reconciled: final.finish!.goals.reconciled,
    ms: Math.round(performance.now() - t0),
  };
}

describe('fault campaign: crash at a random point, resume', () => {
  it(`${SEEDS.length} seeds: no duplicate, nothing lost, the resume writes only what is missing`, async () => {
    for (let i = 0; i < TRACKS; i++) {
      tracks.push(await startPipelinePeers({ tokenTtlSeconds: 30, hcmFaults: { rateLimitPerSecond: 0 } }));
    }
    const summaries = await Promise.all(
      tracks.map(async (peers, t) => {
        const out: SeedSummary[] = [];
        for (const seed of SEEDS.filter((_, i) => i % TRACKS === t))
          out.push(await crashAndResume(peers, seed));
        return out;
      }),
    );
    const runs = summaries.flat();
    expect(runs).toHaveLength(SEEDS.length);
    measure('fault-campaign crash-resume', { seeds: SEEDS.length, runs });
  });
});
