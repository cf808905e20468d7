import { type CheckResult, fail, pass, skip, warn } from './check.ts';
import type { DescribedAttribute, PreflightContext } from './context.ts';
import { answered, type ProbeAnswer } from './hcm-probe.ts';
import { patchableAttributes } from './mapping-contract.ts';

/**
 * ADF's describe answer: `{Resources: {<name>: {attributes: [...], children: {...}}}}` (farws
 * Access_Metadata). A child resource is described under its parent's `children` as well.
 */
export function describedAttributes(
  json: unknown,
  resource: string,
): Map<string, DescribedAttribute> | undefined {
  const resources = (json as { Resources?: Record<string, unknown> } | undefined)?.Resources;
  if (!resources || typeof resources !== 'object') return undefined;
  const direct = resources[resource] as { attributes?: unknown } | undefined;
  const parent = resources.goalPlans as { children?: Record<string, { attributes?: unknown }> } | undefined;
  const attributes = direct?.attributes ?? parent?.children?.[resource]?.attributes;
  if (!Array.isArray(attributes)) return undefined;
  const out = new Map<string, DescribedAttribute>();
  for (const raw of attributes) {
    const a = raw as Record<string, unknown>;
    if (typeof a.name !== 'string') continue;
    const maxLength = Number(a.maxLength);
    out.set(a.name, {
      name: a.name,
      ...(typeof a.type === 'string' ? { type: a.type } : {}),
      ...(typeof a.updatable === 'boolean' ? { updatable: a.updatable } : {}),
      ...(typeof a.mandatory === 'boolean' ? { mandatory: a.mandatory } : {}),
      ...(typeof a.queryable === 'boolean' ? { queryable: a.queryable } : {}),
      ...(typeof a.allowChanges === 'string' ? { allowChanges: a.allowChanges } : {}),
      ...(Number.isFinite(maxLength) && maxLength > 0 ? { maxLength } : {}),
      ...(a.lov !== undefined ? { lov: a.lov } : {}),
    });
  }
  return out;
}

/** A create may carry it: updatable, or ADF's `allowChanges` says it may be set when the row is new. */
const creatable = (a: DescribedAttribute) =>
  a.updatable === true || a.allowChanges === 'always' || a.allowChanges === 'createOnly';
const patchable = (a: DescribedAttribute) =>
  a.updatable === true && a.allowChanges !== 'createOnly' && a.allowChanges !== 'never';

function describeFailure(name: string, what: string, a: ProbeAnswer): CheckResult {
  if (a.status === 403) {
    return fail(
      name,
      `GET ${what}/describe: ${answered(a)}`,
      'the integration user needs the Describe action on the goal resources (it comes with the Get privilege of the same role)',
    );
  }
  return fail(
    name,
    `GET ${what}/describe: ${answered(a)}`,
    'check hcmBaseUrl is the pod; describe is part of every ADF REST resource',
  );
}

/**
 * The plan child's describe against what the mapping sends: every attribute exists; creates carry only
 * attributes a create may set, PATCHes only updatable ones; every mandatory settable attribute is sent.
 */
export async function checkDescribePlanChild(ctx: PreflightContext): Promise<CheckResult> {
  const name = 'describe-plan-child';
  const planId = ctx.state.existingPlans[0];
  if (planId === undefined) return skip(name, 'no goal plan of the source exists to describe');
  const path = `goalPlans/${planId}/child/performanceGoals`;
  let a = await ctx.probe.send({ path: `${path}/describe` });
  let attrs = a.status === 200 ? describedAttributes(a.json, 'performanceGoals') : undefined;
  if (!attrs && a.status !== 403) {
    // ADF also describes a child under its parent (goalPlans/describe -> children.performanceGoals).
    const parent = await ctx.probe.send({ path: 'goalPlans/describe' });
    if (parent.status === 200) attrs = describedAttributes(parent.json, 'performanceGoals');
    if (!attrs) a = parent.status === 200 ? a : parent;
  }
  if (!attrs) return describeFailure(name, path, a);
  ctx.state.planChildAttributes = attrs;

  const problems: string[] = [];
  const created = [...ctx.facts.createAttributes].sort();
  const unknown = created.filter((n) => !attrs.has(n));
  if (unknown.length > 0) problems.push(`the resource has no ${unknown.join(', ')} (sent on create)`);
  const notCreatable = created.filter((n) => attrs.has(n) && !creatable(attrs.get(n)!));
  if (notCreatable.length > 0) problems.push(`${notCreatable.join(', ')} cannot be set on create`);
  const patch = [...patchableAttributes()];
  const patchUnknown = patch.filter((n) => !attrs.has(n) && !unknown.includes(n));
  if (patchUnknown.length > 0)
    problems.push(`the resource has no ${patchUnknown.join(', ')} (sent on update)`);
  const notPatchable = patch.filter((n) => attrs.has(n) && !patchable(attrs.get(n)!));
  if (notPatchable.length > 0) problems.push(`${notPatchable.join(', ')} not updatable`);
  const missing = [...attrs.values()]
    .filter((x) => x.mandatory === true && creatable(x) && !ctx.facts.createAttributes.has(x.name))
    .map((x) => x.name);
  if (missing.length > 0) problems.push(`mandatory ${missing.join(', ')} never sent`);
  if (problems.length > 0) {
    return fail(
      name,
      `${path}: ${problems.join('; ')}`,
      'the client mapping does not match this pod: upgrade goal-sync, or map the named source fields to the attributes describe lists (docs/first-real-run.md)',
    );
  }
  return pass(
    name,
    `${attrs.size} attributes; the ${created.length} sent on create and ${patch.length} patched exist and are settable`,
  );
}

/** The top-level resource: described, read-only (no create), a resource of its own (keys differ). */
export async function checkDescribeTopLevel(ctx: PreflightContext): Promise<CheckResult> {
  const name = 'describe-top-level';
  const a = await ctx.probe.send({ path: 'performanceGoals/describe' });
  if (a.status === 403) {
    return warn(
      name,
      `GET performanceGoals/describe: ${answered(a)}`,
      'not needed by the pipeline (it never reads the top-level resource)',
    );
  }
  const attrs = a.status === 200 ? describedAttributes(a.json, 'performanceGoals') : undefined;
  if (!attrs) return describeFailure(name, 'performanceGoals', a);
  const resource = (
    a.json as { Resources: Record<string, { collection?: { actions?: Array<{ method?: string }> } }> }
  ).Resources.performanceGoals;
  const methods = (resource?.collection?.actions ?? []).map((x) => x.method);
  const writable = methods.includes('POST');
  return pass(
    name,
    `${attrs.size} attributes, ${writable ? 'offers POST (the pipeline still writes only through the plan child)' : 'read-only'}; its item keys are its own, never used on the plan child`,
  );
}

/**
 * Every code the mapping sends for this source is in the tenant's lookups. ADF describe names a list
 * of values only by reference, so a code counts as confirmed when an existing goal carries it or the
 * write test stored it; anything else is named for a person to confirm (or refused by the write test).
 */
export function checkLookupCodes(ctx: PreflightContext): CheckResult {
  const name = 'lookup-codes';
  const unconfirmed: string[] = [];
  const refused: string[] = [];
  let total = 0;
  for (const [attr, codes] of [...ctx.facts.codes].sort(([x], [y]) => x.localeCompare(y))) {
    for (const code of [...codes].sort()) {
      total += 1;
      const key = `${attr}=${code}`;
      const why = ctx.state.codesRefused.get(key);
      if (why !== undefined) refused.push(`${key} (${why})`);
      else if (!ctx.state.codesSeen.get(attr)?.has(code) && !ctx.state.codesTaken.has(key))
        unconfirmed.push(key);
    }
  }
  const unmapped = [...ctx.facts.unmapped];
  if (unmapped.length > 0) {
    const records = unmapped.reduce((n, [, count]) => n + count, 0);
    const shown = unmapped
      .slice(0, 3)
      .map(([reason, count]) => `${reason} (${count} record${count > 1 ? 's' : ''})`);
    return fail(
      name,
      `${records} record${records > 1 ? 's' : ''} with a value the mapping has no code for: ${shown.join('; ')}${unmapped.length > 3 ? `; and ${unmapped.length - 3} more` : ''}`,
      'extend the mapping named in each reason (goal-sync validate FILE lists every record)',
    );
  }
  if (total === 0) return pass(name, 'the source maps to no code attribute');
  if (refused.length > 0) {
    return fail(
      name,
      `HCM refused ${refused.join(', ')}`,
      "map the source's values to the tenant's codes (status and category mapping; Setup and Maintenance > Goal lookups), or add the codes to the lookup",
    );
  }
  if (unconfirmed.length > 0) {
    const how = ctx.options.writeTestPerson
      ? ''
      : '; run with --write-test PERSON to have HCM take each of them';
    return warn(
      name,
      `${total - unconfirmed.length} of ${total} codes confirmed; not seen on this pod: ${unconfirmed.join(', ')}`,
      `confirm them in the tenant's goal lookups${how}`,
    );
  }
  return pass(
    name,
    `all ${total} codes the source maps to are in use on this pod or were taken by the write test`,
  );
}
