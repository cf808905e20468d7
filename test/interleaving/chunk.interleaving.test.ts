import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { interleavingParameters, SUITE_TIMEOUT_MS, storyOf } from './budget.ts';
import { chunkPlanArb, runChunkScenario } from './chunk-scenario.ts';

describe('chunk engine claim/commit protocol under every schedule (fast-check scheduler)', () => {
  it(
    'at most one HCM goal per natural key; every record ends done, pointing at the goal HCM holds',
    async () => {
      const params = interleavingParameters();
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), chunkPlanArb, async (s, plan) => {
          runs += 1;
          const verdict = await runChunkScenario(s, plan);
          if (verdict.violations.length > 0)
            throw new Error(`${verdict.violations.join('; ')}\nstory: ${storyOf(s, verdict.story)}`);
        }),
        params,
      );
      console.log(`chunk interleavings: ${runs} schedules, 0 violations`);
      expect(runs).toBeGreaterThanOrEqual(params.numRuns);
    },
    SUITE_TIMEOUT_MS,
  );
});
