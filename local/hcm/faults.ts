import { mulberry32 } from '../sample/random.ts';
import { SimHttpError } from './http.ts';
import { isPrivilegeEntry, PRIVILEGE_RESOURCES } from './privileges.ts';

export type LatencyDistribution = 'uniform' | 'lognormal';

export interface HcmFaults {
  /**
   * How each API request's delay is drawn. `uniform`: latencyMs plus a uniform 0..jitterMs.
   * `lognormal`: median latencyMs, 99th percentile latencyP99Ms (jitterMs unused): a real pod's long
   * tail, where most answers are quick and a few take seconds.
   */
  latencyDistribution: LatencyDistribution;
  latencyMs: number;
  jitterMs: number;
  /** The lognormal's 99th percentile (ms); must be >= latencyMs when that distribution is chosen. */
  latencyP99Ms: number;
  /** Share (0..1) of API requests answered with errorStatus before they touch any goal. */
  errorRate: number;
  errorStatus: 500 | 503;
  /**
   * The injected error's body. `bare` (default): an HTML page, as a crashed server or the gateway in
   * front of the pod answers; nothing says whether a write was applied. `oracle`: the REST framework's
   * error body with `o:errorDetails`, which the client takes as Oracle refusing the record.
   */
  errorBody: 'bare' | 'oracle';
  /** Share (0..1) of successful POST/PATCH requests whose socket is destroyed after the commit. */
  commitThenDropRate: number;
  /**
   * Share (0..1) of POST/PATCH requests answered 504 at once while the write is applied to the store
   * `lateCommitDelayMs` later: the gateway gave up, Oracle did not.
   */
  lateCommitRate: number;
  lateCommitDelayMs: number;
  /**
   * Share (0..1) of plan-goal PATCH requests refused by a business rule: 500 whose body carries
   * `o:errorDetails` (reported from real pods: "PATCH gave 500 with StatusCode"); nothing commits.
   */
  patchRuleFailureRate: number;
  /**
   * A created goal stays out of every collection (finders, listings) for this long, as a goal pending
   * approval might (unconfirmed); its item, read by the key from the create answer, is there. 0 = off.
   */
  pendingVisibilityMs: number;
  /**
   * Privileges the simulated integration user lacks: `resource` or `METHOD resource` (privileges.ts);
   * such requests answer 403.
   */
  forbidden: readonly string[];
  /** Reject tokens whose `iat` is older than this, even if `exp` is later. null = off. */
  tokenMaxAgeSeconds: number | null;
  /** Per client_id token bucket (burst = rate). 0 = unlimited. */
  rateLimitPerSecond: number;
  /** HDL (hdl/): share of uploadFile calls whose answer is lost after the file was stored. */
  'hdl.uploadDropAfterStoreRate': number;
  /** HDL: share of createFileDataSet calls whose answer is lost after the data set was accepted. */
  'hdl.submitDropAfterAcceptRate': number;
  /** HDL: share of Goal objects that fail to load with a message. */
  'hdl.lineErrorRate': number;
  /** HDL: file lines loaded per second (default 100). */
  'hdl.loadLinesPerSecond': number;
  /** HDL: share of data sets that stay in progress for good. */
  'hdl.stuckRate': number;
  /**
   * A pod that serves this many requests per second (pod-capacity.ts); above it latency grows with
   * the queue, then a slow 503 without Retry-After. 0 = off (every request served at once).
   */
  podCapacityPerSecond: number;
  /** The longest a request waits in that pod's queue before its slow 503 (ms). */
  podMaxQueueMs: number;
}

export const DEFAULT_FAULTS: Readonly<HcmFaults> = Object.freeze({
  latencyDistribution: 'uniform',
  latencyMs: 0,
  jitterMs: 0,
  latencyP99Ms: 0,
  errorRate: 0,
  errorStatus: 503,
  errorBody: 'bare',
  commitThenDropRate: 0,
  lateCommitRate: 0,
  lateCommitDelayMs: 200,
  patchRuleFailureRate: 0,
  forbidden: [],
  pendingVisibilityMs: 0,
  tokenMaxAgeSeconds: null,
  rateLimitPerSecond: 50,
  'hdl.uploadDropAfterStoreRate': 0,
  'hdl.submitDropAfterAcceptRate': 0,
  'hdl.lineErrorRate': 0,
  'hdl.loadLinesPerSecond': 100,
  'hdl.stuckRate': 0,
  podCapacityPerSecond: 0,
  podMaxQueueMs: 3_000,
});

const bad = (field: string, rule: string) => new SimHttpError(400, `Fault ${field} must be ${rule}.`);

function nonNegative(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw bad(field, 'a number >= 0');
  return v;
}
function rate(v: unknown, field: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw bad(field, 'a number from 0 to 1');
  return v;
}

/** Partial merge with validation: unknown keys and bad values are refused, nothing is half-applied. */
export function mergeFaults(current: HcmFaults, patch: unknown): HcmFaults {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    throw new SimHttpError(400, 'Faults must be a JSON object.');
  }
  const next: HcmFaults = { ...current };
  for (const [key, v] of Object.entries(patch)) {
    switch (key) {
      case 'latencyDistribution':
        if (v !== 'uniform' && v !== 'lognormal') throw bad(key, "'uniform' or 'lognormal'");
        next.latencyDistribution = v;
        break;
      case 'latencyMs':
      case 'jitterMs':
      case 'latencyP99Ms':
      case 'rateLimitPerSecond':
      case 'lateCommitDelayMs':
      case 'pendingVisibilityMs':
      case 'podCapacityPerSecond':
      case 'podMaxQueueMs':
        next[key] = nonNegative(v, key);
        break;
      case 'hdl.loadLinesPerSecond':
        if (nonNegative(v, key) === 0) throw bad(key, 'a number > 0');
        next[key] = v as number;
        break;
      case 'hdl.uploadDropAfterStoreRate':
      case 'hdl.submitDropAfterAcceptRate':
      case 'hdl.lineErrorRate':
      case 'hdl.stuckRate':
        next[key] = rate(v, key);
        break;
      case 'errorRate':
      case 'commitThenDropRate':
      case 'lateCommitRate':
      case 'patchRuleFailureRate':
        next[key] = rate(v, key);
        break;
      case 'errorStatus':
        if (v !== 500 && v !== 503) throw bad(key, '500 or 503');
        next.errorStatus = v;
        break;
      case 'errorBody':
        if (v !== 'bare' && v !== 'oracle') throw bad(key, '"bare" or "oracle"');
        next.errorBody = v;
        break;
      case 'forbidden':
        if (!Array.isArray(v) || !v.every(isPrivilegeEntry)) {
          throw bad(key, `a list of "resource" or "METHOD resource" (${PRIVILEGE_RESOURCES.join(', ')})`);
        }
        next.forbidden = [...v];
        break;
      case 'tokenMaxAgeSeconds':
        next.tokenMaxAgeSeconds = v === null ? null : nonNegative(v, key);
        break;
      default:
        throw new SimHttpError(400, `Unknown fault ${key}.`);
    }
  }
  if (
    next.latencyDistribution === 'lognormal' &&
    !(next.latencyMs > 0 && next.latencyP99Ms >= next.latencyMs)
  ) {
    throw bad(
      'latencyP99Ms',
      'at least latencyMs (the median), and latencyMs above 0, for a lognormal latency',
    );
  }
  return next;
}

/** z of the standard normal's 99th percentile. */
const Z99 = 2.326_347_874;
/** A lognormal draw is cut at this multiple of its p99: one pathological sample must not stall a run for minutes. */
const LOGNORMAL_CAP_X_P99 = 10;

/**
 * A lognormal delay with the given median and 99th percentile: exp(mu + sigma z), mu = ln(median),
 * sigma = ln(p99 / median) / z99, z standard normal by Box-Muller from two uniforms of `random`.
 */
export function lognormalMs(medianMs: number, p99Ms: number, random: () => number): number {
  const sigma = Math.log(p99Ms / medianMs) / Z99;
  // 1 - u keeps the log's argument in (0, 1]: random() may return 0.
  const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Math.min(medianMs * Math.exp(sigma * z), p99Ms * LOGNORMAL_CAP_X_P99);
}

/**
 * Fault decisions. Each kind draws from its own stream derived from the seed, so turning one fault
 * on does not shift the sequence of another: the same seed and settings replay the same run.
 */
export class FaultDice {
  private readonly latency: () => number;
  private readonly error: () => number;
  private readonly drop: () => number;
  private readonly late: () => number;
  private readonly rule: () => number;

  constructor(seed: number) {
    this.latency = mulberry32(seed ^ 0x1b873593);
    this.error = mulberry32(seed ^ 0x85ebca6b);
    this.drop = mulberry32(seed ^ 0xc2b2ae35);
    this.late = mulberry32(seed ^ 0x27d4eb2f);
    this.rule = mulberry32(seed ^ 0x165667b1);
  }

  failPatchRule(f: HcmFaults): boolean {
    return f.patchRuleFailureRate > 0 && this.rule() < f.patchRuleFailureRate;
  }

  commitLate(f: HcmFaults): boolean {
    return f.lateCommitRate > 0 && this.late() < f.lateCommitRate;
  }

  delayMs(f: HcmFaults): number {
    if (f.latencyDistribution === 'lognormal')
      return Math.round(lognormalMs(f.latencyMs, f.latencyP99Ms, this.latency));
    if (f.latencyMs <= 0 && f.jitterMs <= 0) return 0;
    return f.latencyMs + (f.jitterMs > 0 ? Math.floor(this.latency() * f.jitterMs) : 0);
  }

  injectError(f: HcmFaults): boolean {
    return f.errorRate > 0 && this.error() < f.errorRate;
  }

  dropAfterCommit(f: HcmFaults): boolean {
    return f.commitThenDropRate > 0 && this.drop() < f.commitThenDropRate;
  }
}
