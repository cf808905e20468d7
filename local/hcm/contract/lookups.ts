import { PAGES, type PageRef } from './pages.ts';

/**
 * The code lists the goal attributes are checked against. Oracle delivers some codes and lets each
 * tenant change the lists, so every list is a simulator option (`lookups`); the defaults below are
 * what the pages show, and where they show nothing, the simulator's choice (said per list).
 */
export type LookupName = 'StatusCode' | 'PriorityCode' | 'PercentCompletion' | 'CategoryCode';

export type TenantLookups = Record<LookupName, readonly string[]>;

export interface LookupContract {
  codes: readonly string[];
  page: PageRef;
  /** Where the defaults go beyond the page. */
  note?: string;
}

export const LOOKUP_CONTRACTS: Readonly<Record<LookupName, LookupContract>> = Object.freeze({
  StatusCode: {
    codes: ['NOT_STARTED', 'IN_PROGRESS', 'COMPLETED', 'CANCEL'],
    page: PAGES.goalManagement,
    note:
      'NOT_STARTED, IN_PROGRESS and COMPLETED are documented; CANCEL is what public client code sends. ' +
      'CANCELLED and ON_HOLD are not documented and are refused unless a tenant adds them.',
  },
  PriorityCode: { codes: ['HIGH', 'MEDIUM', 'LOW'], page: PAGES.goalManagement },
  PercentCompletion: {
    codes: ['0', '25', '50', '75', '100'],
    page: PAGES.deliveredRules,
    note:
      'A code (PERCENT_COMPLETE_CODE VARCHAR2(30)), not a number. The delivered rules set 0, 25 and 100 ' +
      'from the status; 50 and 75 are the simulator default tenant choice.',
  },
  CategoryCode: {
    codes: ['PERFORMANCE', 'DEVELOPMENT', 'BEHAVIORAL'],
    page: PAGES.goalManagement,
    note: 'A per-tenant lookup; Oracle publishes no delivered list, so these three are the simulator default.',
  },
});

export const DEFAULT_LOOKUPS: TenantLookups = Object.freeze({
  StatusCode: LOOKUP_CONTRACTS.StatusCode.codes,
  PriorityCode: LOOKUP_CONTRACTS.PriorityCode.codes,
  PercentCompletion: LOOKUP_CONTRACTS.PercentCompletion.codes,
  CategoryCode: LOOKUP_CONTRACTS.CategoryCode.codes,
});

const NAMES = Object.keys(LOOKUP_CONTRACTS) as LookupName[];

/** Defaults overridden per list; a list must be non-empty strings (a typo must not empty a lookup). */
export function tenantLookups(overrides: Partial<Record<string, readonly string[]>> = {}): TenantLookups {
  const out: Record<string, readonly string[]> = { ...DEFAULT_LOOKUPS };
  for (const [name, codes] of Object.entries(overrides)) {
    if (!NAMES.includes(name as LookupName)) {
      throw new Error(`unknown lookup ${name}: the simulator has ${NAMES.join(', ')}`);
    }
    if (!Array.isArray(codes) || codes.length === 0 || codes.some((c) => typeof c !== 'string' || c === '')) {
      throw new Error(`lookup ${name} needs a non-empty list of codes`);
    }
    out[name] = Object.freeze([...codes]);
  }
  return Object.freeze(out) as TenantLookups;
}
