import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { interleavingParameters, SUITE_TIMEOUT_MS, storyOf } from './budget.ts';
import { orphanPlanArb, runOrphanScenario } from './orphan-scenario.ts';

describe('run generation under every schedule (fast-check scheduler): window O9', () => {
  it(
    'an orphaned pass after release never leaves older content than the run that took the connection',
    async () => {
      const params = interleavingParameters();
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
