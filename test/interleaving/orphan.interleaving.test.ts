import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { interleavingParameters, SUITE_TIMEOUT_MS, storyOf } from './budget.ts';
import { orphanPlanArb, runOrphanScenario } from './orphan-scenario.ts';

/**
 * 2,000 schedules per `npm test` (about 20 s on a quiet machine) rather than the CI budget of 10,000:
 * the window's space is small (when the takeover comes, the faults of two passes) and the mutation
 * check finds it within 20 schedules. INTERLEAVING_RUNS (the soak) raises it like the other suites.
 */
const ORPHAN_SCHEDULES = 2_000;

describe('run generation under every schedule (fast-check scheduler): window O9', () => {
  it(
    'an orphaned pass after release never leaves older content than the run that took the connection',
    async () => {
      const params = interleavingParameters();
      if (process.env.INTERLEAVING_RUNS === undefined) params.numRuns = ORPHAN_SCHEDULES;
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), orphanPlanArb, async (s, plan) => {
          runs += 1;
          const verdict = await runOrphanScenario(s, plan);
          if (verdict.violations.length > 0)
            throw new Error(`${verdict.violations.join('; ')}\nstory: ${storyOf(s, verdict.story)}`);
        }),
        params,
      );
      console.log(`orphan interleavings: ${runs} schedules, 0 violations`);
      expect(runs).toBeGreaterThanOrEqual(params.numRuns);
    },
    SUITE_TIMEOUT_MS,
  );
});
