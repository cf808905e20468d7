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

  it('keeps `concurrency` pages in flight: a slow page (a long tail) does not hold the next ones back', async () => {
    const c = collection(rows(5_000), { cap: 500 });
    let inFlight = 0;
    let peak = 0;
    let slowDone = false;
    let startedWhileSlow = 0;
    const list = async (plan: number, page: PlanGoalsQuery): Promise<AssigneesPage> => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      if (!slowDone && page.offset > 500) startedWhileSlow += 1;
      // The second page answers last, every other one at once.
      if (page.offset === 500) await new Promise((r) => setTimeout(r, 50));
      const answer = await c.list(plan, page);
      if (page.offset === 500) slowDone = true;
      inFlight -= 1;
      return answer;
    };
    const plan = await readPlanAssignees(list, 7, { requests: 0 }, { concurrency: 4 });
    expect(plan.personNumbers().size).toBe(5_000);
    expect(peak).toBe(4);
    // Rounds of 4 start only the slow page's 3 round-mates before it answers; a pool starts all 8 others.
    expect(startedWhileSlow).toBe(8);
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
