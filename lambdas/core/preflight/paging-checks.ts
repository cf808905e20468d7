import { type CheckResult, fail, pass, skip, warn } from './check.ts';
import type { PreflightContext } from './context.ts';
import { answered, itemsOf } from './hcm-probe.ts';
import { isCodeAttribute } from './mapping-contract.ts';

const planChild = (planId: number) => `goalPlans/${planId}/child/performanceGoals`;

/** Codes on existing goals are codes of the tenant's lookups: the lookup check counts them as confirmed. */
function noteCodes(ctx: PreflightContext, items: Record<string, unknown>[]): void {
  for (const item of items) {
    for (const [attr, value] of Object.entries(item)) {
      if (!isCodeAttribute(attr) || (typeof value !== 'string' && typeof value !== 'number')) continue;
      const seen = ctx.state.codesSeen.get(attr) ?? new Set<string>();
      seen.add(String(value));
      ctx.state.codesSeen.set(attr, seen);
    }
  }
}

/**
 * The largest `limit` the plan child honours, against the pipeline's page size. ADF echoes the limit it
 * applied; a page shorter than asked with `hasMore` also shows a cap.
 */
export async function checkPageSize(ctx: PreflightContext): Promise<CheckResult> {
  const name = 'page-size';
  const size = ctx.options.pageSize;
  const planId = ctx.state.existingPlans[0];
  if (planId === undefined) return skip(name, 'no goal plan of the source exists to page through');
  const a = await ctx.probe.send({
    path: planChild(planId),
    query: { limit: String(size), onlyData: 'true' },
  });
  const fix = (n: string) =>
    `set the plan-wide read's page size to ${n} (GOAL_INDEX_PAGE_SIZE of plan-sync and the preflight function; goal-sync local --index-page-size)`;
  if (a.status !== 200) return fail(name, `limit=${size}: ${answered(a)}`, fix('what the pod accepts'));
  const body = a.json as { limit?: unknown; hasMore?: unknown } | undefined;
  const items = itemsOf(a);
  noteCodes(ctx, items);
  const echoed = typeof body?.limit === 'number' ? body.limit : undefined;
  const capped =
    echoed !== undefined && echoed < size
      ? echoed
      : items.length < size && body?.hasMore === true
        ? items.length
        : undefined;
  if (capped !== undefined) {
    // The plan-wide read takes the first page's length as the page size: a cap costs pages, not goals.
    return warn(
      name,
      `asked limit=${size}, HCM applied ${capped}; the plan-wide read adapts (more pages)`,
      fix(String(capped)),
    );
  }
  const note =
    items.length < size && echoed === undefined
      ? ` (plan ${planId} holds ${items.length} goals, so a lower cap would not show)`
      : '';
  return pass(name, `limit=${size} honoured${note}`);
}

/**
 * Keyset paging (issue 25): the plan child read in a stable order (`orderBy=GoalId:asc`) and filtered
 * after the last key seen (`q=GoalId > n`). Without it the plan-wide read pages by offset, which a
 * concurrent delete can shift; the pipeline then falls back to live finders, so this is a warning.
 */
export async function checkKeysetPaging(ctx: PreflightContext): Promise<CheckResult> {
  const name = 'keyset-paging';
  const planId = ctx.state.existingPlans[0];
  if (planId === undefined) return skip(name, 'no goal plan of the source exists to page through');
  const fix =
    'nothing to change: the plan-wide read uses offset pages with live finders before a create when the plan changed during the read';
  const ordered = await ctx.probe.send({
    path: planChild(planId),
    query: { orderBy: 'GoalId:asc', limit: '25', onlyData: 'true', fields: 'GoalId' },
  });
  if (ordered.status !== 200) return warn(name, `orderBy=GoalId:asc: ${answered(ordered)}`, fix);
  const ids = itemsOf(ordered).map((i) => Number(i.GoalId));
  if (ids.some((id) => !Number.isFinite(id)))
    return warn(name, 'orderBy=GoalId:asc answered items without GoalId', fix);
  if (ids.some((id, i) => i > 0 && id <= ids[i - 1]!))
    return warn(name, 'orderBy=GoalId:asc answered out of order', fix);
  const after = ids[0] ?? 0;
  const filtered = await ctx.probe.send({
    path: planChild(planId),
    query: { orderBy: 'GoalId:asc', q: `GoalId > ${after}`, limit: '25', onlyData: 'true', fields: 'GoalId' },
  });
  if (filtered.status !== 200) return warn(name, `q=GoalId > ${after}: ${answered(filtered)}`, fix);
  const next = itemsOf(filtered).map((i) => Number(i.GoalId));
  if (next.some((id) => !(id > after)))
    return warn(name, `q=GoalId > ${after} answered GoalId ${next.find((id) => !(id > after))}`, fix);
  if (ids.length < 2) {
    return pass(
      name,
      `orderBy=GoalId:asc and q=GoalId > n accepted (plan ${planId} has ${ids.length} goal${ids.length === 1 ? '' : 's'}: order not observable)`,
    );
  }
  return pass(name, `orderBy=GoalId:asc and q=GoalId > ${after} honoured on plan ${planId}`);
}

/** Exported for the checks that read lists of goals as well. */
export { noteCodes };
