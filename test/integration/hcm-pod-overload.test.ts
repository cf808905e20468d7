import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdaptiveLimiter, HcmGoalsClient } from '#core/hcm/index.ts';
import { ceilingOf, InProcessRateLimiter } from '#core/rate/index.ts';
import { systemClock, type TokenProvider } from '../../lambdas/core/ports.ts';
import { type DevTokenIssuer, startDevTokenIssuer } from '../../local/hcm/dev-tokens.ts';
import { GOAL_PLANS, type HcmSim, startHcmSim } from '../../local/hcm/index.ts';

/**
 * The client against the simulator's pod-capacity mode over HTTP: a pod that serves CAPACITY requests
 * per second (latency grows with its queue, then a slow 503 without Retry-After), no 429 at all, and
 * the local default ceiling (the simulator's usual 50 req/s) well above the pod. The pod gives up after 1 s
 * of queue, so 80 requests in flight would get ~40 req/s through to it in a closed loop. Only the pacer's
 * reading of latency and 503s keeps the client under the pod's capacity.
 */
const CAPACITY = 16;
const PLAN_ID = GOAL_PLANS[0]!.GoalPlanId;
const SECONDS = 30;

let idp: DevTokenIssuer;
let sim: HcmSim;

beforeAll(async () => {
  idp = await startDevTokenIssuer();
  sim = await startHcmSim({
    jwksUrl: idp.jwksUrl,
    issuer: idp.issuer,
    persons: 50,
    faults: { rateLimitPerSecond: 0, latencyMs: 20, podCapacityPerSecond: CAPACITY, podMaxQueueMs: 1_000 },
  });
});

afterAll(async () => {
  await sim?.close();
  await idp?.close();
});

function tokens(): TokenProvider {
  let token: Promise<string> | undefined;
  return {
    getToken: async () => {
      token ??= idp.mint({ clientId: 'pod-overload' });
      const now = Date.now();
      return { accessToken: await token, expiresAt: now + 3_600_000, issuedAt: now, version: 1 };
    },
  };
}

describe('the HCM client against a pod of a given capacity (HTTP)', () => {
  it(`two containers with 40 requests in flight each stay under 1.2 x ${CAPACITY} req/s in every sliding second`, async () => {
    const ceiling = ceilingOf(new InProcessRateLimiter(50, systemClock, 'HCM request ceiling'), systemClock);
    const clients = Array.from(
      { length: 2 },
      () =>
        new HcmGoalsClient({
          baseUrl: sim.url,
          connectionId: 'pod',
          tokens: tokens(),
          limiter: new AdaptiveLimiter({ ceiling }),
        }),
    );
    const until = Date.now() + SECONDS * 1_000;
    let reads = 0;
    let failures = 0;
    const lane = async (client: HcmGoalsClient, i: number) => {
      while (Date.now() < until) {
        await client.listPlanAssignees(PLAN_ID, { offset: i % 50, limit: 1 }).then(
          () => {
            reads += 1;
          },
          () => {
            failures += 1;
          },
        );
      }
    };
    await Promise.all(clients.flatMap((c) => Array.from({ length: 40 }, (_, i) => lane(c, i))));
    const pod = sim.stats().pod!;
    expect(pod.capacityPerSecond).toBe(CAPACITY);
    expect(pod.peakPerSlidingSecond).toBeLessThanOrEqual(1.2 * CAPACITY);
    expect(reads).toBeGreaterThan(0);
    // The pacers slowed for the pod (latency, or a 503), not because anything else stopped them.
    const cuts = clients.reduce((n, c) => n + c.limiter.cuts.latency + c.limiter.cuts.overload, 0);
    expect(cuts).toBeGreaterThan(0);
    expect(failures).toBe(0);
  });
});
