import type { HcmFaults } from '../faults.ts';
import type { SimContext } from '../resources.ts';
import { DEFAULT_SOURCE_SYSTEM_OWNERS } from './contract.ts';
import { DataSets } from './data-sets.ts';
import { IntegrationKeyMap } from './key-map.ts';

export { handleDataSets, isDataSetsPath } from './routes.ts';
export type { DataSets };

/**
 * The simulator's HCM Data Loader: loads into the REST resources' goal store with their rules
 * (goal-lines.ts), reads its `hdl.*` faults live, keeps its key map beside the goal journal.
 */
export function createDataLoader(
  ctx: SimContext,
  faults: () => HcmFaults,
  options: { seed?: number; stateDir?: string },
): DataSets {
  return new DataSets(
    {
      ...ctx,
      sourceSystemOwners: DEFAULT_SOURCE_SYSTEM_OWNERS,
      keyMap: new IntegrationKeyMap(options.stateDir),
    },
    () => {
      const f = faults();
      return {
        uploadDropAfterStoreRate: f['hdl.uploadDropAfterStoreRate'],
        submitDropAfterAcceptRate: f['hdl.submitDropAfterAcceptRate'],
        lineErrorRate: f['hdl.lineErrorRate'],
        loadLinesPerSecond: f['hdl.loadLinesPerSecond'],
        stuckRate: f['hdl.stuckRate'],
      };
    },
    options.seed ?? 1,
  );
}
