import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HcmGoalsClient } from '#core/hcm/index.ts';
import { PERSONS_PER_QUERY, readPlanAssignees, readRunAssignees } from '#core/sync/index.ts';
import type { TokenProvider } from '../../lambdas/core/ports.ts';
import { type DevTokenIssuer, startDevTokenIssuer } from '../../local/hcm/dev-tokens.ts';
import { GOAL_PLANS, type HcmSim, startHcmSim } from '../../local/hcm/index.ts';

/**
 * The HDL build step's bulk resolution of a run's workers (issue 24), through the HTTP client against
 * the simulator: `PersonNumber IN (...)` lists when they cost fewer requests than the whole plan, the
 * whole plan otherwise, and the whole plan again when the pod refuses `IN` with a 400.
 */
const PERSONS = 2_000;
const PLAN_ID = GOAL_PLANS[0]!.GoalPlanId;

let idp: DevTokenIssuer;
let pod: HcmSim;
let podWithoutIn: HcmSim;

beforeAll(async () => {
  idp = await startDevTokenIssuer();
  const options = {
    jwksUrl: idp.jwksUrl,
    issuer: idp.issuer,
    persons: PERSONS,
    faults: { rateLimitPerSecond: 0 },
  };
  pod = await startHcmSim(options);
  podWithoutIn = await startHcmSim({ ...options, qInOperator: false });
});

afterAll(async () => {
  await pod?.close();
  await podWithoutIn?.close();
  await idp?.close();
});

function clientOf(sim: HcmSim): HcmGoalsClient {
  let token: Promise<string> | undefined;
  const tokens: TokenProvider = {
    getToken: async () => {
      token ??= idp.mint({ clientId: 'run-assignees' });
      const now = Date.now();
      return { accessToken: await token, expiresAt: now + 3_600_000, issuedAt: now, version: 1 };
    },
  };
  return new HcmGoalsClient({
    baseUrl: sim.url,
    connectionId: 'c',
    tokens,
    backoff: { baseMs: 5, capMs: 20 },
  });
}

/** The whole plan, read the old way: what every cheaper read must agree with. */
async function wholePlan(client: HcmGoalsClient) {
  const counter = { requests: 0 };
  const plan = await readPlanAssignees(
    (id, page, p) => client.listPlanAssignees(id, page, p),
    PLAN_ID,
    counter,
  );
  return { plan, pages: counter.requests };
}

describe('readRunAssignees: the run workers assignments on one plan', () => {
  it('a run naming few of the plan workers asks for them in IN lists: 1 + lists requests, the same rows', async () => {
    const client = clientOf(pod);
    const { plan: whole, pages } = await wholePlan(client);
    const onPlan = [...whole.personNumbers().values()];
    expect(pages).toBeGreaterThanOrEqual(3);
    const named = onPlan.filter((_, i) => i % 7 === 0).slice(0, PERSONS_PER_QUERY + 50);
    // A worker the plan does not hold is asked for too and simply has no rows (a record error later).
    const counter = { requests: 0 };
    const read = await readRunAssignees(client, PLAN_ID, [...named, 'NOT-A-WORKER', named[0]!], counter);
    expect(counter.requests).toBe(1 + 2);
    expect(counter.requests).toBeLessThan(pages);
    expect(new Set(read.personNumbers().values())).toEqual(new Set(named));
    for (const person of named) expect(read.rowsOf(person)).toEqual(whole.rowsOf(person));
    expect(read.rowsOf('NOT-A-WORKER')).toEqual([]);
  });

  it('a run naming most of the plan workers reads the plan whole (fewer requests than the lists)', async () => {
    const client = clientOf(pod);
    const { plan: whole, pages } = await wholePlan(client);
    const named = [...whole.personNumbers().values()];
    const counter = { requests: 0 };
    const read = await readRunAssignees(client, PLAN_ID, named, counter);
    expect(Math.ceil(named.length / PERSONS_PER_QUERY) + 1).toBeGreaterThan(pages);
    expect(counter.requests).toBe(pages);
    expect(read.personNumbers()).toEqual(whole.personNumbers());
  });

  it('a pod that answers 400 to IN is read whole: the same rows, one failed list more', async () => {
    const client = clientOf(podWithoutIn);
    const { plan: whole, pages } = await wholePlan(client);
    const named = [...whole.personNumbers().values()].slice(0, 10);
    const counter = { requests: 0 };
    const read = await readRunAssignees(client, PLAN_ID, named, counter);
    // The first page (size check), the refused list, then every page of the plan.
    expect(counter.requests).toBe(1 + 1 + pages);
    for (const person of named) expect(read.rowsOf(person)).toEqual(whole.rowsOf(person));
    expect(read.personNumbers()).toEqual(whole.personNumbers());
  });
  it('for plan-sync (maxPagesWithoutIn) a pod without IN and a plan dearer than one query per worker: not read', async () => {
    const client = clientOf(podWithoutIn);
    const { pages } = await wholePlan(client);
    const named = ['E000001', 'E000002'];
    expect(pages).toBeGreaterThan(named.length);
    const counter = { requests: 0 };
    const read = await readRunAssignees(client, PLAN_ID, named, counter, { maxPagesWithoutIn: named.length });
    // The size page, the refused list, the size page again: the chunks then ask per worker.
    expect(read).toBeUndefined();
    expect(counter.requests).toBe(3);
  });
});

describe('the simulator q operator IN (framework-2 row match)', () => {
  const base = () => `${pod.url}/hcmRestApi/resources/11.13.18.05/goalPlanAssignees`;
  const get = async (q: string) => {
    const token = await idp.mint({ clientId: 'run-assignees-raw' });
    const res = await fetch(`${base()}?onlyData=true&limit=500&q=${encodeURIComponent(q)}`, {
      headers: { Authorization: `Bearer ${token}`, 'REST-Framework-Version': '4' },
    });
    return { status: res.status, body: (await res.json()) as { items?: Array<{ PersonNumber: string }> } };
  };

  it('returns the rows of the listed workers only; quoted literals double their quotes', async () => {
    const all = await get(`GoalPlanId=${PLAN_ID}`);
    const two = all.body.items!.slice(0, 2).map((r) => r.PersonNumber);
    const answer = await get(
      `GoalPlanId=${PLAN_ID} and PersonNumber IN ('${two[0]}', '${two[1]}', 'O''Brien')`,
    );
    expect(answer.status).toBe(200);
    expect(new Set(answer.body.items!.map((r) => r.PersonNumber))).toEqual(new Set(two));
  });

  it('refuses a list longer than 1,000 and a malformed list with 400', async () => {
    const long = Array.from({ length: 1_001 }, (_, i) => `'${i}'`).join(',');
    expect((await get(`PersonNumber IN (${long})`)).status).toBe(400);
    expect((await get(`PersonNumber IN ('1' '2')`)).status).toBe(400);
  });
});
