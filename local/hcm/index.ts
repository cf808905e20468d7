/**
 * Oracle HCM Cloud performance-goals REST simulator (see README.md beside this file).
 * Public entry point: what the CLI, the runner, benchmarks and tests import.
 */
export type { HcmTimeline } from '../timeline/types.ts';
export { DEFAULT_LOOKUPS, type LookupName, type TenantLookups } from './contract/lookups.ts';
export { REST_ROOT } from './contract/rest.ts';
export {
  deleteHcmGoal,
  editHcmGoal,
  fetchHcmStats,
  fetchHcmTimeline,
  postHcmFaults,
  SimControlError,
  type SimGoalRow,
} from './control.ts';
export { type DevTokenIssuer, type MintOptions, startDevTokenIssuer } from './dev-tokens.ts';
export { DEFAULT_FAULTS, type HcmFaults } from './faults.ts';
export type { SimGoal } from './goal.ts';
export {
  DEFAULT_PERSON_COUNT,
  DEFAULT_WORKER_PROFILE,
  GOAL_PLANS,
  type GoalPlan,
  goalPlanById,
  PersonDirectory,
  type PlanAssignee,
  type SeedPerson,
  seedPerson,
  seedPersons,
  type WorkerProfile,
} from './seed.ts';
export { type HcmSim, type HcmSimOptions, startHcmSim } from './server.ts';
export type { HcmStats } from './stats.ts';
