import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { interleavingParameters, SUITE_TIMEOUT_MS, storyOf } from './budget.ts';
import { hdlPlanArb, runHdlScenario } from './hdl-scenario.ts';

/**
 * The HDL submission protocol under every schedule (windows H1 and H2): the CI budget of 10,000
 * schedules; INTERLEAVING_RUNS (the soak) changes it like the other suites.
 */
describe('HDL submission under every schedule (fast-check scheduler): windows H1, H2', () => {
  it(
    'no part loads twice, and no older part is sent or loaded after the run that took the connection',
    async () => {
      const params = interleavingParameters();
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), hdlPlanArb, async (s, plan) => {
          runs += 1;
          const verdict = await runHdlScenario(s, plan);
          if (verdict.violations.length > 0)
            throw new Error(`${verdict.violations.join('; ')}\nstory: ${storyOf(s, verdict.story)}`);
        }),
        params,
      );
      console.log(`hdl interleavings: ${runs} schedules, 0 violations`);
      expect(runs).toBeGreaterThanOrEqual(params.numRuns);
    },
    SUITE_TIMEOUT_MS,
  );
});
