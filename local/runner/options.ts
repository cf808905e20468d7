import type { GoalMapping } from '#core/hcm/index.ts';
import {
  type CsvDelimiter,
  didYouMean,
  encodingName,
  escapeControl,
  type MaxInvalid,
  parseDelimiter,
  parseMaxInvalid,
} from '#core/source/index.ts';
import { DEFAULT_HDL_THRESHOLD, PLAN_DEFAULTS, WRITE_MODES, type WriteMode } from '#core/sync/index.ts';
import { ArgsError, enumValue, MAPPING_OPTIONS, mappingFromFlags, parseCli } from '../../cli/args.ts';
import { ConfigError } from '../../lambdas/core/errors.ts';
import { AWS_FAULT_USAGE, type AwsFaults, applyAwsFault, noAwsFaults } from './aws-faults.ts';
import { PROGRESS_MODES, type ProgressMode, progressMode } from './progress.ts';

/** Everything `goal-sync local` can be told (DESIGN.md section 5 plus the embedded-default extras). */
export interface LocalRunOptions {
  goals: number;
  chunkSize: number;
  concurrency: number;
  tokenTtlSeconds: number;
  runId?: string;
  resume?: string;
  crashAfter?: number;
  faults: FaultSpec;
  reportFile?: string;
  /** --report-html FILE: the run's charts (tokens, HCM answers, goals written per second). */
  reportHtml?: string;
  json: boolean;
  naive: boolean;
  stateDir?: string;
  idpUrl?: string;
  hcmUrl?: string;
  /** `--dynamo-url`: a DynamoDB endpoint started elsewhere (dynalite in another process) instead of our own. */
  dynamoUrl?: string;
  source?: string;
  invalidRate: number;
  seed: number;
  rateLimit: number;
  /** `--hcm-max-rps`: the HCM request ceiling of every container together (default: the simulator's rate limit). */
  hcmMaxRps?: number;
  latencyMs: [number, number];
  /** `--latency lognormal:MEDIAN-P99`: latencyMs is [median, median] and this the 99th percentile. */
  latencyP99Ms?: number;
  tokenBufferSeconds?: number;
  verbose: boolean;
  /** `--progress bar|plain|none`; default a bar on a terminal, lines elsewhere, none with --json. */
  progress: ProgressMode;
  /** `--progress-every S`: plain mode's interval (default 10 s). */
  progressEverySeconds: number;
  /** `--grant`: how the local connection gets its tokens (issue 11). */
  grant: LocalGrant;
  /** Reject the input (exit 4) above this many invalid records (`N`) or this share (`P%`); default 5%. */
  maxInvalid?: MaxInvalid;
  /** `--encoding`: what a --source file's bytes are when they are not UTF-8 (canonical WHATWG name). */
  encoding?: string;
  /** `--delimiter`: the CSV separator of a --source file (else detected from its header). */
  delimiter?: CsvDelimiter;
  /** `--map-threshold N`: runs of more than N chunks take the Distributed Map (default: the inline limit). */
  mapThreshold?: number;
  /** `--verify`: also compare the goals the ledger calls written with HCM and repair what drifted. */
  verify: boolean;
  /** `--status-map`, `--category-map`, `--percent-codes`: the tenant's codes (default DEFAULT_GOAL_MAPPING). */
  mapping: GoalMapping;
  /**
   * `--visibility-ms`, `--settle-horizon-ms`: the write protocol's visibility wait and settle horizon
   * (default: both just past the simulator's late-commit delay). Setting the wait below that delay
   * reproduces commits that come later than the protocol waits (issue 25's campaign).
   */
  visibilityMs?: number;
  settleHorizonMs?: number;
  /**
   * `--execution-timeout-s`: hold each execution to this timeout as Step Functions does (none by
   * default); a REST run that would not fit continues in new executions of the same run (issue 24).
   */
  executionTimeoutS?: number;
  /** `--index-page-size`, `--index-min-records`: the plan-wide read (lambdas/core/sync/goal-index.ts). */
  indexPageSize?: number;
  indexMinRecords?: number;
  /** `--write-mode`: rest, hdl or auto (default: auto, HDL above `hdlThreshold` records to write). */
  writeMode?: WriteMode;
  /** `--hdl-threshold N` (default 2,000). */
  hdlThreshold?: number;
  /**
   * `--hdl-source-owner`: HDL's SourceSystemOwner. Unset, HDL is configured only when `--write-mode hdl`
   * or `auto` asks for it (then GOALSYNC, a value the simulator's lookup has): like a stack without
   * the context key, a plain `goal-sync local` writes through REST.
   */
  hdlSourceOwner?: string;
}

export type LocalGrant = 'refresh_token' | 'client_credentials' | 'jwt_bearer';

export interface FaultSpec {
  hcm: Record<string, number | null>;
  idp: Record<string, number | boolean>;
  /** Revoke the connection's grant once this many goals are committed (admin revoke / password change). */
  revokeAfter?: number;
  /** Step Functions faults: `duplicateInvocationRate` starts that share of chunk invocations twice. */
  sfn: { duplicateInvocationRate?: number };
  /** Start a second run of the same connection (a new runId) once this many goals are committed. */
  secondRunAfter?: number;
  /** dynamo.*, kms.*, broker.* (local/runner/aws-faults.ts). */
  aws: AwsFaults;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** `hint: false`: a file or directory problem (the flags were right): no --help hint. */
  constructor(
    message: string,
    readonly hint = true,
  ) {
    super(message);
  }
}

export const LOCAL_USAGE = `goal-sync local [flags]   run the whole pipeline on the embedded default

  --goals N            goals to generate (default 5000)
  --chunk-size K       records per chunk (default 100)
  --concurrency C      Map MaxConcurrency: chunk workers in parallel (default 10)
  --token-ttl S        access token lifetime in seconds (default 30)
  --run-id ID          run id (default: generated); the same id resumes
  --resume ID          resume run ID (use with --state-dir)
  --state-dir DIR      persist DynamoDB, IdP grants/keys, HCM goals and secrets under DIR
  --crash-after N      exit the process (simulated crash) after N goals are committed in HCM
  --faults SPEC        e.g. hcm.commitThenDropRate=0.03,idp.errorRate=0.2,revokeAfter=2000
                       hcm.{latencyMs,jitterMs,errorRate,errorStatus,commitThenDropRate,lateCommitRate,
                            lateCommitDelayMs,tokenMaxAgeSeconds,rateLimitPerSecond,
                            podCapacityPerSecond,podMaxQueueMs} (a pod serving N req/s: slower, then 503)
                       idp.{latencyMs,jitterMs,errorRate,errorStatus,dropAfterIssueRate,
                            gatewayErrorAfterIssueRate,forceInvalidGrant,rateLimitPerSecond,rateLimitPerMinute}
                       hdl.{uploadDropAfterStoreRate,submitDropAfterAcceptRate,lineErrorRate,loadLinesPerSecond,stuckRate}
                       sfn.duplicateInvocationRate, secondRunAfter=N, revokeAfter=N
                       ${AWS_FAULT_USAGE}
  --grant G            refresh-token (default), client-credentials or jwt-bearer (- or _ alike)
  --rate-limit R       HCM requests per second per client (default 50)
  --hcm-max-rps N      ceiling on HCM requests per second, all workers together (default: the
                       simulator's rate limit; 0 = none); in AWS: context hcmMaxRequestsPerSecond
  --latency A-B        simulated HCM latency range in ms (default 20-50)
  --latency lognormal:M-P   long-tailed HCM latency: median M ms, 99th percentile P ms
  --invalid-rate R     share of invalid generated records (default 0.01)
  --seed S             generator and fault seed (default 42)
  --source FILE        sync this file instead of generated goals: JSON Lines, a JSON array or CSV
                       (comma, semicolon or tab), UTF-8 or UTF-16 with a byte order mark
  --encoding E         what --source is when not UTF-8, e.g. windows-1252 (Excel's "CSV"), latin1
  --delimiter D        CSV separator: comma, semicolon or tab (default: read from the header)
  --max-invalid N|P%   reject the input (exit 4) above N invalid records or P% of them (default 5%)
  --map-threshold N    runs of more than N chunks take the Distributed Map branch
                       (default ${PLAN_DEFAULTS.maxInlineChunks}, the most an inline Map can take; 0 = always)
  --verify             also check every goal the ledger calls written against HCM (one plan-wide
                       read) and re-create what is missing, correct what drifted (report: verify)
  --index-page-size N  page size of the plan-wide read of existing goals (default 500, the most
                       Oracle is assumed to accept)
  --index-min-records N  runs with fewer valid records use per-person finders instead (default 500)
  --visibility-ms MS   how long after an unclear write a record waits before it is looked up again
                       (default: just past hcm.lateCommitDelayMs); below that delay, HCM commits later
                       than the protocol waits
  --settle-horizon-ms MS  how long an unclear POST no read has shown stays unsettled before it is
                       written again (default: just past hcm.lateCommitDelayMs; AWS: 24 h)
  --execution-timeout-s S  give each execution a timeout (none by default; AWS: 6 h): a run that would
                       not fit continues in new executions of itself before it (half is kept free)
  --write-mode M       rest, hdl or auto (auto: HCM Data Loader when a run has more than
                       --hdl-threshold records to write, else REST; the default when HDL is on)
  --hdl-threshold N    auto's threshold in records to write (default ${DEFAULT_HDL_THRESHOLD})
  --hdl-source-owner S HDL's SourceSystemOwner, a value of lookup HRC_SOURCE_SYSTEM_OWNER (default
                       GOALSYNC with --write-mode hdl|auto; without either flag HDL is off: REST)
  --status-map M       source status -> the tenant's StatusCode, SOURCE=CODE,... (default: the three
                       documented codes as they are, CANCELLED=CANCEL; ON_HOLD has none)
  --category-map M     source category -> CategoryCode, SOURCE=CODE,... (default: sent as it is)
  --percent-codes M    percentComplete ranges -> PercentCompletion codes (default 0-24=0,25-49=25,
                       50-74=50,75-99=75,100=100)
  --naive              run the same workload the way the original job did (no broker, no checkpoints)
  --idp-url URL --hcm-url URL   use simulators started with 'goal-sync sim'
  --dynamo-url URL     use this local DynamoDB endpoint (dynalite in another process) instead of
                       starting one in this process; tables are created if missing
  --report FILE        write the JSON run report to FILE
  --report-html FILE   write an HTML report with charts (token lifetimes and refreshes, HCM answers
                       and goals written per second) to FILE
  --json               print the JSON report instead of the summary
  --verbose            print events and handler logs
  --progress P         bar (default on a terminal), plain (a line every --progress-every seconds,
                       default 10; the default elsewhere: cron, CI logs) or none; never coloured
  --no-progress        same as --progress none
  -h, --help           this help

examples:
  goal-sync local                                   5,000 generated goals, 30 s tokens
  goal-sync local --goals 500 --state-dir ./run1    keep the run; Ctrl-C prints how to resume
  goal-sync local --state-dir ./run1 --resume RUN   resume an interrupted run
  goal-sync local --source goals.csv --max-invalid 2%
  goal-sync local --faults hcm.errorRate=0.05,revokeAfter=2000 --json
  goal-sync local --state-dir ./run1 --verify       repair goals deleted or edited in HCM by hand

exit codes: 0 done, 1 failed records or failed run, 2 bad arguments, 3 needs re-auth,
            4 input rejected (empty, all invalid, or over --max-invalid), 130 interrupted (Ctrl-C)`;

function int(name: string, raw: string | undefined, fallback: number, min = 0): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} must be an integer >= ${min}`);
  return value;
}

/** The inline Map's limit (infra/state-machine.ts); the local runner executes the same definition. */
export const MAX_INLINE_CONCURRENCY = 40;

function intInRange(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  const value = int(name, raw, fallback, min);
  if (value > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}`);
  return value;
}

function maxInvalidFlag(raw: string): MaxInvalid {
  try {
    return parseMaxInvalid(raw);
  } catch (err) {
    if (err instanceof ConfigError)
      throw new UsageError(`--max-invalid: ${err.message.replace(/^maxInvalid:? ?/, '')}`);
    throw err;
  }
}

/** A flag parser's own refusal (ArgsError) as a usage error (exit 2). */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ArgsError) throw new UsageError(err.message);
    throw err;
  }
}

/** --encoding / --delimiter: the source module's own check, as a usage error (exit 2). */
function sourceFlag<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(`--${err.message}`);
    throw err;
  }
}

function ratio(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new UsageError(`--${name} must be in [0, 1]`);
  return value;
}

/**
 * Every --faults key and what its value may be. One line per key: a new fault target (another
 * simulator or proxy) adds its keys here and its field to FaultSpec.
 */
type FaultValue = 'number' | 'numberOrNull' | 'ratio' | 'status' | 'boolean' | 'count' | 'errorBody';
export const FAULT_KEYS: Readonly<Record<string, FaultValue>> = {
  'hcm.latencyMs': 'number',
  'hcm.jitterMs': 'number',
  'hcm.errorRate': 'ratio',
  'hcm.errorStatus': 'status',
  'hcm.errorBody': 'errorBody',
  'hcm.commitThenDropRate': 'ratio',
  'hcm.lateCommitRate': 'ratio',
  'hcm.lateCommitDelayMs': 'number',
  'hcm.tokenMaxAgeSeconds': 'numberOrNull',
  'hcm.rateLimitPerSecond': 'number',
  'hcm.podCapacityPerSecond': 'number',
  'hcm.podMaxQueueMs': 'number',
  'idp.latencyMs': 'number',
  'idp.jitterMs': 'number',
  'idp.errorRate': 'ratio',
  'idp.errorStatus': 'status',
  'idp.dropAfterIssueRate': 'ratio',
  'idp.gatewayErrorAfterIssueRate': 'ratio',
  'idp.forceInvalidGrant': 'boolean',
  'idp.rateLimitPerSecond': 'number',
  'idp.rateLimitPerMinute': 'number',
  revokeAfter: 'count',
  'sfn.duplicateInvocationRate': 'ratio',
  secondRunAfter: 'count',
  'dynamo.latencyMs': 'number',
  'dynamo.throttleRate': 'ratio',
  'dynamo.dropAfterApplyRate': 'ratio',
  'kms.latencyMs': 'number',
  'broker.crashAfterSendRate': 'ratio',
  'hdl.uploadDropAfterStoreRate': 'ratio',
  'hdl.submitDropAfterAcceptRate': 'ratio',
  'hdl.lineErrorRate': 'ratio',
  'hdl.loadLinesPerSecond': 'number',
  'hdl.stuckRate': 'ratio',
};

const FAULT_RULES: Record<
  FaultValue,
  { rule: string; parse(raw: string): number | boolean | string | null | undefined }
> = {
  number: { rule: 'a number >= 0', parse: (raw) => nonNegative(raw) },
  numberOrNull: { rule: 'a number >= 0 or null', parse: (raw) => (raw === 'null' ? null : nonNegative(raw)) },
  ratio: {
    rule: 'a number in [0, 1]',
    parse: (raw) => {
      const v = nonNegative(raw);
      return v !== undefined && v <= 1 ? v : undefined;
    },
  },
  status: { rule: '500 or 503', parse: (raw) => (raw === '500' || raw === '503' ? Number(raw) : undefined) },
  errorBody: {
    rule: 'bare or oracle',
    parse: (raw) => (raw === 'bare' || raw === 'oracle' ? raw : undefined),
  },
  boolean: {
    rule: 'true or false',
    parse: (raw) => (raw === 'true' ? true : raw === 'false' ? false : undefined),
  },
  count: {
    rule: 'a whole number >= 1',
    parse: (raw) => (/^\d+$/.test(raw) && Number(raw) >= 1 ? Number(raw) : undefined),
  },
};

function nonNegative(raw: string): number | undefined {
  const v = raw.trim() === '' ? Number.NaN : Number(raw);
  return Number.isFinite(v) && v >= 0 ? v : undefined;
}

export function parseFaultSpec(spec: string | undefined): FaultSpec {
  const faults: FaultSpec = { hcm: {}, idp: {}, sfn: {}, aws: noAwsFaults() };
  if (!spec) return faults;
  const known = Object.keys(FAULT_KEYS);
  for (const part of spec.split(',').filter(Boolean)) {
    const at = part.indexOf('=');
    const key = at < 0 ? part : part.slice(0, at);
    const raw = at < 0 ? undefined : part.slice(at + 1);
    const kind = FAULT_KEYS[key];
    if (!kind) {
      throw new UsageError(
        `--faults: unknown key '${escapeControl(key)}'${didYouMean(key, known)}; known: ${known.join(', ')}`,
      );
    }
    if (raw === undefined) throw new UsageError(`--faults: '${key}' needs a value (${key}=...)`);
    const { rule, parse } = FAULT_RULES[kind];
    const value = parse(raw);
    if (value === undefined)
      throw new UsageError(`--faults: ${key} must be ${rule}, got '${escapeControl(raw)}'`);
    if (key === 'revokeAfter' || key === 'secondRunAfter') {
      faults[key] = value as number;
      continue;
    }
    // dynamo.*, kms.*, broker.*: the AWS fault proxy's own section (aws-faults.ts).
    if (applyAwsFault(faults.aws, key, raw)) continue;
    // hdl.*: the HCM simulator's data loader, set under the same name (local/hcm/faults.ts).
    if (key.startsWith('hdl.')) {
      faults.hcm[key] = value as number;
      continue;
    }
    const dot = key.indexOf('.');
    const target = key.slice(0, dot);
    const field = key.slice(dot + 1);
    const sections = faults as unknown as Record<string, Record<string, unknown>>;
    sections[target] = { ...sections[target], [field]: value };
  }
  return faults;
}

/** `lognormal:600-3000` -> median 600 ms, p99 3,000 ms; anything else is a uniform range. */
function latencyOption(raw: string | undefined): Pick<LocalRunOptions, 'latencyMs' | 'latencyP99Ms'> {
  const lognormal = raw === undefined ? null : /^lognormal:(\d+)-(\d+)$/.exec(raw);
  if (!lognormal) return { latencyMs: latencyRange(raw) };
  const median = Number(lognormal[1]);
  const p99 = Number(lognormal[2]);
  if (median < 1 || p99 < median)
    throw new UsageError('--latency lognormal:M-P needs a median M >= 1 and a 99th percentile P >= M');
  return { latencyMs: [median, median], latencyP99Ms: p99 };
}

function latencyRange(raw: string | undefined): [number, number] {
  if (raw === undefined) return [20, 50];
  const match = /^(\d+)(?:-(\d+))?$/.exec(raw);
  if (!match) throw new UsageError('--latency must look like 20-50, 30 or lognormal:600-3000');
  const low = Number(match[1]);
  const high = match[2] === undefined ? low : Number(match[2]);
  if (high < low) throw new UsageError('--latency: the upper bound is below the lower bound');
  return [low, high];
}

export function parseLocalArgs(argv: string[]): LocalRunOptions | 'help' {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if ((v['idp-url'] === undefined) !== (v['hcm-url'] === undefined)) {
    throw new UsageError('--idp-url and --hcm-url go together');
  }
  if (v.resume && !v['state-dir'])
    throw new UsageError('--resume needs --state-dir (where the crashed run lives)');
  if (v.resume && v['run-id'] && v.resume !== v['run-id'])
    throw new UsageError('--resume and --run-id disagree');
  return {
    goals: int('goals', v.goals, 5000, 1),
    chunkSize: int('chunk-size', v['chunk-size'], 100, 1),
    concurrency: intInRange('concurrency', v.concurrency, 10, 1, MAX_INLINE_CONCURRENCY),
    tokenTtlSeconds: int('token-ttl', v['token-ttl'], 30, 2),
    runId: v.resume ?? v['run-id'],
    resume: v.resume,
    crashAfter: v['crash-after'] === undefined ? undefined : int('crash-after', v['crash-after'], 0, 1),
    faults: parseFaultSpec(v.faults),
    reportFile: v.report,
    ...(v['report-html'] === undefined ? {} : { reportHtml: v['report-html'] }),
    json: v.json ?? false,
    naive: v.naive ?? false,
    stateDir: v['state-dir'],
    idpUrl: v['idp-url'],
    hcmUrl: v['hcm-url'],
    ...(v['dynamo-url'] === undefined ? {} : { dynamoUrl: localEndpoint(v['dynamo-url']) }),
    source: v.source,
    invalidRate: ratio('invalid-rate', v['invalid-rate'], 0.01),
    seed: int('seed', v.seed, 42),
    rateLimit: int('rate-limit', v['rate-limit'], 50, 1),
    ...(v['hcm-max-rps'] === undefined ? {} : { hcmMaxRps: int('hcm-max-rps', v['hcm-max-rps'], 0, 0) }),
    ...latencyOption(v.latency),
    tokenBufferSeconds:
      v['token-buffer'] === undefined ? undefined : int('token-buffer', v['token-buffer'], 0, 0),
    verbose: v.verbose ?? false,
    progress: progressMode(progressFlag(v.progress), {
      noProgress: v['no-progress'] ?? false,
      json: v.json ?? false,
    }),
    progressEverySeconds: int('progress-every', v['progress-every'], 10, 1),
    grant: grantOf(v.grant),
    ...(v['max-invalid'] === undefined ? {} : { maxInvalid: maxInvalidFlag(v['max-invalid']) }),
    ...(v.encoding === undefined ? {} : { encoding: sourceFlag(() => encodingName(v.encoding!)) }),
    ...(v.delimiter === undefined ? {} : { delimiter: sourceFlag(() => parseDelimiter(v.delimiter!)) }),
    ...(v['map-threshold'] === undefined
      ? {}
      : {
          mapThreshold: intInRange('map-threshold', v['map-threshold'], 0, 0, PLAN_DEFAULTS.maxInlineChunks),
        }),
    verify: v.verify ?? false,
    mapping: usage(() => mappingFromFlags(v)),
    ...(v['index-page-size'] === undefined
      ? {}
      : { indexPageSize: intInRange('index-page-size', v['index-page-size'], 0, 1, 500) }),
    ...(v['index-min-records'] === undefined
      ? {}
      : { indexMinRecords: int('index-min-records', v['index-min-records'], 0, 0) }),
    ...(v['visibility-ms'] === undefined
      ? {}
      : { visibilityMs: int('visibility-ms', v['visibility-ms'], 0, 1) }),
    ...(v['settle-horizon-ms'] === undefined
      ? {}
      : { settleHorizonMs: int('settle-horizon-ms', v['settle-horizon-ms'], 0, 1) }),
    ...(v['execution-timeout-s'] === undefined
      ? {}
      : { executionTimeoutS: int('execution-timeout-s', v['execution-timeout-s'], 0, 2) }),
    ...(v['write-mode'] === undefined ? {} : { writeMode: writeModeOf(v['write-mode']) }),
    ...(v['hdl-threshold'] === undefined
      ? {}
      : { hdlThreshold: int('hdl-threshold', v['hdl-threshold'], DEFAULT_HDL_THRESHOLD, 0) }),
    ...(v['hdl-source-owner'] === undefined ? {} : { hdlSourceOwner: hdlOwnerOf(v['hdl-source-owner']) }),
  };
}

/** Local mode never talks to AWS: the DynamoDB endpoint must be a loopback http URL. */
function localEndpoint(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(
      `--dynamo-url must be a URL such as http://127.0.0.1:8000, got '${escapeControl(raw)}'`,
    );
  }
  if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new UsageError(
      '--dynamo-url must be a local http endpoint (127.0.0.1 or localhost): local mode never talks to AWS',
    );
  }
  return url.origin;
}

function progressFlag(raw: string | undefined): ProgressMode | undefined {
  if (raw === undefined) return undefined;
  const mode = enumValue(raw, PROGRESS_MODES);
  if (!mode)
    throw new UsageError(`--progress must be bar, plain or none, got '${escapeControl(raw.slice(0, 20))}'`);
  return mode;
}

function writeModeOf(raw: string): WriteMode {
  const mode = enumValue(raw, WRITE_MODES);
  if (!mode)
    throw new UsageError(`--write-mode must be rest, hdl or auto, got '${escapeControl(raw.slice(0, 20))}'`);
  return mode;
}

function hdlOwnerOf(raw: string): string {
  if (!/^[A-Z0-9_]{1,30}$/.test(raw))
    throw new UsageError(
      `--hdl-source-owner must be a lookup code of HRC_SOURCE_SYSTEM_OWNER (A-Z 0-9 _), got '${escapeControl(raw.slice(0, 40))}'`,
    );
  return raw;
}

const GRANTS: readonly LocalGrant[] = ['refresh_token', 'client_credentials', 'jwt_bearer'];

function grantOf(raw: string | undefined): LocalGrant {
  if (raw === undefined) return 'refresh_token';
  const grant = enumValue(raw, GRANTS);
  if (!grant)
    throw new UsageError(
      `--grant must be refresh-token, client-credentials or jwt-bearer (- or _), got '${escapeControl(raw.slice(0, 40))}'`,
    );
  return grant;
}

function parse(argv: string[]) {
  return parseCli(argv, LOCAL_OPTIONS);
}

const LOCAL_OPTIONS = {
  goals: { type: 'string' },
  'chunk-size': { type: 'string' },
  concurrency: { type: 'string' },
  'token-ttl': { type: 'string' },
  'token-buffer': { type: 'string' },
  'run-id': { type: 'string' },
  resume: { type: 'string' },
  'crash-after': { type: 'string' },
  faults: { type: 'string' },
  report: { type: 'string' },
  'report-html': { type: 'string' },
  json: { type: 'boolean' },
  naive: { type: 'boolean' },
  'state-dir': { type: 'string' },
  'idp-url': { type: 'string' },
  'hcm-url': { type: 'string' },
  'dynamo-url': { type: 'string' },
  source: { type: 'string' },
  'invalid-rate': { type: 'string' },
  seed: { type: 'string' },
  'rate-limit': { type: 'string' },
  'hcm-max-rps': { type: 'string' },
  latency: { type: 'string' },
  verbose: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  progress: { type: 'string' },
  'progress-every': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  'max-invalid': { type: 'string' },
  encoding: { type: 'string' },
  delimiter: { type: 'string' },
  'map-threshold': { type: 'string' },
  'write-mode': { type: 'string' },
  'hdl-threshold': { type: 'string' },
  'hdl-source-owner': { type: 'string' },
  verify: { type: 'boolean' },
  'index-page-size': { type: 'string' },
  'index-min-records': { type: 'string' },
  'visibility-ms': { type: 'string' },
  'settle-horizon-ms': { type: 'string' },
  'execution-timeout-s': { type: 'string' },
  grant: { type: 'string' },
  ...MAPPING_OPTIONS,
} as const;
