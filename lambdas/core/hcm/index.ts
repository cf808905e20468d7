/**
 * The public surface of `hcm/`: what code outside this folder may import (a test enforces it).
 * Everything else in the folder is internal.
 */

export type { HcmClientOptions, HcmClientStats } from './goals-client.ts';
export { HcmGoalsClient } from './goals-client.ts';
export { assigneeOf, NoSelfLink, planGoalOf, refOf } from './items.ts';
export { LatencySignal, type LatencySignalOptions } from './latency-signal.ts';
export { AdaptiveLimiter, PLAN_READ_INITIAL_RATE, type RequestCeiling } from './limiter.ts';
export type { MappedGoal, NaturalKey } from './mapping.ts';
export { contentHash, diffGoal, mapGoal, naturalKeyOf, patchBody, toGoalPayload } from './mapping.ts';
export type { GoalMapping, MappingSettings, PercentRange } from './mapping-config.ts';
export {
  DEFAULT_GOAL_MAPPING,
  MAPPING_KEYS,
  mappingFromEnv,
  mappingToEnv,
  parseGoalMapping,
} from './mapping-config.ts';
export type {
  GoalPayload,
  GoalPlanAssignee,
  GoalRef,
  HcmErrorBody,
  PlanGoal,
} from './oracle.ts';
export {
  DOCUMENTED_STATUS_CODES,
  GOAL_PATCHABLE_ATTRIBUTES,
  HCM_MEDIA,
  HCM_REST_ROOT,
  hcmResources,
} from './oracle.ts';
export type {
  AssigneesPage,
  GoalQuery,
  HcmGoals,
  ListedGoal,
  PlanGoalsPage,
  PlanGoalsQuery,
  WriteGuard,
} from './port.ts';
export { hasErrorDetails } from './response.ts';
export type { UnauthorizedCause } from './unauthorized.ts';
export { judgeUnauthorized, lateMarginMs, MAX_LATE_TOKEN_RETRIES } from './unauthorized.ts';
export { tokenThenGuard } from './write-order.ts';
