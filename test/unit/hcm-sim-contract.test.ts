import { describe, expect, it } from 'vitest';
import { RESOURCE_ATTRIBUTES, writable } from '../../local/hcm/contract/attributes.ts';
import { DEFAULT_LOOKUPS, LOOKUP_CONTRACTS, tenantLookups } from '../../local/hcm/contract/lookups.ts';
import { PAGES } from '../../local/hcm/contract/pages.ts';
import { RESOURCES } from '../../local/hcm/contract/resources.ts';

/** The contract itself: every entry cites an Oracle page, and it says what the pages say. */
const pages = new Set<string>(Object.values(PAGES));

describe('HCM simulator contract', () => {
  it('every attribute, lookup and resource cites one of the pages', () => {
    const uncited = [
      ...Object.entries(RESOURCE_ATTRIBUTES).flatMap(([r, attrs]) =>
        attrs.filter((a) => !pages.has(a.page)).map((a) => `${r}.${a.name}`),
      ),
      ...Object.entries(LOOKUP_CONTRACTS)
        .filter(([, l]) => !pages.has(l.page))
        .map(([n]) => n),
      ...Object.values(RESOURCES)
        .filter((r) => !pages.has(r.page))
        .map((r) => r.name),
    ];
    expect(uncited).toEqual([]);
  });

  it("uses Oracle's attribute names and no item key as an attribute", () => {
    const planChild = RESOURCE_ATTRIBUTES.planGoals.map((a) => a.name);
    expect(planChild).toEqual(expect.arrayContaining(['Weighting', 'PercentCompletion', 'CategoryCode']));
    for (const names of Object.values(RESOURCE_ATTRIBUTES).map((attrs) => attrs.map((a) => a.name))) {
      expect(names).not.toContain('performanceGoalsUniqID');
      expect(names).not.toContain('Weight');
      expect(names).not.toContain('PercentComplete');
    }
    expect(writable('planGoals', 'update')).not.toContain('PersonId');
    expect(writable('performanceGoals', 'create')).toEqual([]);
    expect(RESOURCE_ATTRIBUTES.performanceGoals.map((a) => a.name)).not.toContain('GoalPlanId');
  });

  it('status defaults are the documented codes (and CANCEL), never CANCELLED or ON_HOLD', () => {
    expect(DEFAULT_LOOKUPS.StatusCode).toEqual(['NOT_STARTED', 'IN_PROGRESS', 'COMPLETED', 'CANCEL']);
    expect(DEFAULT_LOOKUPS.PriorityCode).toEqual(['HIGH', 'MEDIUM', 'LOW']);
    expect(tenantLookups({ CategoryCode: ['SALES'] })).toMatchObject({
      CategoryCode: ['SALES'],
      StatusCode: DEFAULT_LOOKUPS.StatusCode,
    });
  });

  it('the top-level resource and the read-only children allow GET only', () => {
    for (const name of ['performanceGoals', 'associatedGoalPlans', 'goalPlanAssignees'] as const) {
      expect([...RESOURCES[name].collectionMethods, ...RESOURCES[name].itemMethods]).toEqual(['GET', 'GET']);
    }
    expect(RESOURCES.planGoals.itemMethods).toEqual(['GET', 'PATCH', 'DELETE']);
  });
});
