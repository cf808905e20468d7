import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { interleavingParameters, SUITE_TIMEOUT_MS, storyOf } from './budget.ts';
import { redeliveryPlanArb, runRedeliveryScenario } from './redelivery-scenario.ts';

describe('redelivered nightly trigger under every schedule (fast-check scheduler): window O11', () => {
  it(
    'never two executions of one run at once, and a run an execution completed never ends failed',
    async () => {
      const params = interleavingParameters();
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), redeliveryPlanArb, async (s, plan) => {
          runs += 1;
          const verdict = await runRedeliveryScenario(s, plan);
          if (verdict.violations.length > 0)
            throw new Error(`${verdict.violations.join('; ')}\nstory: ${storyOf(s, verdict.story)}`);
        }),
        params,
      );
      console.log(`redelivery interleavings: ${runs} schedules, 0 violations`);
      expect(runs).toBeGreaterThanOrEqual(params.numRuns);
    },
    SUITE_TIMEOUT_MS,
  );
});
