/**
 * Oracle HCM Cloud performance-goals REST simulator (see README.md beside this file).
 * Public entry point: what the CLI, the runner, benchmarks and tests import.
 */
export type { HcmGoal } from '#core/hcm/index.ts';
export type { HcmTimeline } from '../timeline/types.ts';
export { deleteHcmGoal, editHcmGoal, fetchHcmStats, fetchHcmTimeline, postHcmFaults } from './control.ts';
export { type DevTokenIssuer, type MintOptions, startDevTokenIssuer } from './dev-tokens.ts';
export { DEFAULT_FAULTS, type HcmFaults } from './faults.ts';
export {
  DEFAULT_PERSON_COUNT,
  GOAL_PLANS,
  type GoalPlan,
  goalPlanById,
  PersonDirectory,
  type SeedPerson,
  seedPerson,
  seedPersons,
} from './seed.ts';
export { type HcmSim, type HcmSimOptions, startHcmSim } from './server.ts';
export type { HcmStats } from './stats.ts';
