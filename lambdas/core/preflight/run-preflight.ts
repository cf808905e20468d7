import { maskSecrets } from '../mask.ts';
import {
  checkCeiling,
  checkGoalPlans,
  checkPlanChildRead,
  checkToken,
  checkTopLevelRead,
} from './access-checks.ts';
import { checkPlanAssignments } from './assignment-checks.ts';
import { type CheckResult, fail, type PreflightReport, skip, toReport } from './check.ts';
import type { PreflightContext, PreflightOptions, PreflightTokens } from './context.ts';
import { checkDescribePlanChild, checkDescribeTopLevel, checkLookupCodes } from './describe-checks.ts';
import { createHcmProbe, type HcmProbe } from './hcm-probe.ts';
import { checkKeysetPaging, checkPageSize } from './paging-checks.ts';
import type { SourceFacts } from './source-facts.ts';
import { checkWriteTest } from './write-test.ts';

export interface PreflightInput {
  hcmBaseUrl: string;
  tokens: PreflightTokens;
  facts: SourceFacts;
  options: PreflightOptions;
  /** Tests inject a probe (or fetch); the default is the paced HTTP probe. */
  probe?: HcmProbe;
  fetch?: typeof fetch;
}

/** The checks after the token, in order: each may use what an earlier one learnt (PreflightState). */
const HCM_CHECKS: ReadonlyArray<[string, (ctx: PreflightContext) => Promise<CheckResult> | CheckResult]> = [
  ['goal-plans', checkGoalPlans],
  ['plan-child-read', checkPlanChildRead],
  ['top-level-read', checkTopLevelRead],
  ['describe-plan-child', checkDescribePlanChild],
  ['describe-top-level', checkDescribeTopLevel],
  ['plan-assignments', checkPlanAssignments],
  ['page-size', checkPageSize],
  ['keyset-paging', checkKeysetPaging],
  ['write-test', checkWriteTest],
  ['lookup-codes', checkLookupCodes],
];

/** The names of every check, in report order. */
export const CHECK_NAMES = ['token', 'request-ceiling', ...HCM_CHECKS.map(([name]) => name)] as const;

/** Every check, read-only unless `writeTestPerson` is set; never throws for what HCM answers. */
export async function runPreflight(input: PreflightInput): Promise<PreflightReport & { requests: number }> {
  const checks: CheckResult[] = [];
  const token = await checkToken(input.tokens);
  checks.push(token);
  const probe =
    input.probe ??
    createHcmProbe({
      baseUrl: input.hcmBaseUrl,
      token: input.tokens.token,
      maxRequestsPerSecond: input.options.ceiling.requestsPerSecond,
      fetch: input.fetch,
    });
  const ctx: PreflightContext = {
    probe,
    facts: input.facts,
    options: input.options,
    state: { existingPlans: [], codesSeen: new Map(), codesRefused: new Map(), codesTaken: new Set() },
  };
  checks.push(checkCeiling(ctx));
  for (const [name, check] of HCM_CHECKS) {
    if (!token.ok) {
      checks.push(skip(name, 'no token: see the token check'));
      continue;
    }
    try {
      checks.push(await check(ctx));
    } catch (err) {
      const why = maskSecrets(err instanceof Error ? err.message : String(err));
      checks.push(
        fail(name, `the check itself failed: ${why}`, 'run preflight again; report it if it repeats'),
      );
    }
  }
  return { ...toReport(checks), requests: probe.requests };
}
