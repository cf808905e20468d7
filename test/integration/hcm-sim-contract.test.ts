import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FY26,
  FY27,
  goalBody,
  planGoals,
  type SimHarness,
  selfPath,
  startSimHarness,
  topGoals,
} from '../support/hcm-sim-http.ts';

/** The documented contract, rule by rule: attributes, codes, tenant lookups, describe, 500 on PATCH. */

let h: SimHarness;
const create = (body: unknown, planId = FY26.GoalPlanId) =>
  h.call(planGoals(planId), { method: 'POST', body });
const paths = (res: { body: { 'o:errorDetails': Array<{ 'o:errorPath': string }> } }) =>
  res.body['o:errorDetails'].map((d) => d['o:errorPath']);

beforeAll(async () => {
  h = await startSimHarness();
});
afterAll(async () => h?.close());

describe('HCM simulator contract: request bodies', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['Weight is not an attribute (Weighting is)', { Weight: 10 }, 'Weight'],
    [
      'PercentComplete is not an attribute (PercentCompletion is)',
      { PercentComplete: 40 },
      'PercentComplete',
    ],
    ['an invented attribute', { ExternalId: 'x-1' }, 'ExternalId'],
    ['the item key is not a body attribute', { performanceGoalsUniqID: 'ABC' }, 'performanceGoalsUniqID'],
    ['read-only GoalId', { GoalId: 1 }, 'GoalId'],
    ['read-only PersonNumber', { PersonNumber: 'E000001' }, 'PersonNumber'],
    ['read-only AssignmentNumber', { AssignmentNumber: 'E000001-1' }, 'AssignmentNumber'],
    ['no PersonId', { PersonId: undefined }, 'PersonId'],
    ['unknown PersonId', { PersonId: 1 }, 'PersonId'],
    ['missing GoalName', { GoalName: undefined }, 'GoalName'],
    ['blank GoalName', { GoalName: '  ' }, 'GoalName'],
    ['GoalName over 400', { GoalName: 'x'.repeat(401) }, 'GoalName'],
    ['missing StartDate', { StartDate: undefined }, 'StartDate'],
    ['impossible date', { TargetCompletionDate: '2026-02-30' }, 'TargetCompletionDate'],
    ['HDL date format', { StartDate: '2026/02/01' }, 'StartDate'],
    [
      'target before start',
      { StartDate: '2026-05-01', TargetCompletionDate: '2026-04-01' },
      'TargetCompletionDate',
    ],
    ['start outside the review period', { StartDate: '2025-12-31' }, 'StartDate'],
    ['CANCELLED is not a documented status', { StatusCode: 'CANCELLED' }, 'StatusCode'],
    ['ON_HOLD is not a documented status', { StatusCode: 'ON_HOLD' }, 'StatusCode'],
    ['priority outside the lookup', { PriorityCode: 'URGENT' }, 'PriorityCode'],
    ['percent as a number', { PercentCompletion: 40 }, 'PercentCompletion'],
    ['percent code outside the lookup', { PercentCompletion: '40' }, 'PercentCompletion'],
    ['category outside the lookup', { CategoryCode: 'MADE_UP' }, 'CategoryCode'],
    ['Weighting over 100', { Weighting: 101 }, 'Weighting'],
    ['Weighting as text', { Weighting: '10' }, 'Weighting'],
    ['the review period of another plan', { ReviewPeriodId: FY27.ReviewPeriodId }, 'ReviewPeriodId'],
    ['another plan id than the URL', { GoalPlanId: FY27.GoalPlanId }, 'GoalPlanId'],
  ];
  it.each(cases)('%s -> 400 naming the attribute, nothing stored', async (_name, over, attr) => {
    const before = h.sim.stats().goalsStored;
    const res = await create(goalBody(10, over));
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/vnd.oracle.adf.error+json');
    expect(res.body).toMatchObject({ title: 'Bad Request', status: '400' });
    expect(res.body['o:errorCode']).toMatch(/\S/);
    expect(res.body['o:errorDetails'][0].detail).toMatch(/\S/);
    expect(paths(res)).toContain(attr);
    expect(h.sim.stats().goalsStored).toBe(before);
  });

  it('accepts every documented code and reports several problems together', async () => {
    for (const StatusCode of ['NOT_STARTED', 'IN_PROGRESS', 'COMPLETED', 'CANCEL']) {
      const res = await create(
        goalBody(11, { StatusCode, PercentCompletion: '25', CategoryCode: 'DEVELOPMENT' }),
      );
      expect(res.status, StatusCode).toBe(201);
    }
    const many = await create(goalBody(11, { StatusCode: 'X', Weighting: 500, Weight: 1 }));
    expect(paths(many).sort()).toEqual(['StatusCode', 'Weight', 'Weighting']);
  });

  it('a PATCH may not set create-only or read-only attributes, nor codes outside the lookups', async () => {
    const item = selfPath((await create(goalBody(12))).body);
    for (const [body, attr] of [
      [{ PersonId: 300000000000013 }, 'PersonId'],
      [{ AssignmentId: 300000100000012 }, 'AssignmentId'],
      [{ GoalPlanGoalId: 1 }, 'GoalPlanGoalId'],
      [{ StatusCode: 'ON_HOLD' }, 'StatusCode'],
      [{ Weight: 5 }, 'Weight'],
    ] as const) {
      const res = await h.call(item, { method: 'PATCH', body });
      expect(res.status, attr).toBe(400);
      expect(paths(res)).toEqual([attr]);
    }
  });
});

describe('HCM simulator contract: tenant lookups', () => {
  it('a tenant may add codes (ON_HOLD) and replace a list (categories)', async () => {
    const tenant = await startSimHarness({
      lookups: {
        StatusCode: ['NOT_STARTED', 'IN_PROGRESS', 'COMPLETED', 'ON_HOLD'],
        CategoryCode: ['SALES'],
      },
    });
    try {
      const call = (over: Record<string, unknown>) =>
        tenant.call(planGoals(FY26.GoalPlanId), { method: 'POST', body: goalBody(1, over) });
      expect((await call({ StatusCode: 'ON_HOLD', CategoryCode: 'SALES' })).status).toBe(201);
      expect((await call({ StatusCode: 'CANCEL' })).status).toBe(400);
      expect((await call({ CategoryCode: 'PERFORMANCE' })).status).toBe(400);
    } finally {
      await tenant.close();
    }
  });

  it('refuses an unknown or empty lookup at start', async () => {
    await expect(startSimHarness({ lookups: { Colour: ['RED'] } })).rejects.toThrow(/unknown lookup Colour/);
    await expect(startSimHarness({ lookups: { StatusCode: [] } })).rejects.toThrow(/non-empty/);
  });
});

describe('HCM simulator contract: describe', () => {
  type Attr = { name: string; type: string; updatable: boolean; mandatory: boolean; queryable: boolean };
  const attrsOf = (body: { Resources: Record<string, { attributes: Attr[] }> }, name: string) =>
    new Map(body.Resources[name]!.attributes.map((a) => [a.name, a]));

  it('describes the plan child: writable attributes, mandatory ones, queryable ones, no key attribute', async () => {
    const res = await h.call(`${planGoals(FY26.GoalPlanId)}/describe`);
    expect(res.status).toBe(200);
    const attrs = attrsOf(res.body, 'performanceGoals');
    expect(attrs.get('GoalName')).toMatchObject({
      type: 'string',
      updatable: true,
      mandatory: true,
      queryable: true,
    });
    expect(attrs.get('Weighting')).toMatchObject({ type: 'number', updatable: true });
    expect(attrs.get('PercentCompletion')).toMatchObject({ type: 'string', updatable: true });
    expect(attrs.get('PersonId')).toMatchObject({
      updatable: false,
      mandatory: true,
      allowChanges: 'createOnly',
    });
    expect(attrs.get('GoalId')).toMatchObject({ updatable: false, queryable: true, allowChanges: 'never' });
    for (const absent of ['Weight', 'PercentComplete', 'performanceGoalsUniqID'])
      expect(attrs.has(absent)).toBe(false);
    const actions = res.body.Resources.performanceGoals.item.actions.map((a: { method: string }) => a.method);
    expect(actions).toEqual(['GET', 'PATCH', 'DELETE']);
  });

  it('describes the top-level resource as read-only, with associatedGoalPlans as a child', async () => {
    const res = await h.call(`${topGoals}/describe`);
    const attrs = attrsOf(res.body, 'performanceGoals');
    expect([...attrs.values()].every((a) => !a.updatable)).toBe(true);
    expect(attrs.has('GoalPlanId')).toBe(false);
    expect(res.body.Resources.performanceGoals.collection.actions).toEqual([{ name: 'get', method: 'GET' }]);
    const child = res.body.Resources.performanceGoals.children.associatedGoalPlans;
    expect(child.attributes.map((a: Attr) => a.name)).toContain('Weighting');
    expect((await h.call(`${topGoals}/describe`, { method: 'POST', body: {} })).status).toBe(405);
  });

  it('describes goalPlanAssignees: read-only, PersonNumber queryable', async () => {
    const res = await h.call('/hcmRestApi/resources/11.13.18.05/goalPlanAssignees/describe');
    const attrs = attrsOf(res.body, 'goalPlanAssignees');
    expect(attrs.get('PersonNumber')).toMatchObject({ queryable: true, updatable: false });
    expect(attrs.get('AssignmentId')).toMatchObject({ type: 'integer', queryable: true });
  });
});

describe('HCM simulator contract: fields and onlyData', () => {
  it('fields keeps the named attributes and the links; onlyData drops the links with the key', async () => {
    const g = (await create(goalBody(14))).body;
    const item = selfPath(g);
    const some = await h.call(`${item}?fields=GoalId,GoalName`);
    expect(Object.keys(some.body).sort()).toEqual(['GoalId', 'GoalName', 'links']);
    const list = await h.call(
      `${planGoals(FY26.GoalPlanId)}?q=GoalId=${g.GoalId}&fields=GoalName&onlyData=true`,
    );
    expect(list.body.items).toEqual([{ GoalName: g.GoalName }]);
    const bad = await h.call(`${item}?fields=GoalName,Weight`);
    expect(bad.status).toBe(400);
    expect(bad.body['o:errorDetails'][0].detail).toContain('Weight');
  });
});

describe('HCM simulator contract: a business rule refuses a PATCH with 500', () => {
  it('answers 500 with o:errorDetails and commits nothing; POST is not affected', async () => {
    const g = (await create(goalBody(13))).body;
    h.sim.setFaults({ patchRuleFailureRate: 1 });
    try {
      const res = await h.call(selfPath(g), { method: 'PATCH', body: { StatusCode: 'COMPLETED' } });
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toBe('application/vnd.oracle.adf.error+json');
      expect(res.body.status).toBe('500');
      expect(res.body['o:errorDetails'][0].detail).toMatch(/business rule/);
      expect(res.body['o:errorCode']).toMatch(/\S/);
      expect(h.sim.goals().find((x) => x.GoalId === g.GoalId)?.StatusCode).toBe('NOT_STARTED');
      expect((await create(goalBody(13))).status).toBe(201);
    } finally {
      h.sim.setFaults({ patchRuleFailureRate: 0 });
    }
    expect((await h.call(selfPath(g), { method: 'PATCH', body: { StatusCode: 'COMPLETED' } })).status).toBe(
      200,
    );
  });
});

describe('HCM simulator contract: privileges', () => {
  it('a privilege the user lacks answers 403 for that resource and method only', async () => {
    const g = (await create(goalBody(15))).body;
    h.sim.setFaults({ forbidden: ['performanceGoals', 'DELETE planGoals'] });
    try {
      const top = await h.call(topGoals);
      expect(top.status).toBe(403);
      expect(top.body['o:errorDetails'][0].detail).toContain('performanceGoals');
      expect((await h.call(`${topGoals}/describe`)).status).toBe(403);
      expect((await h.call(selfPath(g), { method: 'DELETE' })).status).toBe(403);
      expect((await h.call(selfPath(g))).status).toBe(200);
      expect((await h.call(selfPath(g), { method: 'PATCH', body: { Weighting: 5 } })).status).toBe(200);
    } finally {
      h.sim.setFaults({ forbidden: [] });
    }
    expect((await h.call(topGoals)).status).toBe(200);
    expect(() => h.sim.setFaults({ forbidden: ['PUT planGoals'] })).toThrow(/forbidden/);
  });
});

describe('HCM simulator contract: a goal pending approval', () => {
  it('pendingVisibilityMs hides a new goal from finders and listings, not from its own item', async () => {
    h.sim.setFaults({ pendingVisibilityMs: 600_000 });
    try {
      const g = (await create(goalBody(16, { GoalName: 'Pending' }))).body;
      const q = encodeURIComponent(`PersonId=${g.PersonId};GoalName='Pending'`);
      expect((await h.call(`${planGoals(FY26.GoalPlanId)}?q=${q}`)).body.count).toBe(0);
      expect((await h.call(`${topGoals}?q=GoalId=${g.GoalId}`)).body.count).toBe(0);
      expect((await h.call(selfPath(g))).status).toBe(200);
    } finally {
      h.sim.setFaults({ pendingVisibilityMs: 0 });
    }
    const q = encodeURIComponent(`PersonId=${goalBody(16).PersonId};GoalName='Pending'`);
    expect((await h.call(`${planGoals(FY26.GoalPlanId)}?q=${q}`)).body.count).toBe(1);
  });
});
