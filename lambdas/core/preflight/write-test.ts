import { assigneesOf } from './assignment-checks.ts';
import { type CheckResult, fail, pass, skip } from './check.ts';
import type { PreflightContext } from './context.ts';
import { answered, linkOf, type ProbeAnswer } from './hcm-probe.ts';
import { isCodeAttribute, mapRecord, WORKER_ATTRIBUTES } from './mapping-contract.ts';

/** At most this many code PATCHes: one per distinct code the source maps to. */
const MAX_CODE_PATCHES = 20;

const privilege = (what: string) =>
  `the integration user may not ${what} goals: give it Manage Performance Goal by HR (goalPlans performance goals Post, Patch, Delete)`;

/**
 * `--write-test PERSON`: one goal created, read, patched (once per code the source maps to, so HCM
 * itself says which codes its lookups take) and deleted in the source's first plan. The goal carries a
 * name no source uses; whatever fails, the delete is attempted, and a goal left behind is named.
 */
export async function checkWriteTest(ctx: PreflightContext): Promise<CheckResult> {
  const name = 'write-test';
  const person = ctx.options.writeTestPerson;
  if (!person) return skip(name, 'not asked for (--write-test PERSON creates, patches and deletes one goal)');
  const planId = ctx.state.existingPlans[0];
  const sample = ctx.facts.sample;
  if (planId === undefined || !sample) return skip(name, 'no goal plan of the source exists');
  const now = new Date((ctx.options.now ?? Date.now)()).toISOString();
  const goalName = `goal-sync preflight ${now}`;
  const mapped = mapRecord(
    { ...sample, personNumber: person, goalPlanId: planId, goalName },
    ctx.options.mapping,
  );
  if (!mapped.ok)
    return fail(name, `the write test's goal cannot be mapped: ${mapped.reason}`, 'see lookup-codes');
  // A create leaves out what is null, and carries the worker the client resolves from the plan's
  // assignees. Codes go in one PATCH each afterwards (unless describe says a create needs them), so
  // one code the tenant lacks does not hide what HCM says about the others.
  const attrs = ctx.state.planChildAttributes;
  const body: Record<string, unknown> = Object.fromEntries(
    Object.entries(mapped.payload).filter(
      ([attr, v]) =>
        v !== null && v !== undefined && (!isCodeAttribute(attr) || attrs?.get(attr)?.mandatory === true),
    ),
  );
  const { answer, rows } = await assigneesOf(ctx, planId, person);
  if (answer.status !== 200 || rows.length !== 1) {
    return fail(
      name,
      `worker ${person} has ${answer.status === 200 ? rows.length : answered(answer)} assignments on plan ${planId}`,
      'pick a worker with exactly one assignment on the plan',
    );
  }
  for (const id of WORKER_ATTRIBUTES) if (rows[0]![id] !== undefined) body[id] = rows[0]![id];
  const collection = `goalPlans/${planId}/child/performanceGoals`;
  const created = await ctx.probe.send({ method: 'POST', path: collection, body });
  if (created.status !== 201 && created.status !== 200) {
    return fail(
      name,
      `POST ${collection}: ${answered(created)}`,
      created.status === 403
        ? privilege('create')
        : 'the create body does not fit this pod: see describe-plan-child and lookup-codes',
    );
  }
  const href =
    created.json && typeof created.json === 'object'
      ? linkOf(created.json as Record<string, unknown>)
      : undefined;
  if (!href)
    return fail(
      name,
      `POST ${collection} answered ${created.status} without a self link: a goal "${goalName}" may exist`,
      `delete the goal "${goalName}" of ${person} in plan ${planId} by hand`,
    );
  const taken = ctx.state.codesTaken;
  const refused = ctx.state.codesRefused;
  for (const [attr, value] of Object.entries(body))
    if (ctx.facts.codes.get(attr)?.has(String(value))) taken.add(`${attr}=${value}`);
  const steps: string[] = ['created'];
  let problem: CheckResult | undefined;
  try {
    const read = await ctx.probe.send({ path: href, query: { onlyData: 'true' } });
    if (read.status !== 200)
      problem = fail(
        name,
        `GET of the new goal: ${answered(read)}`,
        'the self link of a created goal must be readable: report this to Oracle support with the answer',
      );
    else steps.push('read');
    const patched = await ctx.probe.send({
      method: 'PATCH',
      path: href,
      body: { Description: `${goalName}: patched` },
    });
    if (!problem && patched.status !== 200)
      problem = fail(
        name,
        `PATCH of the new goal: ${answered(patched)}`,
        patched.status === 403 ? privilege('update') : 'see describe-plan-child',
      );
    else if (!problem) steps.push('patched');
    let codePatches = 0;
    for (const [attr, codes] of ctx.facts.codes) {
      for (const code of codes) {
        const key = `${attr}=${code}`;
        if (taken.has(key) || codePatches >= MAX_CODE_PATCHES) continue;
        codePatches += 1;
        const p = await ctx.probe.send({ method: 'PATCH', path: href, body: { [attr]: code } });
        if (p.status === 200) taken.add(key);
        else refused.set(key, answered(p));
      }
    }
    if (codePatches > 0) steps.push(`${codePatches} codes tried`);
  } finally {
    const deleted = await removeGoal(ctx, href);
    if (deleted.status === 204 || deleted.status === 200) steps.push('deleted');
    else {
      problem = fail(
        name,
        `DELETE of the test goal: ${answered(deleted)}; the goal "${goalName}" of ${person} is left in plan ${planId}`,
        `${deleted.status === 403 ? `${privilege('delete')}; ` : ''}delete the goal "${goalName}" by hand`,
      );
    }
  }
  return problem ?? pass(name, `goal of ${person} in plan ${planId}: ${steps.join(', ')}`);
}

async function removeGoal(ctx: PreflightContext, href: string): Promise<ProbeAnswer> {
  return ctx.probe.send({ method: 'DELETE', path: href });
}
