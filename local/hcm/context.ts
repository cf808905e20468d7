import { tenantLookups } from './contract/lookups.ts';
import { PAGING } from './contract/rest.ts';
import type { HcmFaults } from './faults.ts';
import { type ListOrder, OrderedRowsCache } from './paging.ts';
import type { SimContext } from './resources.ts';
import { DEFAULT_PERSON_COUNT, DEFAULT_WORKER_PROFILE, PersonDirectory, type WorkerProfile } from './seed.ts';
import type { GoalStore } from './store.ts';

/** What makes one simulated pod's tenant: its workers, its code lists, its paging. */
export interface TenantOptions {
  persons?: number;
  /** Which seeded workers have two assignments or no goal plan (seed.ts). */
  workers?: Partial<WorkerProfile>;
  /** The tenant's code lists (contract/lookups.ts); each given list replaces its default. */
  lookups?: Partial<Record<string, readonly string[]>>;
  /** The largest `limit` the pod accepts (larger ones are cut to it). Default 500. */
  maxLimit?: number;
  /** Collection order: a seeded shuffle stable between requests (default) or creation order. */
  listOrder?: ListOrder;
  /** Seeds the shuffle (and the fault dice). Default 1. */
  seed?: number;
  /** False: `q` with the framework-2 operator IN gets 400 (a pod that does not take it). Default true. */
  qInOperator?: boolean;
}

/** The resources' view of the pod; `faults` is read on every call, so fault changes apply at once. */
export function simContext(options: TenantOptions, store: GoalStore, faults: () => HcmFaults): SimContext {
  return {
    store,
    persons: new PersonDirectory(options.persons ?? DEFAULT_PERSON_COUNT, {
      ...DEFAULT_WORKER_PROFILE,
      ...options.workers,
    }),
    lookups: tenantLookups(options.lookups),
    paging: {
      maxLimit: options.maxLimit ?? PAGING.defaultMaxLimit,
      order: options.listOrder ?? 'shuffled',
      seed: options.seed ?? 1,
    },
    query: { inOperator: options.qInOperator ?? true },
    forbidden: () => faults().forbidden,
    listable: (record) => {
      const hideMs = faults().pendingVisibilityMs;
      return hideMs <= 0 || Date.now() - Date.parse(record.goal.CreationDate) >= hideMs;
    },
    listingsVary: () => faults().pendingVisibilityMs > 0,
    listings: new OrderedRowsCache(),
    assigneeListings: new OrderedRowsCache(),
    baseUrl: '',
    now: () => new Date().toISOString(),
  };
}
