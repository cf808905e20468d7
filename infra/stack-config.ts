import { z } from 'zod';
import { SETTLE_HORIZON_DEFAULT_MS } from '#core/checkpoint/index.ts';
import { type GoalMapping, parseGoalMapping } from '#core/hcm/index.ts';
import { didYouMean } from '#core/source/index.ts';
import { DEFAULT_HDL_THRESHOLD } from '#core/sync/index.ts';
import { ConfigError } from '../lambdas/core/errors.ts';

/**
 * Deployment configuration, read from CDK context (`cdk.json` or `-c key=value`) and validated up front:
 * a typo should fail `cdk synth`, not surface at 2 a.m. as a Lambda ConfigError.
 * CLI context values arrive as strings, cdk.json values as JSON types: every field accepts both.
 */

/** Placeholders that keep `npm run synth` working on a fresh clone; app.ts warns when they are deployed. */
export const PLACEHOLDER_HCM_BASE_URL = 'https://hcm.example.invalid';
export const PLACEHOLDER_IDP_TOKEN_URL = 'https://idcs.example.invalid/oauth2/v1/token';

/** Inline Map runs at most 40 iterations in parallel; the Distributed Map goes far higher. */
const INLINE_MAP_MAX_CONCURRENCY = 40;
const DISTRIBUTED_MAP_MAX_CONCURRENCY = 1000;

/** CloudWatch Logs accepts only these retention values. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653,
] as const;

/**
 * One year: the Control Tower proactive control CT.CLOUDWATCH.PR.2 minimum. A shorter value is allowed
 * (context logRetentionDays) and is then acknowledged in the template with the operator's choice as reason.
 */
export const DEFAULT_LOG_RETENTION_DAYS = 365;

/** Lambda keeps this much of the account's concurrency unreserved; a reservation may only use the rest. */
export const LAMBDA_UNRESERVED_MINIMUM = 100;

/** A new account's Lambda concurrency quota (AWS may start it this low): what the defaults must fit. */
export const NEW_ACCOUNT_CONCURRENCY = 10;

/** The chunk concurrency an account with a stated, ample quota gets by default. */
export const MAX_DEFAULT_CHUNK_CONCURRENCY = 5;

/**
 * Oracle publishes no HCM REST rate limit: a pod's capacity is unknown, and the pacer finds it only by
 * slowing down when it is reached. 10 requests per second for the whole stack is modest for a shared
 * pod; the customer raises it (context hcmMaxRequestsPerSecond) once their pod has shown it takes more.
 */
export const DEFAULT_HCM_MAX_REQUESTS_PER_SECOND = 10;

/**
 * The most Lambda executions one run may have at once: each chunk worker, the broker call each may be
 * waiting on (workers ask the broker synchronously, all at the run's start), plus the sweeper, one
 * proactive refresh and the outbox relay of the connection table's stream.
 */
export const peakConcurrency = (chunkConcurrency: number): number => 2 * chunkConcurrency + 3;

/**
 * The default chunk concurrency: the largest that fits the account's quota (lambdaConcurrencyQuota, or
 * a new account's 10 when it is not stated), at most MAX_DEFAULT_CHUNK_CONCURRENCY. A new account gets 3
 * (peak 9 of 10): a first run neither throttles nor pages a *Throttles alarm.
 */
export function defaultChunkConcurrency(quota: number | undefined): number {
  const fit = Math.floor(((quota ?? NEW_ACCOUNT_CONCURRENCY) - 3) / 2);
  return Math.max(1, Math.min(MAX_DEFAULT_CHUNK_CONCURRENCY, fit));
}

export const CONTEXT_KEYS = [
  'env',
  'hcmBaseUrl',
  'idpTokenUrl',
  'connectionIds',
  'syncSchedule',
  'syncTimezone',
  'syncConnectionId',
  'syncSourceKey',
  'verifySchedule',
  'chunkConcurrency',
  'distributedMap',
  'brokerReservedConcurrency',
  'lambdaConcurrencyQuota',
  'tokenBufferSeconds',
  'hcmMaxRequestsPerSecond',
  'alarmEmail',
  'logRetentionDays',
  'goalStatusMap',
  'goalCategoryMap',
  'goalPercentCodes',
  'hdlSourceSystemOwner',
  'hdlThreshold',
  'settleHorizonHours',
] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];

/** Context keys that are not ours but plain names: the CDK CLI's own settings in cdk.json. */
const CDK_OWN_KEYS = ['cli-telemetry'];

/**
 * Refuses a context key the stack does not know (`-c alarmEmial=...` would otherwise be ignored and the
 * stack deployed without alarm mail), naming the nearest known key. Namespaced keys (`@aws-cdk/...`
 * feature flags, `aws:cdk:...`, lookups such as `availability-zones:account=...`) are CDK's.
 */
export function checkContextKeys(keys: readonly string[]): void {
  const unknown = keys.filter(
    (k) =>
      !k.startsWith('@') &&
      !k.includes(':') &&
      !CDK_OWN_KEYS.includes(k) &&
      !(CONTEXT_KEYS as readonly string[]).includes(k),
  );
  if (unknown.length === 0) return;
  const named = unknown.map((k) => `'${k}'${didYouMean(k, CONTEXT_KEYS)}`);
  throw new ConfigError(
    `invalid CDK context: unknown key${unknown.length > 1 ? 's' : ''} ${named.join(', ')}; the keys are ${CONTEXT_KEYS.join(', ')} (docs/operations.md)`,
  );
}

const httpsUrl = z
  .string()
  .trim()
  .refine((v) => {
    try {
      return new URL(v).protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an https:// URL')
  .transform((v) => v.replace(/\/+$/, ''));

const integer = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v),
    z.number({ error: 'must be an integer' }).int('must be an integer').min(min).max(max),
  );

const flag = z.union([z.boolean(), z.stringbool()]);

const connectionId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'connection ids are 1-64 characters of A-Z a-z 0-9 _ -');

const connectionIdList = z
  .union([z.array(z.string()), z.string().transform((v) => v.split(','))])
  .transform((ids) => ids.map((id) => id.trim()).filter((id) => id.length > 0))
  .pipe(z.array(connectionId).min(1, 'at least one connection id'))
  .refine((ids) => new Set(ids).size === ids.length, 'connection ids must be unique');

// EventBridge Scheduler cron: six fields (minutes hours day-of-month month day-of-week year).
const schedulerCron = z
  .string()
  .trim()
  .regex(/^cron\(\S+( \S+){5}\)$/, 'must be a six-field EventBridge Scheduler cron(...) expression');

const rawSchema = z.object({
  env: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,15}$/, 'env is 1-16 characters of a-z 0-9 - starting with a letter')
    .default('dev'),
  hcmBaseUrl: httpsUrl.default(PLACEHOLDER_HCM_BASE_URL),
  idpTokenUrl: httpsUrl.default(PLACEHOLDER_IDP_TOKEN_URL),
  // Same default id as the CLI (cli/aws/stack-outputs.ts FALLBACK_CONNECTION_ID).
  connectionIds: connectionIdList.default(['oracle-hcm']),
  syncSchedule: schedulerCron.optional(),
  // A verify run of the nightly export (same key, connection and time zone), e.g. weekly.
  verifySchedule: schedulerCron.optional(),
  syncTimezone: z
    .string()
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'must be an IANA time zone such as UTC or Europe/Berlin')
    .default('UTC'),
  syncConnectionId: connectionId.optional(),
  syncSourceKey: z
    .string()
    .regex(/^[A-Za-z0-9!_.*'()/-]{1,512}$/, 'must be an S3 object key without spaces')
    .refine((k) => !k.startsWith('/'), 'must not start with /')
    .default('nightly/goals.jsonl'),
  // Default: defaultChunkConcurrency(lambdaConcurrencyQuota), applied below.
  chunkConcurrency: integer(1, DISTRIBUTED_MAP_MAX_CONCURRENCY).optional(),
  distributedMap: flag.default(false),
  brokerReservedConcurrency: integer(1, 1000).optional(),
  lambdaConcurrencyQuota: integer(10, 1_000_000).optional(),
  tokenBufferSeconds: integer(30, 900).default(120),
  hcmMaxRequestsPerSecond: integer(1, 10_000).default(DEFAULT_HCM_MAX_REQUESTS_PER_SECOND),
  alarmEmail: z.email().optional(),
  // The tenant's codes (hcm/mapping-config.ts): SOURCE=CODE,... strings or cdk.json objects.
  goalStatusMap: z.union([z.string(), z.record(z.string(), z.string())]).optional(),
  goalCategoryMap: z.union([z.string(), z.record(z.string(), z.string())]).optional(),
  goalPercentCodes: z.union([z.string(), z.record(z.string(), z.string())]).optional(),
  // HCM Data Loader (issue 24): a value of lookup HRC_SOURCE_SYSTEM_OWNER; unset, every run writes through REST.
  hdlSourceSystemOwner: z
    .string()
    .regex(/^[A-Z0-9_]{1,30}$/, 'must be a lookup code of HRC_SOURCE_SYSTEM_OWNER (A-Z 0-9 _)')
    .optional(),
  hdlThreshold: integer(0, 100_000_000).default(DEFAULT_HDL_THRESHOLD),
  // How long an unclear write stays unsettled before a run writes it again (issue 25): far beyond any
  // gateway or commit delay; an hour is the floor, so no setting brings back the 60 s assumption.
  settleHorizonHours: integer(1, 720).default(SETTLE_HORIZON_DEFAULT_MS / 3_600_000),
  logRetentionDays: integer(1, 3653)
    .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
      message: `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
    })
    .default(DEFAULT_LOG_RETENTION_DAYS),
});

export interface StackConfig {
  env: string;
  /** Prefix of every physical name this stack sets: several environments can share an account. */
  namePrefix: string;
  hcmBaseUrl: string;
  idpTokenUrl: string;
  connectionIds: string[];
  /** The nightly sync's connection (or the first one): handlers' CONNECTION_ID and the CLI's default. */
  defaultConnectionId: string;
  /** Off (undefined) unless a cron is given. */
  sync?: {
    schedule: string;
    timezone: string;
    connectionId: string;
    sourceKey: string;
    /** Cron of the verify runs over the same export (execution input `verify: true`). */
    verifySchedule?: string;
  };
  chunkConcurrency: number;
  distributedMap: boolean;
  /**
   * Off (undefined) by default: a new account's concurrency quota may be too small to reserve anything,
   * and `cdk deploy` would fail. When set, it must cover every Map iteration plus the sweeper and one
   * proactive schedule (workers call the broker synchronously), and fit the account's quota.
   */
  brokerReservedConcurrency?: number;
  /** The account's Lambda concurrency quota, when the operator states it: checked at synth time. */
  lambdaConcurrencyQuota?: number;
  tokenBufferSeconds: number;
  /**
   * The customer's ceiling on HCM requests per second for the whole stack, shared by plan-sync and
   * every sync-chunk container (a fleet-wide limiter over the checkpoint table, hcm-client.md).
   */
  hcmMaxRequestsPerSecond: number;
  alarmEmail?: string;
  logRetentionDays: number;
  /** The tenant's status, category and percent codes (defaults: DEFAULT_GOAL_MAPPING). */
  goalMapping: GoalMapping;
  /** HDL's SourceSystemOwner; undefined: no HDL (writeMode hdl refused, auto means REST). */
  hdlSourceSystemOwner?: string;
  /** writeMode auto takes HDL above this many records to write (default 2,000). */
  hdlThreshold: number;
  /** sync-chunk's SETTLE_HORIZON_MS: how long an unclear write waits for a read to show it (default 24 h). */
  settleHorizonMs: number;
  /** Which values are still the shipped placeholders (deploying them gives a stack that cannot reach HCM). */
  placeholders: string[];
}

/** Head-room the broker keeps above the chunk workers: the sweeper plus one proactive refresh in flight. */
export const BROKER_HEADROOM = 2;

/** AWS's default Lambda concurrency quota of a region (an established account's; new ones may get 10). */
export const DEFAULT_ACCOUNT_CONCURRENCY = 1000;

/** The connection-admin function runs the broker's connect in process: one more sender of token requests. */
export const CONNECTION_ADMIN_SENDERS = 1;

/**
 * The most instances that can send token requests at once, which the stack passes to the broker and the
 * connection-admin function as TOKEN_ENDPOINT_INSTANCES: while the token-endpoint limiter's items are
 * throttled, each keeps to its share of the fail-soft pace, so the fleet stays within it only if this
 * really bounds them. The broker's reserved concurrency caps it (plus the admin's connect); without a
 * reservation only the account's quota bounds the broker (AWS's default when not stated), so the share
 * is that much smaller: a throttled limiter then nearly stops refreshes instead of risking the IdP's limits.
 */
export function tokenEndpointInstances(
  c: Pick<StackConfig, 'brokerReservedConcurrency' | 'lambdaConcurrencyQuota'>,
): number {
  if (c.brokerReservedConcurrency !== undefined)
    return c.brokerReservedConcurrency + CONNECTION_ADMIN_SENDERS;
  return c.lambdaConcurrencyQuota ?? DEFAULT_ACCOUNT_CONCURRENCY;
}

/** Reads and validates the configuration; `lookup` is usually `(key) => app.node.tryGetContext(key)`. */
export function parseStackConfig(lookup: (key: ContextKey) => unknown): StackConfig {
  const raw: Record<string, unknown> = {};
  for (const key of CONTEXT_KEYS) {
    const value = lookup(key);
    // `-c key=` on the CLI gives '': treat it like an absent key so defaults apply.
    if (value !== undefined && value !== null && value !== '') raw[key] = value;
  }
  const parsed = rawSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'context'}: ${i.message}`);
    throw new ConfigError(`invalid CDK context: ${problems.join('; ')}`);
  }
  const c = {
    ...parsed.data,
    chunkConcurrency:
      parsed.data.chunkConcurrency ?? defaultChunkConcurrency(parsed.data.lambdaConcurrencyQuota),
  };
  const problems: string[] = [];

  const mapLimit = c.distributedMap ? DISTRIBUTED_MAP_MAX_CONCURRENCY : INLINE_MAP_MAX_CONCURRENCY;
  if (c.chunkConcurrency > mapLimit) {
    problems.push(
      `chunkConcurrency: ${c.chunkConcurrency} exceeds the ${c.distributedMap ? 'distributed' : 'inline'} Map limit of ${mapLimit}`,
    );
  }
  const minBroker = c.chunkConcurrency + BROKER_HEADROOM;
  const brokerReservedConcurrency = c.brokerReservedConcurrency;
  if (brokerReservedConcurrency !== undefined && brokerReservedConcurrency < minBroker) {
    problems.push(
      `brokerReservedConcurrency: ${brokerReservedConcurrency} is below chunkConcurrency + ${BROKER_HEADROOM} = ${minBroker}`,
    );
  }
  if (
    brokerReservedConcurrency !== undefined &&
    c.lambdaConcurrencyQuota !== undefined &&
    brokerReservedConcurrency > c.lambdaConcurrencyQuota - LAMBDA_UNRESERVED_MINIMUM
  ) {
    problems.push(
      `brokerReservedConcurrency: ${brokerReservedConcurrency} cannot be reserved: the account quota ` +
        `(lambdaConcurrencyQuota ${c.lambdaConcurrencyQuota}) minus the ${LAMBDA_UNRESERVED_MINIMUM} Lambda keeps ` +
        `unreserved leaves ${Math.max(0, c.lambdaConcurrencyQuota - LAMBDA_UNRESERVED_MINIMUM)}; request a quota ` +
        'increase (Service Quotas, "Concurrent executions") or leave brokerReservedConcurrency unset',
    );
  }
  const peak = peakConcurrency(c.chunkConcurrency);
  if (c.lambdaConcurrencyQuota !== undefined && peak > c.lambdaConcurrencyQuota) {
    problems.push(
      `chunkConcurrency: ${c.chunkConcurrency} needs up to ${peak} concurrent Lambda executions (2 x ${c.chunkConcurrency} + 3) ` +
        `but lambdaConcurrencyQuota is ${c.lambdaConcurrencyQuota}: lower chunkConcurrency to ` +
        `${defaultChunkConcurrency(c.lambdaConcurrencyQuota)} or raise the quota (Service Quotas, "Concurrent executions")`,
    );
  }
  const syncConnectionId = c.syncConnectionId ?? c.connectionIds[0]!;
  if (!c.connectionIds.includes(syncConnectionId)) {
    problems.push(`syncConnectionId: ${syncConnectionId} is not one of connectionIds`);
  }
  if (c.verifySchedule && !c.syncSchedule) {
    problems.push('verifySchedule: needs syncSchedule (a verify run reads the nightly export)');
  }
  let goalMapping: GoalMapping | undefined;
  try {
    goalMapping = parseGoalMapping({
      statusMap: c.goalStatusMap,
      categoryMap: c.goalCategoryMap,
      percentCodes: c.goalPercentCodes,
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(err.message);
  }
  if (problems.length > 0 || !goalMapping)
    throw new ConfigError(`invalid CDK context: ${problems.join('; ')}`);

  const placeholders: string[] = [];
  if (c.hcmBaseUrl === PLACEHOLDER_HCM_BASE_URL) placeholders.push('hcmBaseUrl');
  if (c.idpTokenUrl === PLACEHOLDER_IDP_TOKEN_URL) placeholders.push('idpTokenUrl');

  return {
    env: c.env,
    namePrefix: `hcm-goal-sync-${c.env}`,
    hcmBaseUrl: c.hcmBaseUrl,
    idpTokenUrl: c.idpTokenUrl,
    connectionIds: c.connectionIds,
    defaultConnectionId: syncConnectionId,
    sync: c.syncSchedule
      ? {
          schedule: c.syncSchedule,
          timezone: c.syncTimezone,
          connectionId: syncConnectionId,
          sourceKey: c.syncSourceKey,
          ...(c.verifySchedule ? { verifySchedule: c.verifySchedule } : {}),
        }
      : undefined,
    chunkConcurrency: c.chunkConcurrency,
    distributedMap: c.distributedMap,
    brokerReservedConcurrency,
    lambdaConcurrencyQuota: c.lambdaConcurrencyQuota,
    tokenBufferSeconds: c.tokenBufferSeconds,
    hcmMaxRequestsPerSecond: c.hcmMaxRequestsPerSecond,
    alarmEmail: c.alarmEmail,
    logRetentionDays: c.logRetentionDays,
    goalMapping,
    ...(c.hdlSourceSystemOwner ? { hdlSourceSystemOwner: c.hdlSourceSystemOwner } : {}),
    hdlThreshold: c.hdlThreshold,
    settleHorizonMs: c.settleHorizonHours * 3_600_000,
    placeholders,
  };
}
