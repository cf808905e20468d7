import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { brokerPlanArb } from './broker-plans.ts';
import { runBrokerScenario } from './broker-scenario.ts';
import { interleavingParameters, SUITE_TIMEOUT_MS, storyOf } from './budget.ts';

describe('token broker refresh protocol under every schedule (fast-check scheduler)', () => {
  it(
    'never resends a used refresh token, never hands out an older version than asked, ends active or needs_reauth with one event, never holds a lease forever',
    async () => {
      const params = interleavingParameters();
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), brokerPlanArb, async (s, plan) => {
          runs += 1;
          const verdict = await runBrokerScenario(s, plan);
          if (verdict.violations.length > 0)
            throw new Error(`${verdict.violations.join('; ')}\nstory: ${storyOf(s, verdict.story)}`);
        }),
        params,
      );
      console.log(`broker interleavings: ${runs} schedules, 0 violations`);
      expect(runs).toBeGreaterThanOrEqual(params.numRuns);
    },
    SUITE_TIMEOUT_MS,
  );
});
