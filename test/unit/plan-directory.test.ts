import { describe, expect, it } from 'vitest';
import type { AssigneesPage, GoalPlanAssignee, PlanGoalsQuery } from '#core/hcm/index.ts';
import { AssigneeCache, readPlanAssignees } from '#core/sync/index.ts';
import { fakeAssignee } from './sync-fakes.ts';

/** A goalPlanAssignees collection of `rows`, served with a page cap and optionally without counts. */
function collection(rows: GoalPlanAssignee[], o: { cap?: number; counts?: boolean } = {}) {
  const asked: Array<PlanGoalsQuery & { personNumber?: string }> = [];
  const list = async (_plan: number, page: PlanGoalsQuery, personNumber?: string): Promise<AssigneesPage> => {
    asked.push({ ...page, ...(personNumber ? { personNumber } : {}) });
    const all = rows.filter((r) => personNumber === undefined || r.PersonNumber === personNumber);
    const items = all.slice(page.offset, page.offset + Math.min(page.limit, o.cap ?? page.limit));
    return {
      items,
      read: items.length,
      hasMore: page.offset + items.length < all.length,
      ...(page.totalResults && o.counts !== false ? { totalResults: all.length } : {}),
    };
  };
  return { list, asked };
}

const rows = (n: number) =>
  Array.from({ length: n }, (_, i) => fakeAssignee(`P${String(i).padStart(4, '0')}`));

describe('readPlanAssignees (a whole plan, once per run)', () => {
  it('reads every row once; the pages the count announces go out together, under a server page cap', async () => {
    const c = collection(rows(1_234), { cap: 200 });
    const counter = { requests: 0 };
    const plan = await readPlanAssignees(c.list, 7, counter, { concurrency: 4 });
    expect(plan?.personNumbers().size).toBe(1_234);
    // 200 per page (the cap, not the 500 asked for): 7 pages, each offset asked once.
    expect(counter.requests).toBe(7);
    expect(c.asked.map((q) => q.offset)).toEqual([0, 200, 400, 600, 800, 1000, 1200]);
  });

  it('gives up after the first page when the plan needs more pages than the run has workers', async () => {
    const c = collection(rows(2_600));
    const counter = { requests: 0 };
    expect(await readPlanAssignees(c.list, 7, counter, { maxPages: 5 })).toBeUndefined();
    expect(counter.requests).toBe(1);
    expect(await readPlanAssignees(c.list, 7, counter, { maxPages: 6 })).toBeDefined();
  });

  it('gives up when the server does not count (the cost is unknown)', async () => {
    const c = collection(rows(20), { counts: false });
    expect(await readPlanAssignees(c.list, 7, { requests: 0 }, { maxPages: 50 })).toBeUndefined();
    // Without a page cap it reads on without counts, one page at a time, until a short page.
    expect((await readPlanAssignees(c.list, 7))?.personNumbers().size).toBe(20);
  });
});

describe('AssigneeCache (a chunk resolving its workers)', () => {
  it('answers workers the slice holds without a request, asks live for the others once each', async () => {
    const c = collection(rows(50));
    const known = {
      rows: (plan: number, person: string) =>
        plan !== 7 ? undefined : person === 'P0001' ? [fakeAssignee('P0001')] : [],
    };
    const cache = new AssigneeCache(c.list, { requests: 0 }, known);
    expect((await cache.get(7, 'P0001')).worker({ personNumber: 'P0001' })).toMatchObject({
      personId: 1_000_001,
    });
    expect(c.asked).toHaveLength(0);
    // Not in the slice (assigned after plan-sync's read, or skipped by a changing listing): live, once.
    await cache.get(7, 'P0002');
    await cache.get(7, 'P0002');
    // A plan plan-sync did not read whole: live.
    await cache.get(8, 'P0001');
    expect(c.asked.map((q) => q.personNumber)).toEqual(['P0002', 'P0001']);
  });
});
