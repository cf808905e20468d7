import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevTokenIssuer, startDevTokenIssuer } from '../../local/hcm/dev-tokens.ts';
import { GOAL_PLANS, type HcmSim, startHcmSim } from '../../local/hcm/index.ts';
import { personId, planGoals, ROOT, selfPath } from '../support/hcm-sim-http.ts';

const FY26 = GOAL_PLANS[0]!;
let idp: DevTokenIssuer;
let sim: HcmSim;
let token: string;

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected field by field in assertions
type Json = any;

async function batch(
  parts: unknown[],
  contentType = 'application/vnd.oracle.adf.batch+json',
): Promise<{ status: number; body: Json }> {
  const res = await fetch(sim.url + ROOT, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType },
    body: JSON.stringify({ parts }),
  });
  return { status: res.status, body: await res.json() };
}

const goal = (name: string, over: Record<string, unknown> = {}) => ({
  GoalName: name,
  PersonId: personId(9),
  StartDate: '2026-03-01',
  TargetCompletionDate: '2026-09-30',
  StatusCode: 'NOT_STARTED',
  ...over,
});
const createPart = (id: string, payload: unknown) => ({
  id,
  path: planGoals(FY26.GoalPlanId),
  operation: 'create',
  payload,
});

beforeAll(async () => {
  idp = await startDevTokenIssuer();
  sim = await startHcmSim({ jwksUrl: idp.jwksUrl, persons: 100, faults: { rateLimitPerSecond: 0 } });
  token = await idp.mint();
});

afterAll(async () => {
  await sim?.close();
  await idp?.close();
});

describe('HCM simulator: batch', () => {
  it('runs parts in order and answers each: create, get by relative path, finder, update', async () => {
    const res = await batch([
      createPart('a', goal('Batch A')),
      createPart('b', goal('Batch B')),
      {
        id: 'find',
        path: `goalPlans/${FY26.GoalPlanId}/child/performanceGoals?q=PersonId=${personId(9)};GoalName='Batch B'`,
        operation: 'get',
      },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.parts.map((p: { id: string }) => p.id)).toEqual(['a', 'b', 'find']);
    const [a, b, found] = res.body.parts;
    expect(b.payload.GoalId).toBe(a.payload.GoalId + 1);
    expect(found.payload.items.map((g: { GoalId: number }) => g.GoalId)).toEqual([b.payload.GoalId]);

    const item = selfPath(a.payload);
    const upd = await batch([
      { id: 'u', path: item, operation: 'update', payload: { StatusCode: 'COMPLETED' } },
      { id: 'g', path: `${sim.url}${item}`, operation: 'get' },
    ]);
    expect(upd.status).toBe(200);
    expect(upd.body.parts[1].payload.StatusCode).toBe('COMPLETED');
    expect(sim.stats()).toMatchObject({ batches: 2, creates: 2, updates: 1 });
  });

  it('is all-or-none: a failing part applies nothing and is named with its status', async () => {
    const before = sim.goals();
    const statsBefore = sim.stats();
    const res = await batch([
      createPart('ok-1', goal('Never stored 1')),
      createPart('ok-2', goal('Never stored 2')),
      createPart('bad', goal('Bad dates', { TargetCompletionDate: '2026-01-01' })),
      createPart('after', goal('Never reached')),
    ]);
    expect(res.status).toBe(400);
    expect(res.body.parts).toHaveLength(1);
    expect(res.body.parts[0]).toMatchObject({ id: 'bad', operation: 'create', status: 400 });
    expect(res.body.parts[0].payload['o:errorDetails'][0]['o:errorPath']).toBe('TargetCompletionDate');
    expect(sim.goals()).toEqual(before);
    expect(sim.stats()).toMatchObject({ creates: statsBefore.creates, goalsStored: statsBefore.goalsStored });

    // The GoalId sequence was rolled back too: the next create gets the id the failed batch would have used.
    const lastId = Math.max(...before.map((g) => g.GoalId));
    const next = await batch([createPart('n', goal('After rollback'))]);
    expect(next.body.parts[0].payload.GoalId).toBe(lastId + 1);
  });

  it('rolls back updates and deletes when a later part fails (404, 412)', async () => {
    const created = (await batch([createPart('c', goal('Rollback target', { Weighting: 10 }))])).body.parts[0]
      .payload;
    const item = selfPath(created);
    const missing = await batch([
      { id: 'u', path: item, operation: 'update', payload: { Weighting: 90 } },
      { id: 'd', path: item, operation: 'delete' },
      { id: 'gone', path: `${planGoals(FY26.GoalPlanId)}/NOPE`, operation: 'delete' },
    ]);
    expect(missing.status).toBe(404);
    expect(missing.body.parts[0]).toMatchObject({ id: 'gone', status: 404 });
    const stale = await batch([
      {
        id: 'r',
        path: item,
        operation: 'replace',
        payload: { ...goal('Replaced', { Weighting: 5 }), PersonId: undefined },
      },
      { id: 'p', path: item, operation: 'update', payload: { Weighting: 1 }, ifMatch: '"stale"' },
    ]);
    expect(stale.status).toBe(412);
    expect(stale.body.parts[0].id).toBe('p');
    const now = sim.goals().find((g) => g.GoalId === created.GoalId);
    expect(now).toMatchObject({ Weighting: 10, GoalName: 'Rollback target' });
  });

  it('refuses malformed batches as a whole', async () => {
    expect((await batch([])).status).toBe(400);
    expect((await batch([{ id: 'x', path: 'performanceGoals', operation: 'upsert' }])).status).toBe(400);
    expect(
      (await batch([{ id: 'x', path: 'performanceGoals', operation: 'get' }], 'application/json')).status,
    ).toBe(415);
    const wrongOp = await batch([
      { id: 'w', path: `${ROOT}/performanceGoals`, operation: 'create', payload: goal('x') },
    ]);
    expect(wrongOp.status).toBe(405);
    expect(wrongOp.body.parts[0].id).toBe('w');
  });
});
