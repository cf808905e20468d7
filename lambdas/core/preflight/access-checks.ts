import { GrantRejectedError, ReauthRequiredError } from '../errors.ts';
import { maskSecrets } from '../mask.ts';
import { type CheckResult, fail, pass, skip, warn } from './check.ts';
import type { PreflightContext, PreflightTokens } from './context.ts';
import { answered, type ProbeAnswer } from './hcm-probe.ts';

/** The grant yields a token (which grant, from where); nothing about the token itself is shown. */
export async function checkToken(tokens: PreflightTokens): Promise<CheckResult> {
  const name = 'token';
  try {
    await tokens.token();
    return pass(name, `grant ${tokens.grant} issued a token (${tokens.origin})`);
  } catch (err) {
    const message = maskSecrets(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    const detail = `grant ${tokens.grant} failed (${tokens.origin}): ${message}`;
    if (err instanceof ReauthRequiredError) {
      return fail(
        name,
        detail,
        'the connection needs re-authentication: goal-sync connect, then run preflight again',
      );
    }
    if (err instanceof GrantRejectedError && err.oauthError === 'invalid_client') {
      return fail(
        name,
        detail,
        'IDCS refused the client: check client id and secret (or the signing key) of the confidential app, and that it is activated',
      );
    }
    if (err instanceof GrantRejectedError) {
      return fail(
        name,
        detail,
        `IDCS refused the grant (${err.oauthError}): allow ${tokens.grant} on the confidential app; for refresh_token connect again`,
      );
    }
    return fail(
      name,
      detail,
      'the token endpoint did not answer usefully: check idpTokenUrl (https, the identity domain) and the network path to IDCS',
    );
  }
}

/** The ceiling is reported, never probed: Oracle publishes no limit, and a test of it would be the overload. */
export function checkCeiling(ctx: PreflightContext): CheckResult {
  const { requestsPerSecond, from } = ctx.options.ceiling;
  return pass(
    'request-ceiling',
    `the pipeline sends at most ${requestsPerSecond} HCM requests per second (${from}); not probed`,
  );
}

const PLAN_CHILD = (planId: number) => `goalPlans/${planId}/child/performanceGoals`;

function privilegeFix(what: string): string {
  return `give the integration user a role with ${what} (Security Console: a copy of Human Resource Specialist, or a custom role with the Performance Goals REST privileges), then run preflight again`;
}

/** 401 from HCM with a token IDCS just issued: the token is for another audience or scope. */
function unauthorized(name: string, a: ProbeAnswer): CheckResult {
  return fail(
    name,
    `HCM refused a fresh token (${answered(a)})`,
    "the token's scope is not the HCM pod's: set the connection's scope to the pod's REST scope (IDCS app > Resources), and check hcmBaseUrl is that pod",
  );
}

/** Every goal plan the source names exists (GET goalPlans/{id}). */
export async function checkGoalPlans(ctx: PreflightContext): Promise<CheckResult> {
  const name = 'goal-plans';
  const ids = [...ctx.facts.plans.keys()].sort((a, b) => a - b);
  if (ids.length === 0) return skip(name, 'the source has no valid record, so it names no goal plan');
  const missing: number[] = [];
  for (const id of ids) {
    const a = await ctx.probe.send({ path: `goalPlans/${id}`, query: { onlyData: 'true' } });
    if (a.status === 200) ctx.state.existingPlans.push(id);
    else if (a.status === 404) missing.push(id);
    else if (a.status === 401) return unauthorized(name, a);
    else if (a.status === 403) {
      return fail(name, `goal plan ${id}: ${answered(a)}`, privilegeFix('read access to goalPlans'));
    } else
      return fail(
        name,
        `goal plan ${id}: ${answered(a)}`,
        'run preflight again; if it persists, check hcmBaseUrl and the pod status',
      );
  }
  if (missing.length > 0) {
    return fail(
      name,
      `goal plan${missing.length > 1 ? 's' : ''} ${missing.join(', ')} named in the source ${missing.length > 1 ? 'do' : 'does'} not exist (${ctx.state.existingPlans.length} of ${ids.length} found)`,
      'fix goalPlanId in the export (Goal Plans > the plan > its id), or create the plan in HCM first',
    );
  }
  return pass(
    name,
    `all ${ids.length} goal plan${ids.length > 1 ? 's' : ''} of the source exist (${ids.join(', ')})`,
  );
}

/** The privilege the pipeline needs: reading a plan's goals (the writable child resource). */
export async function checkPlanChildRead(ctx: PreflightContext): Promise<CheckResult> {
  const name = 'plan-child-read';
  const planId = ctx.state.existingPlans[0];
  if (planId === undefined) return skip(name, 'no goal plan of the source exists to read');
  const a = await ctx.probe.send({ path: PLAN_CHILD(planId), query: { limit: '25', onlyData: 'true' } });
  if (a.status === 200) return pass(name, `GET goalPlans/${planId}/child/performanceGoals: 200`);
  if (a.status === 401) return unauthorized(name, a);
  if (a.status === 403) {
    return fail(
      name,
      `GET goalPlans/${planId}/child/performanceGoals: ${answered(a)}`,
      privilegeFix('the goal plan performance goals privileges (Manage Performance Goal by HR)'),
    );
  }
  return fail(
    name,
    `GET goalPlans/${planId}/child/performanceGoals: ${answered(a)}`,
    'check hcmBaseUrl is the pod (https://<pod>.fa.<region>.oraclecloud.com) and that the pod is on 23D or later',
  );
}

/** The top-level resource: read-only; the pipeline does not need it, so a 403 is a warning. */
export async function checkTopLevelRead(ctx: PreflightContext): Promise<CheckResult> {
  const name = 'top-level-read';
  const a = await ctx.probe.send({ path: 'performanceGoals', query: { limit: '1', onlyData: 'true' } });
  if (a.status === 200)
    return pass(
      name,
      'GET performanceGoals: 200 (read-only resource; the pipeline writes through the plan child)',
    );
  if (a.status === 401) return unauthorized(name, a);
  if (a.status === 403) {
    return warn(
      name,
      `GET performanceGoals: ${answered(a)}`,
      'not needed by the pipeline (it reads and writes the plan child only); grant "Use REST Service - Performance Goals Read Only" only to inspect goals across plans',
    );
  }
  return warn(
    name,
    `GET performanceGoals: ${answered(a)}`,
    'not needed by the pipeline; an answer other than 200 or 403 hints at the wrong hcmBaseUrl',
  );
}
