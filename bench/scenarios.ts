/**
 * The scenarios of issue 7. Each runs once for the managed pipeline and once for `--naive`, on fresh
 * simulators with the same seed and the same settings. Sizes are chosen so the whole bench fits in
 * 10 minutes on a 2-core machine, hence three lanes:
 * - `paced`: bound by the 50 req/s HCM rate limit (mostly waiting): all run side by side;
 * - `invariant`: about correctness under faults, not speed: one at a time, beside the paced lane;
 * - `alone`: CPU-heavy (herd's 40 workers, scale): one at a time, with nothing else running.
 */
export type Lane = 'paced' | 'invariant' | 'alone';

export interface Scenario {
  name: string;
  /** Records in the source file (1% of them invalid on purpose). */
  goals: number;
  tokenTtlSeconds: number;
  /** HCM requests per second per client (the simulator's token bucket). */
  rateLimit: number;
  /**
   * A pod that serves this many requests per second (`hcm.podCapacityPerSecond`): above it latency
   * grows with its queue, then a slow 503. The client is not told (its ceiling stays the rate limit).
   */
  podCapacity?: number;
  /** Uniform [min, max]; with latencyP99Ms, [median, median] of a lognormal. */
  latencyMs: [number, number];
  /** Long-tailed HCM latency: lognormal with median latencyMs[0] and this 99th percentile. */
  latencyP99Ms?: number;
  /** Map MaxConcurrency (chunk workers); the naive job gets the same number of workers. */
  concurrency: number;
  chunkSize: number;
  /** `--faults` spec, see `goal-sync local --help`. */
  faults?: string;
  /** Crash the first process once this share of the valid goals is committed in HCM. */
  crashAtShare?: number;
  /** Revoke the grant once this share of the valid goals is committed in HCM. */
  revokeAtShare?: number;
  lane: Lane;
  /** Which pipelines run it (default both). */
  modes?: Array<'managed' | 'naive'>;
  /** `--write-mode` (default: the CLI's, REST unless HDL is asked for). */
  writeMode?: 'hdl';
  /** One line: what the scenario proves (README and the Markdown report). */
  proves: string;
}

export const SEED = 42;
export const INVALID_RATE = 0.01;
const LATENCY: [number, number] = [20, 50];

/** The scale rows: no limiter and no latency, so what is measured is the pipeline itself. */
const SCALE_ROW = {
  name: 'scale',
  tokenTtlSeconds: 300,
  rateLimit: 100_000,
  latencyMs: [0, 0] as [number, number],
  concurrency: 10,
  chunkSize: 100,
  lane: 'alone' as const,
};

/**
 * The HDL rows (issue 24): the scale rows' pipeline through HCM Data Loader. The simulator loads
 * 20,000 lines/s (a goal is two lines), so 200k goals load in about 20 s of the row's wall time.
 */
const HDL_LOAD_RATE = 'hdl.loadLinesPerSecond=20000';
const HDL_ROW = {
  ...SCALE_ROW,
  name: 'hdl',
  writeMode: 'hdl' as const,
  faults: HDL_LOAD_RATE,
  modes: ['managed' as const],
};

/** The invariant lane's common shape: a mid-size run fast enough that only the injected fault matters. */
const INVARIANT_LANE = {
  goals: 2500,
  tokenTtlSeconds: 30,
  rateLimit: 1000,
  latencyMs: LATENCY,
  concurrency: 10,
  chunkSize: 100,
} as const;

export const SCENARIOS: Scenario[] = [
  {
    name: 'baseline',
    goals: 5000,
    tokenTtlSeconds: 30,
    rateLimit: 50,
    latencyMs: LATENCY,
    concurrency: 10,
    chunkSize: 100,
    lane: 'paced',
    proves: 'throughput against the rate-limit ceiling; tokens renewed ahead of expiry, no 401s',
  },
  {
    name: 'realistic-latency',
    goals: 5000,
    tokenTtlSeconds: 30,
    rateLimit: 50,
    // A real pod: most answers in about 600 ms, 1 in 100 slower than 3 s.
    latencyMs: [600, 600],
    latencyP99Ms: 3000,
    // The stack's defaults (infra/stack-config.ts chunkConcurrency 5; records per chunk and HCM requests in
    // flight are the engine's and the client's defaults), not a setting tuned for the bench.
    concurrency: 5,
    chunkSize: 100,
    lane: 'paced',
    // The naive job keeps one request in flight per worker: at ~0.8 s per request its 5 workers would
    // need ~17 minutes for 5,000 goals (measured: still running after 7), so the row is managed only.
    modes: ['managed'],
    proves: 'HCM latency median 600 ms, p99 3 s, default concurrency: still bound by the rate limit',
  },
  {
    name: 'pod-overload',
    goals: 5000,
    tokenTtlSeconds: 30,
    // The local ceiling stays the simulator's 50 req/s: the pod's 40 is for the pacer to find.
    rateLimit: 50,
    podCapacity: 40,
    latencyMs: LATENCY,
    concurrency: 5,
    chunkSize: 100,
    lane: 'paced',
    // The naive job has no pacer to judge; its row would only show a flooded pod.
    modes: ['managed'],
    proves:
      'a pod serving 40 req/s that shows overload only as latency and slow 503s (no 429): peak <= 1.2x its capacity, goals/s >= 85% of it',
  },
  {
    name: 'herd',
    goals: 2500,
    tokenTtlSeconds: 5,
    // Low enough that the naive job also outlives its first token (it would finish in 3 s at 1000 req/s).
    rateLimit: 200,
    latencyMs: LATENCY,
    concurrency: 40,
    chunkSize: 50,
    lane: 'alone',
    proves: '40 workers, 5 s tokens: one token call per expiry window, not one per worker',
  },
  {
    name: 'early-invalidation',
    goals: 3000,
    tokenTtlSeconds: 60,
    rateLimit: 50,
    latencyMs: LATENCY,
    concurrency: 10,
    chunkSize: 100,
    faults: 'hcm.tokenMaxAgeSeconds=20',
    lane: 'paced',
    proves: 'HCM rejects tokens after 20 s although exp says 60 s: one refresh per 401 wave, run goes on',
  },
  {
    name: 'crash-resume',
    ...INVARIANT_LANE,
    crashAtShare: 0.6,
    lane: 'invariant',
    proves: 'process killed at 60%: the resume writes only the remainder, pending intents reconciled',
  },
  {
    name: 'commit-then-drop',
    ...INVARIANT_LANE,
    faults: 'hcm.commitThenDropRate=0.03',
    lane: 'invariant',
    proves: '3% of writes commit but the answer is lost: looked up before any second create',
  },
  {
    name: 'idp-flaky',
    goals: 2500,
    tokenTtlSeconds: 2,
    rateLimit: 50,
    latencyMs: LATENCY,
    concurrency: 10,
    chunkSize: 100,
    faults: 'idp.errorRate=0.2,idp.dropAfterIssueRate=0.02',
    lane: 'paced',
    proves: '20% token 503s, 2% answers lost after rotation: retried, or stopped cleanly as needs_reauth',
  },
  {
    name: 'slow-aws',
    goals: 1000,
    tokenTtlSeconds: 5,
    rateLimit: 50,
    latencyMs: LATENCY,
    concurrency: 10,
    chunkSize: 100,
    faults: 'dynamo.throttleRate=0.05,dynamo.latencyMs=100,kms.latencyMs=300',
    lane: 'invariant',
    proves: 'DynamoDB 100 ms + 5% throttled, KMS 300 ms, 5 s tokens: the lease covers the commit, 0 reuse',
  },
  {
    name: 'revoked',
    goals: 2500,
    tokenTtlSeconds: 10,
    rateLimit: 50,
    latencyMs: LATENCY,
    concurrency: 10,
    chunkSize: 100,
    revokeAtShare: 0.4,
    lane: 'paced',
    proves: 'grant revoked at 40%: needs_reauth within one refresh, event emitted, resume adds no duplicate',
  },
  {
    name: 'overlap',
    goals: 5000,
    tokenTtlSeconds: 30,
    rateLimit: 200,
    latencyMs: LATENCY,
    concurrency: 10,
    chunkSize: 100,
    // Aggressive on purpose: 5% of writes commit after a 504, 30% of chunk invocations run twice, and a
    // second run of the connection is started a fifth of the way in.
    faults:
      'hcm.lateCommitRate=0.05,hcm.lateCommitDelayMs=500,sfn.duplicateInvocationRate=0.3,secondRunAfter=1000',
    lane: 'invariant',
    proves:
      'late commits behind 504s, duplicate chunk invocations, a second run mid-way: one goal per record, none lost',
  },
  {
    ...SCALE_ROW,
    goals: 5000,
    proves: 'pipeline cost without the limiter (latency 0): goals/s and peak RSS at 5k',
  },
  {
    ...HDL_ROW,
    goals: 5000,
    proves: 'the 5k scale row through HDL: HCM requests per goal (target < 0.01), wall time, load time',
  },
  {
    ...HDL_ROW,
    goals: 50_000,
    proves: 'the same at 50k: the plans are read twice per run whatever the goal count',
  },
  {
    ...HDL_ROW,
    goals: 200_000,
    proves: 'the same at 200k: 20 data sets of 10,000 records',
  },
  {
    ...INVARIANT_LANE,
    name: 'hdl-faults',
    writeMode: 'hdl',
    modes: ['managed'],
    faults: `${HDL_LOAD_RATE},hdl.uploadDropAfterStoreRate=0.5,hdl.submitDropAfterAcceptRate=0.5,hdl.lineErrorRate=0.02`,
    chunkSize: 100,
    lane: 'invariant',
    proves:
      'HDL with half the uploadFile and createFileDataSet answers lost and 2% of lines failing: 0 duplicates, every failed line reported with its message',
  },
  {
    ...SCALE_ROW,
    goals: 50_000,
    proves: 'the same at 50k (inline Map): time grows with the goal count, memory stays flat',
  },
  {
    ...SCALE_ROW,
    goals: 200_000,
    proves: 'the same at 200k: the default state machine takes the Distributed Map; memory stays flat',
  },
];

export const scenarioId = (s: Scenario): string =>
  s.name === 'scale' || s.name === 'hdl' ? `${s.name}-${s.goals / 1000}k` : s.name;
