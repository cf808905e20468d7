import type { GoalMapping } from '#core/hcm/index.ts';
import type { HcmProbe } from './hcm-probe.ts';
import type { SourceFacts } from './source-facts.ts';

/** How the preflight gets its token: the grant it uses and a token (never shown, never returned). */
export interface PreflightTokens {
  /** `refresh_token`, `client_credentials`, `jwt_bearer`: what the token check reports. */
  grant: string;
  /** Where the token comes from, for the report ("token broker of connection X", "IdP at host"). */
  origin: string;
  token(): Promise<string>;
}

export interface PreflightOptions {
  /** The plan-wide read's page size (the pipeline asks for this `limit`). */
  pageSize: number;
  /** The request ceiling the pipeline is configured with, and where that number comes from. */
  ceiling: { requestsPerSecond: number; from: string };
  /** Workers sampled per plan for the assignment check. */
  sampleSize: number;
  /** The tenant's status / category / percent codes the client maps to (its default when absent). */
  mapping?: GoalMapping;
  /** `--write-test PERSON`: create, read, patch and delete one goal of this worker. */
  writeTestPerson?: string;
  now?: () => number;
}

/** What one check learns and a later one uses (the first plan that exists, its describe...). */
export interface PreflightState {
  /** Plans of the source HCM answered 200 for. */
  existingPlans: number[];
  /** The plan child's attributes as `describe` lists them, by name. */
  planChildAttributes?: Map<string, DescribedAttribute>;
  /** Codes seen on existing goals (a code HCM stored is a code of the tenant's lookup). */
  codesSeen: Map<string, Set<string>>;
  /** Codes the write test sent and HCM refused / took. */
  codesRefused: Map<string, string>;
  codesTaken: Set<string>;
}

/** One attribute of an ADF `describe` answer (farws Access_Metadata: name, type, updatable, mandatory...). */
export interface DescribedAttribute {
  name: string;
  type?: string;
  updatable?: boolean;
  mandatory?: boolean;
  queryable?: boolean;
  allowChanges?: string;
  maxLength?: number;
  /** An attribute with a list of values names its LOV (ADF `lov`). */
  lov?: unknown;
}

export interface PreflightContext {
  probe: HcmProbe;
  facts: SourceFacts;
  options: PreflightOptions;
  state: PreflightState;
}
