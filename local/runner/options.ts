import { parseArgs } from 'node:util';
import { AWS_FAULT_USAGE, type AwsFaults, applyAwsFault, noAwsFaults } from './aws-faults.ts';

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
  json: boolean;
  naive: boolean;
  stateDir?: string;
  idpUrl?: string;
  hcmUrl?: string;
  source?: string;
  invalidRate: number;
  seed: number;
  rateLimit: number;
  latencyMs: [number, number];
  tokenBufferSeconds?: number;
  verbose: boolean;
  progress: boolean;
  /** `--grant`: how the local connection gets its tokens (issue 11). */
  grant: LocalGrant;
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
                            lateCommitDelayMs,tokenMaxAgeSeconds,rateLimitPerSecond}
                       idp.{latencyMs,jitterMs,errorRate,errorStatus,dropAfterIssueRate,forceInvalidGrant,rateLimitPerSecond}
                       sfn.duplicateInvocationRate, secondRunAfter=N, revokeAfter=N
                       ${AWS_FAULT_USAGE}
  --grant G            refresh_token (default), client_credentials or jwt-bearer
  --rate-limit R       HCM requests per second per client (default 50)
  --latency A-B        simulated HCM latency range in ms (default 20-50)
  --invalid-rate R     share of invalid generated records (default 0.01)
  --seed S             generator and fault seed (default 42)
  --source FILE        sync this JSONL/CSV file instead of generated goals
  --naive              run the same workload the way the original job did (no broker, no checkpoints)
  --idp-url URL --hcm-url URL   use simulators started with 'goal-sync sim'
  --report FILE        write the JSON run report to FILE
  --json               print the JSON report instead of the summary
  --verbose            print events and handler logs
  --no-progress        no progress bar`;

function int(name: string, raw: string | undefined, fallback: number, min = 0): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} must be an integer >= ${min}`);
  return value;
}

function ratio(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new UsageError(`--${name} must be in [0, 1]`);
  return value;
}

export function parseFaultSpec(spec: string | undefined): FaultSpec {
  const faults: FaultSpec = { hcm: {}, idp: {}, sfn: {}, aws: noAwsFaults() };
  if (!spec) return faults;
  for (const part of spec.split(',').filter(Boolean)) {
    const [key, raw] = part.split('=');
    if (!key || raw === undefined) throw new UsageError(`bad fault '${part}': expected key=value`);
    if (key === 'revokeAfter' || key === 'secondRunAfter') {
      faults[key] = int(`faults ${key}`, raw, 0, 1);
      continue;
    }
    if (key === 'sfn.duplicateInvocationRate') {
      faults.sfn.duplicateInvocationRate = ratio(`faults ${key}`, raw, 0);
      continue;
    }
    try {
      if (applyAwsFault(faults.aws, key, raw)) continue;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const [target, field] = key.split('.');
    if ((target !== 'hcm' && target !== 'idp') || !field) {
      throw new UsageError(
        `bad fault '${key}': expected hcm.FIELD, idp.FIELD, sfn.duplicateInvocationRate, secondRunAfter or revokeAfter`,
      );
    }
    if (raw === 'true' || raw === 'false') {
      if (target === 'hcm') throw new UsageError(`hcm.${field} takes a number`);
      faults.idp[field] = raw === 'true';
      continue;
    }
    if (raw === 'null' && target === 'hcm') {
      faults.hcm[field] = null;
      continue;
    }
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new UsageError(`fault ${key} must be a number`);
    faults[target][field] = value;
  }
  return faults;
}

function latencyRange(raw: string | undefined): [number, number] {
  if (raw === undefined) return [20, 50];
  const match = /^(\d+)(?:-(\d+))?$/.exec(raw);
  if (!match) throw new UsageError('--latency must look like 20-50 or 30');
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
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
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
    concurrency: int('concurrency', v.concurrency, 10, 1),
    tokenTtlSeconds: int('token-ttl', v['token-ttl'], 30, 2),
    runId: v.resume ?? v['run-id'],
    resume: v.resume,
    crashAfter: v['crash-after'] === undefined ? undefined : int('crash-after', v['crash-after'], 0, 1),
    faults: parseFaultSpec(v.faults),
    reportFile: v.report,
    json: v.json ?? false,
    naive: v.naive ?? false,
    stateDir: v['state-dir'],
    idpUrl: v['idp-url'],
    hcmUrl: v['hcm-url'],
    source: v.source,
    invalidRate: ratio('invalid-rate', v['invalid-rate'], 0.01),
    seed: int('seed', v.seed, 42),
    rateLimit: int('rate-limit', v['rate-limit'], 50, 1),
    latencyMs: latencyRange(v.latency),
    tokenBufferSeconds:
      v['token-buffer'] === undefined ? undefined : int('token-buffer', v['token-buffer'], 0, 0),
    verbose: v.verbose ?? false,
    progress: !(v['no-progress'] ?? false) && !(v.json ?? false),
    grant: grantOf(v.grant),
  };
}

function grantOf(raw: string | undefined): LocalGrant {
  if (raw === undefined || raw === 'refresh_token') return 'refresh_token';
  if (raw === 'client_credentials') return 'client_credentials';
  if (raw === 'jwt-bearer' || raw === 'jwt_bearer') return 'jwt_bearer';
  throw new UsageError('--grant must be refresh_token, client_credentials or jwt-bearer');
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
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
      json: { type: 'boolean' },
      naive: { type: 'boolean' },
      'state-dir': { type: 'string' },
      'idp-url': { type: 'string' },
      'hcm-url': { type: 'string' },
      source: { type: 'string' },
      'invalid-rate': { type: 'string' },
      seed: { type: 'string' },
      'rate-limit': { type: 'string' },
      latency: { type: 'string' },
      verbose: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      grant: { type: 'string' },
    },
  });
}
