/**
 * The public surface of `preflight/` (`goal-sync preflight`, the preflight Lambda): what code outside
 * this folder may import (a test enforces it).
 */

export type { CheckResult, CheckStatus, PreflightReport } from './check.ts';
export { renderReport, toReport } from './check.ts';
// The single checks and what they read, for tests that feed them answers shaped like ADF's.
export type { PreflightContext, PreflightOptions, PreflightTokens } from './context.ts';
export { checkDescribePlanChild, checkLookupCodes } from './describe-checks.ts';
export type { ProbeAnswer } from './hcm-probe.ts';
export { createHcmProbe, type HcmProbe } from './hcm-probe.ts';
export { patchableAttributes } from './mapping-contract.ts';
export { checkKeysetPaging, checkPageSize } from './paging-checks.ts';
export {
  digestFromWire,
  digestToWire,
  type PreflightRequest,
  parsePreflightRequest,
  preflightRequestSchema,
} from './protocol.ts';
export { CHECK_NAMES, type PreflightInput, runPreflight } from './run-preflight.ts';
export {
  addToDigest,
  emptyDigest,
  factsOf,
  readSourceDigest,
  type SourceDigest,
  type SourceFacts,
} from './source-facts.ts';
