import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { protocolGuards } from '../../lambdas/core/protocol-guards.ts';
import { interleavingParameters, SUITE_TIMEOUT_MS, storyOf } from './budget.ts';
import { listingPlanArb, runListingScenario } from './listing-scenario.ts';

describe('plan listing under every schedule (fast-check scheduler): window O10', () => {
  it(
    'a delete and an add between two pages of the plan-wide read never lead to a second goal of one key',
    async () => {
      const params = interleavingParameters();
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(fc.scheduler(), listingPlanArb, async (s, plan) => {
          runs += 1;
          const verdict = await runListingScenario(s, plan);
          if (verdict.violations.length > 0)
            throw new Error(`${verdict.violations.join('; ')}\nstory: ${storyOf(s, verdict.story)}`);
        }),
        params,
      );
      console.log(`listing interleavings: ${runs} schedules, 0 violations`);
      expect(runs).toBeGreaterThanOrEqual(params.numRuns);
    },
    SUITE_TIMEOUT_MS,
  );

  afterEach(() => {
    protocolGuards.liveFinderAfterOffsetListing = true;
  });

  it('control: read by key, the listing cannot skip, so even without the live finder no key gets two goals', async () => {
    // A control, not a proof (the mutation check shows the offset window): 2,000 schedules.
    protocolGuards.liveFinderAfterOffsetListing = false;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), listingPlanArb, async (s, plan) => {
        const verdict = await runListingScenario(s, { ...plan, keyset: true });
        if (verdict.violations.length > 0)
          throw new Error(`${verdict.violations.join('; ')}\nstory: ${storyOf(s, verdict.story)}`);
      }),
      { numRuns: 2_000, seed: 42 },
    );
  }, 600_000);
});
