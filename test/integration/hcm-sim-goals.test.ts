import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FIRST_GOAL_ID } from '../../local/hcm/store.ts';
import {
  FY26,
  FY27,
  goalBody,
  linkOf,
  personId,
  planGoals,
  type SimHarness,
  selfPath,
  startSimHarness,
  topGoals,
} from '../support/hcm-sim-http.ts';

let h: SimHarness;
const create = (body: unknown, planId = FY26.GoalPlanId, headers: Record<string, string> = {}) =>
  h.call(planGoals(planId), { method: 'POST', body, headers });
const findInPlan = (q: string, extra = '', planId = FY26.GoalPlanId) =>
  h.call(`${planGoals(planId)}?q=${encodeURIComponent(q)}${extra}`);

beforeAll(async () => {
  h = await startSimHarness({ listOrder: 'creation' });
});
afterAll(async () => h?.close());
beforeEach(() => h.sim.resetStats());

describe('HCM simulator: plan child goal lifecycle', () => {
  it('creates a goal with server ids, Location and ETag; the key is only in links', async () => {
    const created = await create(goalBody(0, { Description: 'Grow revenue' }));
    expect(created.status).toBe(201);
    const g = created.body;
    expect(g.GoalId).toBeGreaterThanOrEqual(FIRST_GOAL_ID);
    expect(g).toMatchObject({
      PersonId: personId(0),
      PersonNumber: 'E000001',
      AssignmentId: 300000100000000,
      AssignmentNumber: 'E000001-1',
      GoalPlanId: FY26.GoalPlanId,
      ReviewPeriodId: FY26.ReviewPeriodId,
      Weighting: 25,
      Description: 'Grow revenue',
    });
    expect(g.performanceGoalsUniqID).toBeUndefined();
    expect(JSON.stringify({ ...g, links: undefined })).not.toContain(selfPath(g).split('/').at(-1));
    expect(linkOf(g)).toBe(linkOf(g, 'canonical'));
    expect(created.headers.get('location')).toBe(linkOf(g));
    expect(selfPath(g).startsWith(`${planGoals(FY26.GoalPlanId)}/`)).toBe(true);
    expect(created.headers.get('etag')).toMatch(/^".+"$/);
    expect(created.headers.get('content-type')).toBe('application/vnd.oracle.adf.resourceitem+json');

    const again = await h.call(selfPath(g));
    expect(again.status).toBe(200);
    expect(again.body.GoalId).toBe(g.GoalId);
    const onlyData = await h.call(`${selfPath(g)}?onlyData=true`);
    expect(onlyData.body.links).toBeUndefined();
    expect(onlyData.body.GoalId).toBe(g.GoalId);
    expect(h.sim.stats()).toMatchObject({ creates: 1, reads: 2, goalsStored: h.sim.goals().length });
  });

  it("a key of the other resource, or of another plan's goal, is 404", async () => {
    const g = (await create(goalBody(1))).body;
    const planKey = selfPath(g).split('/').at(-1)!;
    const top = (await h.call(`${topGoals}?q=GoalId=${g.GoalId}`)).body.items[0];
    const topKey = selfPath(top).split('/').at(-1)!;
    expect(topKey).not.toBe(planKey);
    expect((await h.call(`${topGoals}/${topKey}`)).status).toBe(200);
    expect((await h.call(`${planGoals(FY26.GoalPlanId)}/${topKey}`)).status).toBe(404);
    expect(
      (await h.call(`${planGoals(FY26.GoalPlanId)}/${topKey}`, { method: 'PATCH', body: {} })).status,
    ).toBe(404);
    expect((await h.call(`${topGoals}/${planKey}`)).status).toBe(404);
    expect((await h.call(`${planGoals(FY27.GoalPlanId)}/${planKey}`)).status).toBe(404);
  });

  it('updates with PATCH, refuses a stale If-Match with 412, and deletes', async () => {
    const g = (await create(goalBody(2))).body;
    const item = selfPath(g);
    const etag1 = (await h.call(item)).headers.get('etag')!;
    const patched = await h.call(item, {
      method: 'PATCH',
      body: { StatusCode: 'IN_PROGRESS', PercentCompletion: '25' },
      headers: { 'If-Match': etag1 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      StatusCode: 'IN_PROGRESS',
      PercentCompletion: '25',
      GoalName: g.GoalName,
    });
    const etag2 = patched.headers.get('etag')!;
    expect(etag2).not.toBe(etag1);

    const stale = await h.call(item, {
      method: 'PATCH',
      body: { Weighting: 10 },
      headers: { 'If-Match': etag1 },
    });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('etag')).toBe(etag2);
    expect(h.sim.goals().find((x) => x.GoalId === g.GoalId)?.Weighting).toBe(25);

    expect((await h.call(item, { method: 'DELETE', headers: { 'If-Match': etag1 } })).status).toBe(412);
    expect((await h.call(item, { method: 'DELETE', headers: { 'If-Match': etag2 } })).status).toBe(204);
    expect((await h.call(item)).status).toBe(404);
    expect(h.sim.stats()).toMatchObject({ updates: 1, deletes: 1 });
  });

  it('the top-level resource is read-only: 405 on every write, with Allow: GET', async () => {
    const g = (await create(goalBody(3))).body;
    const top = (await h.call(`${topGoals}?q=GoalId=${g.GoalId}`)).body.items[0];
    for (const [path, method] of [
      [topGoals, 'POST'],
      [selfPath(top), 'PATCH'],
      [selfPath(top), 'DELETE'],
    ] as const) {
      const res = await h.call(path, { method, body: method === 'DELETE' ? undefined : goalBody(3) });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow')).toBe('GET');
    }
    expect(h.sim.stats().goalsStored).toBe(h.sim.goals().length);
  });

  it('top-level items carry no plan ids; the plan lives in associatedGoalPlans', async () => {
    const g = (await create(goalBody(4, { Weighting: 40, PriorityCode: 'LOW' }))).body;
    const top = (await h.call(`${topGoals}?q=GoalId=${g.GoalId}`)).body.items[0];
    expect(top).toMatchObject({ GoalId: g.GoalId, GoalName: g.GoalName, PersonId: g.PersonId });
    expect(top.GoalPlanId).toBeUndefined();
    expect(top.GoalPlanGoalId).toBeUndefined();
    expect(top.Weighting).toBeUndefined();
    const plans = await h.call(new URL(linkOf(top, 'child')).pathname);
    expect(plans.status).toBe(200);
    expect(plans.body.items).toHaveLength(1);
    expect(plans.body.items[0]).toMatchObject({
      GoalPlanGoalId: g.GoalPlanGoalId,
      GoalPlanId: FY26.GoalPlanId,
      Weighting: 40,
      PriorityCode: 'LOW',
    });
    expect((await h.call(selfPath(plans.body.items[0]))).body.GoalPlanId).toBe(FY26.GoalPlanId);
    // GoalPlanId is not a documented finder attribute of the top-level resource.
    expect((await h.call(`${topGoals}?q=GoalPlanId=${FY26.GoalPlanId}`)).status).toBe(400);
  });
});

describe('HCM simulator: plan child finder', () => {
  it('finds by PersonId + GoalName in both q spellings, with quotes and numbers', async () => {
    const name = "Ship it; don't slip";
    const g = (await create(goalBody(5, { GoalName: name }))).body;
    await create(goalBody(5));
    const esc = name.replaceAll("'", "''");
    for (const q of [
      `PersonId=${personId(5)};GoalName='${esc}'`,
      `PersonId = ${personId(5)} and GoalName = '${esc}'`,
    ]) {
      const res = await findInPlan(q);
      expect(res.status).toBe(200);
      expect(res.body.items.map((i: { GoalId: number }) => i.GoalId)).toEqual([g.GoalId]);
      expect(selfPath(res.body.items[0])).toBe(selfPath(g));
    }
    expect((await findInPlan(`GoalId=${g.GoalId}`)).body.items).toHaveLength(1);
    expect((await findInPlan(`PersonId=${personId(5)}`)).body.count).toBe(2);
    expect((await findInPlan(`PersonId=${personId(5)};StatusCode=COMPLETED`)).body.count).toBe(0);
    expect((await findInPlan(`PersonId=${personId(5)}`, '', FY27.GoalPlanId)).body.count).toBe(0);
  });

  it('answers 400 for finders it cannot run and 404 for an unknown plan collection', async () => {
    for (const q of [
      'Bogus=1',
      "GoalName LIKE 'x%'",
      'GoalId=1 or GoalId=2',
      "GoalName='E1",
      'GoalId=abc',
      'PersonNumber=E000001',
      'Weighting=1',
    ]) {
      const res = await findInPlan(q);
      expect(res.status, q).toBe(400);
      expect(res.body['o:errorDetails'][0].detail).toContain('q');
    }
    expect((await findInPlan(`PersonId=${personId(0)}`, '&limit=-1')).status).toBe(400);
    expect((await h.call(planGoals(123))).status).toBe(404);
  });
});

describe('HCM simulator: duplicates and Upsert-Mode', () => {
  it('a plain POST of the same goal twice stores two goals, and stats count the duplicate', async () => {
    const before = h.sim.stats();
    const same = goalBody(6, { GoalName: 'Twice posted' });
    expect((await create(same)).status).toBe(201);
    expect((await create(same)).status).toBe(201);
    const after = h.sim.stats();
    expect(after.duplicates - before.duplicates).toBe(1);
    expect(after.duplicateKeys - before.duplicateKeys).toBe(1);
    expect(after.goalsStored - before.goalsStored).toBe(2);
    await create(same);
    expect(h.sim.stats().duplicates - before.duplicates).toBe(2);
    expect(h.sim.stats().duplicateKeys - before.duplicateKeys).toBe(1);
  });

  it('Upsert-Mode: true updates the goal with the same PersonId + plan + GoalName', async () => {
    const before = h.sim.stats();
    const first = await create(goalBody(7, { GoalName: 'Upserted' }), FY26.GoalPlanId, {
      'Upsert-Mode': 'true',
    });
    expect(first.status).toBe(201);
    const second = await create(
      goalBody(7, { GoalName: 'Upserted', StatusCode: 'COMPLETED', Weighting: 50 }),
      FY26.GoalPlanId,
      { 'Upsert-Mode': 'true' },
    );
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ GoalId: first.body.GoalId, StatusCode: 'COMPLETED', Weighting: 50 });
    const otherPlan = goalBody(7, {
      GoalName: 'Upserted',
      StartDate: '2027-02-01',
      TargetCompletionDate: '2027-03-01',
    });
    expect((await create(otherPlan, FY27.GoalPlanId, { 'Upsert-Mode': 'true' })).status).toBe(201);
    const after = h.sim.stats();
    expect(after.duplicates).toBe(before.duplicates);
    expect(after).toMatchObject({ creates: before.creates + 2, updates: before.updates + 1 });
  });
});
