/**
 * The public surface of `hcm/`: what code outside this folder may import (a test enforces it).
 * Everything else in the folder is internal.
 */

export type { HcmClientOptions, HcmClientStats } from './goals-client.ts';
export { HcmGoalsClient } from './goals-client.ts';
export { LatencySignal, type LatencySignalOptions } from './latency-signal.ts';
export { AdaptiveLimiter, type RequestCeiling } from './limiter.ts';
export type { NaturalKey } from './mapping.ts';
export { contentHash, diffGoal, naturalKeyOf, toHcmPayload } from './mapping.ts';
export type {
  GoalStatusCode,
  HcmBatchPart,
  HcmBatchResponsePart,
  HcmErrorBody,
  HcmGoal,
  HcmGoalPayload,
} from './oracle.ts';
export {
  GOAL_PRIORITY_CODES,
  GOAL_STATUS_CODES,
  HCM_EDITABLE_ATTRIBUTES,
  HCM_MEDIA,
  HCM_REST_ROOT,
  hcmPaths,
} from './oracle.ts';
export type { UnauthorizedCause } from './unauthorized.ts';
export { judgeUnauthorized, lateMarginMs, MAX_LATE_TOKEN_RETRIES } from './unauthorized.ts';
