import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type HcmGoal, hcmPaths } from '#core/hcm/index.ts';
import { type DevTokenIssuer, startDevTokenIssuer } from '../../local/hcm/dev-tokens.ts';
import { GOAL_PLANS, type HcmSim, PersonDirectory, seedPersons, startHcmSim } from '../../local/hcm/index.ts';
import { FIRST_GOAL_ID, uniqIdFor } from '../../local/hcm/store.ts';

const FY26 = GOAL_PLANS[0]!;
const FY27 = GOAL_PLANS[1]!;

let idp: DevTokenIssuer;
let sim: HcmSim;
let token: string;

interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected field by field in assertions
  body: any;
}

async function call(
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await fetch(sim.url + path, {
    method: init.method ?? 'GET',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

let seq = 0;
/** A valid FY2026 goal for person `person` (1-based); names are unique per test run unless given. */
function goal(person = 1, over: Record<string, unknown> = {}) {
  return {
    GoalName: `Goal ${++seq}`,
    PersonNumber: `E${String(person).padStart(6, '0')}`,
    StartDate: '2026-02-01',
    TargetCompletionDate: '2026-11-30',
    StatusCode: 'NOT_STARTED',
    PriorityCode: 'HIGH',
    Weight: 25,
    ...over,
  };
}

const create = (body: unknown, planId = FY26.GoalPlanId, headers: Record<string, string> = {}) =>
  call(hcmPaths.planGoals(planId), { method: 'POST', body, headers });

const find = (q: string, extra = '') =>
  call(`${hcmPaths.performanceGoals}?q=${encodeURIComponent(q)}${extra}`);

beforeAll(async () => {
  idp = await startDevTokenIssuer();
  sim = await startHcmSim({
    jwksUrl: idp.jwksUrl,
    issuer: idp.issuer,
    persons: 500,
    faults: { rateLimitPerSecond: 0 },
  });
  token = await idp.mint();
});

afterAll(async () => {
  await sim?.close();
  await idp?.close();
});

beforeEach(() => sim.resetStats());

describe('HCM simulator: goal lifecycle', () => {
  it('creates a goal with server keys, Location and ETag, and serves it on both item paths', async () => {
    const created = await create(goal(1, { Description: 'Grow revenue' }));
    expect(created.status).toBe(201);
    const g = created.body as HcmGoal;
    expect(g.GoalId).toBeGreaterThanOrEqual(FIRST_GOAL_ID);
    expect(g.performanceGoalsUniqID).toBe(uniqIdFor(g.GoalId, g.GoalPlanGoalId));
    expect(g).toMatchObject({
      PersonNumber: 'E000001',
      PersonId: 300000000000000,
      AssignmentId: 300000100000000,
      GoalPlanId: FY26.GoalPlanId,
      ReviewPeriodId: FY26.ReviewPeriodId,
      StatusMeaning: 'Not started',
      Description: 'Grow revenue',
    });
    expect(created.headers.get('location')).toBe(
      sim.url + hcmPaths.planGoal(FY26.GoalPlanId, g.performanceGoalsUniqID),
    );
    expect(created.headers.get('etag')).toMatch(/^".+"$/);
    expect(created.headers.get('content-type')).toBe('application/vnd.oracle.adf.resourceitem+json');

    const top = await call(hcmPaths.performanceGoal(g.performanceGoalsUniqID));
    expect(top.status).toBe(200);
    expect(top.body.GoalId).toBe(g.GoalId);
    expect(top.body.links.map((l: { rel: string }) => l.rel)).toContain('self');
    const child = await call(`${hcmPaths.planGoal(FY26.GoalPlanId, g.performanceGoalsUniqID)}?onlyData=true`);
    expect(child.status).toBe(200);
    expect(child.body.links).toBeUndefined();
    // The item exists only under its own plan.
    expect((await call(hcmPaths.planGoal(FY27.GoalPlanId, g.performanceGoalsUniqID))).status).toBe(404);
    expect(sim.stats()).toMatchObject({ creates: 1, reads: 2, goalsStored: sim.goals().length });
  });

  it('updates with PATCH, refuses a stale If-Match with 412, and deletes', async () => {
    const g = (await create(goal(2))).body as HcmGoal;
    const item = hcmPaths.planGoal(FY26.GoalPlanId, g.performanceGoalsUniqID);
    const etag1 = (await call(item)).headers.get('etag')!;

    const patched = await call(item, {
      method: 'PATCH',
      body: { StatusCode: 'IN_PROGRESS', PercentComplete: 40 },
      headers: { 'If-Match': etag1 },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      StatusCode: 'IN_PROGRESS',
      StatusMeaning: 'In progress',
      PercentComplete: 40,
    });
    expect(patched.body.GoalName).toBe(g.GoalName);
    const etag2 = patched.headers.get('etag')!;
    expect(etag2).not.toBe(etag1);

    const stale = await call(item, { method: 'PATCH', body: { Weight: 10 }, headers: { 'If-Match': etag1 } });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('etag')).toBe(etag2);
    expect(sim.goals().find((x) => x.GoalId === g.GoalId)?.Weight).toBe(25);

    expect((await call(item, { method: 'PATCH', body: { PersonNumber: 'E000003' } })).status).toBe(400);
    expect((await call(item, { method: 'DELETE', headers: { 'If-Match': etag1 } })).status).toBe(412);
    expect((await call(item, { method: 'DELETE', headers: { 'If-Match': etag2 } })).status).toBe(204);
    expect((await call(item)).status).toBe(404);
    expect(sim.stats()).toMatchObject({ updates: 1, deletes: 1 });
  });

  it('refuses writes on the read-only performanceGoals resource', async () => {
    const res = await call(hcmPaths.performanceGoals, { method: 'POST', body: goal(1) });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
  });
});

describe('HCM simulator: finders and paging', () => {
  it('finds by natural key in both q spellings, with quotes, numbers and unquoted words', async () => {
    const name = "Ship it; don't slip";
    const g = (await create(goal(3, { GoalName: name }))).body as HcmGoal;
    await create(goal(3));
    const quoted = `PersonNumber='E000003';GoalPlanId=${FY26.GoalPlanId};GoalName='${name.replaceAll("'", "''")}'`;
    const v2 = `PersonNumber = 'E000003' and GoalPlanId = ${FY26.GoalPlanId} and GoalName = '${name.replaceAll("'", "''")}'`;
    for (const q of [quoted, v2]) {
      const res = await find(q, '&onlyData=true');
      expect(res.status).toBe(200);
      expect(res.body.items.map((i: HcmGoal) => i.GoalId)).toEqual([g.GoalId]);
      expect(res.body.links).toBeUndefined();
    }
    const byId = await find(`GoalId=${g.GoalId}`);
    expect(byId.body.items).toHaveLength(1);
    expect(byId.body.links[0].kind).toBe('collection');
    expect((await find('PersonNumber=E000003')).body.count).toBe(2);
    expect((await find(`PersonId=${g.PersonId};StatusCode=NOT_STARTED`)).body.count).toBe(2);
    expect((await find('PersonNumber=E000003;StatusCode=COMPLETED')).body.count).toBe(0);
    expect((await find('PersonNumber=E000003', '&limit=1')).body).toMatchObject({ count: 1, hasMore: true });
  });

  it('pages with limit/offset/hasMore/totalResults, caps limit at 500 and defaults it to 25', async () => {
    const person = 4;
    for (let i = 0; i < 7; i++) expect((await create(goal(person))).status).toBe(201);
    const q = `PersonNumber='E000004';GoalPlanId=${FY26.GoalPlanId}`;
    const seen: number[] = [];
    const pages: Array<{ hasMore: boolean; count: number; totalResults: number; offset: number }> = [];
    for (let offset = 0; offset < 9; offset += 3) {
      const page = await find(q, `&limit=3&offset=${offset}&totalResults=true`);
      pages.push(page.body);
      seen.push(...page.body.items.map((i: HcmGoal) => i.GoalId));
    }
    expect(pages.map((p) => [p.count, p.hasMore, p.totalResults, p.offset])).toEqual([
      [3, true, 7, 0],
      [3, true, 7, 3],
      [1, false, 7, 6],
    ]);
    expect(new Set(seen).size).toBe(7);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));

    const child = await call(`${hcmPaths.planGoals(FY26.GoalPlanId)}?q=PersonNumber=E000004&limit=1000`);
    expect(child.body).toMatchObject({ limit: 500, count: 7, hasMore: false });
    expect(child.body.totalResults).toBeUndefined();
    expect(child.headers.get('content-type')).toBe('application/vnd.oracle.adf.resourcecollection+json');
    expect((await find('PersonNumber=E000004')).body.limit).toBe(25);
    expect((await call(`${hcmPaths.planGoals(FY27.GoalPlanId)}?q=PersonNumber=E000004`)).body.count).toBe(0);
  });

  it('answers 400 for finders it cannot run and 404 for an unknown plan collection', async () => {
    for (const q of ['Bogus=1', "GoalName>'x'", "PersonNumber='E1", 'GoalId=abc', 'PersonNumber=a b']) {
      const res = await find(q);
      expect(res.status, q).toBe(400);
      expect(res.body.detail).toContain('q');
    }
    expect((await find('PersonNumber=E000001', '&limit=-1')).status).toBe(400);
    expect((await call(hcmPaths.planGoals(123))).status).toBe(404);
  });
});

describe('HCM simulator: duplicates and Upsert-Mode', () => {
  it('a plain POST of the same goal twice stores two goals, and stats count the duplicate', async () => {
    const before = sim.stats();
    const same = goal(5, { GoalName: 'Twice posted' });
    expect((await create(same)).status).toBe(201);
    expect((await create(same)).status).toBe(201);
    const after = sim.stats();
    expect(after.duplicates - before.duplicates).toBe(1);
    expect(after.duplicateKeys - before.duplicateKeys).toBe(1);
    expect(after.goalsStored - before.goalsStored).toBe(2);
    // A third copy adds a duplicate but no new duplicated key.
    await create(same);
    expect(sim.stats().duplicates - before.duplicates).toBe(2);
    expect(sim.stats().duplicateKeys - before.duplicateKeys).toBe(1);
  });

  it('Upsert-Mode: true updates the goal with the same PersonNumber + GoalPlanId + GoalName', async () => {
    const before = sim.stats();
    const first = await create(goal(6, { GoalName: 'Upserted' }), FY26.GoalPlanId, { 'Upsert-Mode': 'true' });
    expect(first.status).toBe(201);
    // Same person named by PersonId this time: the match resolves it to the same PersonNumber.
    const second = await create(
      {
        ...goal(6, { GoalName: 'Upserted', StatusCode: 'COMPLETED', Weight: 50 }),
        PersonNumber: undefined,
        PersonId: 300000000000005,
      },
      FY26.GoalPlanId,
      { 'Upsert-Mode': 'true' },
    );
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ GoalId: first.body.GoalId, StatusCode: 'COMPLETED', Weight: 50 });
    // Same name in another plan is another goal.
    const otherPlan = goal(6, {
      GoalName: 'Upserted',
      StartDate: '2027-02-01',
      TargetCompletionDate: '2027-03-01',
    });
    expect((await create(otherPlan, FY27.GoalPlanId, { 'Upsert-Mode': 'true' })).status).toBe(201);
    const after = sim.stats();
    expect(after.duplicates).toBe(before.duplicates);
    expect(after).toMatchObject({ creates: before.creates + 2, updates: before.updates + 1 });
  });
});

describe('HCM simulator: seed validation', () => {
  const cases: Array<[string, Record<string, unknown>, string, number?]> = [
    ['unknown person', { PersonNumber: 'E999999' }, 'PersonNumber'],
    ['unknown person id', { PersonNumber: undefined, PersonId: 1 }, 'PersonId'],
    ['no person', { PersonNumber: undefined }, 'PersonNumber'],
    ['missing GoalName', { GoalName: undefined }, 'GoalName'],
    ['blank GoalName', { GoalName: '  ' }, 'GoalName'],
    ['missing StartDate', { StartDate: undefined }, 'StartDate'],
    ['bad date', { TargetCompletionDate: '2026-02-30' }, 'TargetCompletionDate'],
    ['date format', { StartDate: '01/02/2026' }, 'StartDate'],
    [
      'target before start',
      { StartDate: '2026-05-01', TargetCompletionDate: '2026-04-01' },
      'TargetCompletionDate',
    ],
    ['start outside period', { StartDate: '2025-12-31' }, 'StartDate'],
    ['bad StatusCode', { StatusCode: 'DONE' }, 'StatusCode'],
    ['bad PriorityCode', { PriorityCode: 'URGENT' }, 'PriorityCode'],
    ['Weight > 100', { Weight: 101 }, 'Weight'],
    ['Weight < 0', { Weight: -1 }, 'Weight'],
    ['wrong review period', { ReviewPeriodId: FY27.ReviewPeriodId }, 'ReviewPeriodId'],
    ['wrong assignment', { AssignmentId: 42 }, 'AssignmentId'],
    ['unknown attribute', { ExternalId: 'x-1' }, 'ExternalId'],
    ['read-only attribute', { GoalId: 1 }, 'GoalId'],
  ];
  it.each(cases)('%s -> 400 naming the attribute', async (_name, over, attr) => {
    const before = sim.stats().goalsStored;
    const res = await create(goal(7, over));
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/vnd.oracle.adf.error+json');
    expect(res.body.title).toBe('Bad Request');
    expect(res.body['o:errorDetails'].map((d: { 'o:errorPath': string }) => d['o:errorPath'])).toContain(
      attr,
    );
    expect(res.body.detail).toMatch(/\w+/);
    expect(sim.stats().goalsStored).toBe(before);
  });

  it('an unknown goal plan -> 400 on create; several problems are reported together', async () => {
    const res = await create(goal(7), 300000009999999);
    expect(res.status).toBe(400);
    expect(res.body.detail).toContain('300000009999999');
    const many = await create(goal(7, { StatusCode: 'X', Weight: 500 }));
    expect(many.body['o:errorDetails']).toHaveLength(2);
  });

  it('seeds 20,000 deterministic persons by default, found by number or id in O(1)', () => {
    const all = seedPersons();
    expect(all).toHaveLength(20_000);
    expect(all[19_999]).toMatchObject({
      PersonNumber: 'E020000',
      PersonId: 300000000019999,
      AssignmentId: 300000100019999,
    });
    expect(seedPersons(3)).toEqual(all.slice(0, 3));
    expect(new Set(all.map((p) => p.PersonNumber)).size).toBe(20_000);
    const dir = new PersonDirectory(500);
    expect(dir.byNumber('E000500')?.PersonId).toBe(300000000000499);
    expect(dir.byId(300000000000499)?.PersonNumber).toBe('E000500');
    for (const miss of ['E000501', 'E0000001', 'E000000', 'X000001'])
      expect(dir.byNumber(miss)).toBeUndefined();
  });

  it('lists the seeded goal plans', async () => {
    const res = await call('/hcmRestApi/resources/11.13.18.05/goalPlans');
    expect(res.body.items.map((p: { GoalPlanId: number }) => p.GoalPlanId)).toEqual(
      GOAL_PLANS.map((p) => p.GoalPlanId),
    );
  });
});
