import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assignees,
  assignmentId,
  FY26,
  FY27,
  goalBody,
  personId,
  planGoals,
  type SimHarness,
  selfPath,
  startSimHarness,
} from '../support/hcm-sim-http.ts';

/**
 * Who a goal belongs to (a worker's assignment, which must be assigned to the plan), the goal plan
 * assignees resource a client resolves them from in bulk, and collection paging without a promised order.
 * With 500 workers: index 39, 79, ... (E000040, ...) have two assignments; 52, 105, ... (E000053, ...)
 * have no goal plan.
 */
const TWO = 39;
const NONE = 52;
const PERSONS = 500;
const assignedRowsPerPlan = PERSONS - Math.floor(PERSONS / 53) + Math.floor(PERSONS / 40);

let h: SimHarness;
const create = (body: unknown, planId = FY26.GoalPlanId) =>
  h.call(planGoals(planId), { method: 'POST', body });
const details = (res: { body: { 'o:errorDetails': Array<{ detail: string; 'o:errorPath': string }> } }) =>
  res.body['o:errorDetails'];

beforeAll(async () => {
  h = await startSimHarness({ persons: PERSONS });
});
afterAll(async () => h?.close());

describe('HCM simulator: the worker and the goal plan assignment', () => {
  it('takes the only assignment when none is sent, and returns its number', async () => {
    const res = await create(goalBody(1));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ AssignmentId: assignmentId(1), AssignmentNumber: 'E000002-1' });
  });

  it('a worker with two assignments on the plan and no AssignmentId -> 400 naming both', async () => {
    const res = await create(goalBody(TWO));
    expect(res.status).toBe(400);
    const [d] = details(res);
    expect(d!['o:errorPath']).toBe('AssignmentId');
    expect(d!.detail).toContain('E000040');
    expect(d!.detail).toContain('E000040-1');
    expect(d!.detail).toContain('E000040-2');
    const second = await create(goalBody(TWO, { AssignmentId: assignmentId(TWO, true) }));
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({
      AssignmentId: assignmentId(TWO, true),
      AssignmentNumber: 'E000040-2',
    });
  });

  it('a worker whose assignment is not on the plan -> 400 naming the worker and the plan', async () => {
    for (const over of [{}, { AssignmentId: assignmentId(NONE) }]) {
      const res = await create(goalBody(NONE, over));
      expect(res.status).toBe(400);
      const [d] = details(res);
      expect(d!.detail).toContain('E000053');
      expect(d!.detail).toContain(String(FY26.GoalPlanId));
      expect(d!.detail).toMatch(/isn't assigned to the goal plan/);
    }
  });

  it("another worker's AssignmentId -> 400", async () => {
    const res = await create(goalBody(2, { AssignmentId: assignmentId(3) }));
    expect(res.status).toBe(400);
    expect(details(res)[0]!['o:errorPath']).toBe('AssignmentId');
  });
});

describe('HCM simulator: goalPlanAssignees', () => {
  it('lists a plan assignees in bulk, paged, with totalResults and opaque keys in links', async () => {
    const q = encodeURIComponent(`GoalPlanId=${FY26.GoalPlanId}`);
    const first = await h.call(`${assignees}?q=${q}&limit=200&totalResults=true`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ count: 200, hasMore: true, totalResults: assignedRowsPerPlan });
    const rows = [...first.body.items];
    for (let offset = 200; offset < 10_000; offset += 200) {
      const page = await h.call(`${assignees}?q=${q}&limit=200&offset=${offset}`);
      rows.push(...page.body.items);
      if (!page.body.hasMore) break;
    }
    expect(new Set(rows.map((r) => r.GoalPlanAssignmentId)).size).toBe(assignedRowsPerPlan);
    expect(rows.some((r) => r.PersonNumber === 'E000053')).toBe(false);
    expect(rows.filter((r) => r.PersonNumber === 'E000040')).toHaveLength(2);
    const one = rows.find((r) => r.PersonNumber === 'E000002');
    expect(one).toMatchObject({
      PersonId: personId(1),
      AssignmentId: assignmentId(1),
      AssignmentNumber: 'E000002-1',
    });
    expect((await h.call(selfPath(one))).body.GoalPlanAssignmentId).toBe(one.GoalPlanAssignmentId);
  });

  it('finds one worker by PersonNumber across plans; 400 for a non-queryable attribute; 405 on writes', async () => {
    const byNumber = await h.call(`${assignees}?q=PersonNumber=E000040`);
    expect(byNumber.body.items).toHaveLength(4);
    expect(new Set(byNumber.body.items.map((r: { GoalPlanId: number }) => r.GoalPlanId))).toEqual(
      new Set([FY26.GoalPlanId, FY27.GoalPlanId]),
    );
    expect((await h.call(`${assignees}?q=PersonNumber=E000053`)).body.count).toBe(0);
    expect((await h.call(`${assignees}?q=DisplayName=x`)).status).toBe(400);
    expect((await h.call(assignees, { method: 'POST', body: {} })).status).toBe(405);
    expect((await h.call(`${assignees}/1`)).status).toBe(404);
  });
});

describe('HCM simulator: paging', () => {
  it('defaults limit to 25, cuts it at 500, and promises no order', async () => {
    for (let i = 0; i < 30; i++) expect((await create(goalBody(200 + (i % 3)))).status).toBe(201);
    const all = await h.call(`${planGoals(FY26.GoalPlanId)}?onlyData=true`);
    expect(all.body).toMatchObject({ limit: 25, count: 25, hasMore: true });
    expect(all.body.links).toBeUndefined();
    const big = await h.call(`${planGoals(FY26.GoalPlanId)}?limit=1000&totalResults=true`);
    expect(big.body.limit).toBe(500);
    const ids = big.body.items.map((g: { GoalId: number }) => g.GoalId);
    expect(ids).toHaveLength(big.body.totalResults);
    expect(ids).not.toEqual([...ids].sort((a: number, b: number) => a - b));
    const again = await h.call(`${planGoals(FY26.GoalPlanId)}?limit=1000`);
    expect(again.body.items.map((g: { GoalId: number }) => g.GoalId)).toEqual(ids);
    // A write between two pages is seen by the next page: listings are never served stale.
    const added = (await create(goalBody(203))).body;
    const after = await h.call(`${planGoals(FY26.GoalPlanId)}?limit=1000&totalResults=true`);
    expect(after.body.totalResults).toBe(big.body.totalResults + 1);
    expect(after.body.items.map((g: { GoalId: number }) => g.GoalId)).toContain(added.GoalId);
    await h.call(selfPath(added), { method: 'DELETE' });
    expect((await h.call(`${planGoals(FY26.GoalPlanId)}?totalResults=true`)).body.totalResults).toBe(
      big.body.totalResults,
    );
  });

  it('keyset paging: GoalId > last with orderBy=GoalId:asc walks every goal once, in order', async () => {
    const q = (last: number) => encodeURIComponent(`GoalId > ${last}`);
    const seen: number[] = [];
    let last = 0;
    for (let pages = 0; pages < 50; pages++) {
      const page = await h.call(
        `${planGoals(FY26.GoalPlanId)}?onlyData=true&limit=7&orderBy=GoalId:asc&q=${q(last)}`,
      );
      expect(page.status).toBe(200);
      const ids = page.body.items.map((g: { GoalId: number }) => g.GoalId);
      seen.push(...ids);
      if (ids.length < 7) break;
      last = ids.at(-1);
    }
    const all = h.sim
      .goals()
      .filter((g) => g.GoalPlanId === FY26.GoalPlanId)
      .map((g) => g.GoalId);
    expect(seen).toEqual([...all].sort((a, b) => a - b));
    const desc = await h.call(`${planGoals(FY26.GoalPlanId)}?limit=3&orderBy=GoalId:desc`);
    expect(desc.body.items.map((g: { GoalId: number }) => g.GoalId)).toEqual(seen.slice(-3).reverse());
    for (const bad of ['Weighting:asc', 'Bogus', 'GoalId:up']) {
      expect((await h.call(`${planGoals(FY26.GoalPlanId)}?orderBy=${bad}`)).status, bad).toBe(400);
    }
  });

  it('a pod with a lower cap cuts limit to it', async () => {
    // 60 workers: one with two assignments, one with no plan -> 60 rows per plan, 120 in all.
    const small = await startSimHarness({ persons: 60, maxLimit: 100 });
    try {
      const page = await small.call(`${assignees}?limit=500&totalResults=true`);
      expect(page.body).toMatchObject({ limit: 100, count: 100, hasMore: true, totalResults: 120 });
      expect((await small.call(`${assignees}?limit=500&offset=100`)).body).toMatchObject({
        count: 20,
        hasMore: false,
      });
    } finally {
      await small.close();
    }
  });
});
