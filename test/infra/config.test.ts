import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build.ts';
import { PROJECT_ROOT } from '../../infra/functions.ts';
import {
  BROKER_HEADROOM,
  CONNECTION_ADMIN_SENDERS,
  CONTEXT_KEYS,
  type ContextKey,
  checkContextKeys,
  DEFAULT_ACCOUNT_CONCURRENCY,
  defaultChunkConcurrency,
  MAX_DEFAULT_CHUNK_CONCURRENCY,
  NEW_ACCOUNT_CONCURRENCY,
  PLACEHOLDER_HCM_BASE_URL,
  parseStackConfig,
  peakConcurrency,
  tokenEndpointInstances,
} from '../../infra/stack-config.ts';
import { ConfigError } from '../../lambdas/core/errors.ts';

const parse = (context: Partial<Record<ContextKey, unknown>>) => parseStackConfig((key) => context[key]);

describe('CDK context parsing', () => {
  it('works with no context at all (fresh clone) and marks the placeholders', () => {
    const config = parse({});
    expect(config.env).toBe('dev');
    expect(config.namePrefix).toBe('hcm-goal-sync-dev');
    expect(config.connectionIds).toEqual(['oracle-hcm']);
    expect(config.defaultConnectionId).toBe('oracle-hcm');
    expect(config.hcmBaseUrl).toBe(PLACEHOLDER_HCM_BASE_URL);
    expect(config.placeholders).toEqual(['hcmBaseUrl', 'idpTokenUrl']);
    expect(config.sync).toBeUndefined();
    expect(config.distributedMap).toBe(false);
    // Off unless asked for: a new account's concurrency quota may not allow any reservation.
    expect(config.brokerReservedConcurrency).toBeUndefined();
    expect(config.logRetentionDays).toBe(365);
  });

  it('accepts CLI strings and cdk.json JSON types alike', () => {
    const fromCli = parse({
      env: 'prod',
      hcmBaseUrl: 'https://acme.fa.us2.oraclecloud.com/',
      idpTokenUrl: 'https://idcs-1.identity.oraclecloud.com/oauth2/v1/token',
      connectionIds: ' acme , globex ',
      chunkConcurrency: '12',
      distributedMap: 'true',
      tokenBufferSeconds: '300',
      syncSchedule: 'cron(0 3 * * ? *)',
      syncTimezone: 'America/New_York',
      logRetentionDays: '90',
    });
    const fromJson = parse({
      env: 'prod',
      hcmBaseUrl: 'https://acme.fa.us2.oraclecloud.com',
      idpTokenUrl: 'https://idcs-1.identity.oraclecloud.com/oauth2/v1/token',
      connectionIds: ['acme', 'globex'],
      chunkConcurrency: 12,
      distributedMap: true,
      tokenBufferSeconds: 300,
      syncSchedule: 'cron(0 3 * * ? *)',
      syncTimezone: 'America/New_York',
      logRetentionDays: 90,
    });
    expect(fromCli).toEqual(fromJson);
    expect(fromCli.hcmBaseUrl).toBe('https://acme.fa.us2.oraclecloud.com');
    expect(fromCli.connectionIds).toEqual(['acme', 'globex']);
    expect(fromCli.placeholders).toEqual([]);
    expect(fromCli.sync).toEqual({
      schedule: 'cron(0 3 * * ? *)',
      timezone: 'America/New_York',
      connectionId: 'acme',
      sourceKey: 'nightly/goals.jsonl',
    });
    expect(fromCli.brokerReservedConcurrency).toBeUndefined();
  });

  it.each([
    [{ env: 'Prod!' }, 'env'],
    [{ hcmBaseUrl: 'http://acme.example.com' }, 'https'],
    [{ idpTokenUrl: 'not a url' }, 'https'],
    [{ connectionIds: 'a,a' }, 'unique'],
    [{ connectionIds: 'bad id' }, 'connection ids'],
    [{ chunkConcurrency: '0' }, 'chunkConcurrency'],
    [{ chunkConcurrency: '41' }, 'inline Map limit of 40'],
    [{ chunkConcurrency: '2.5' }, 'integer'],
    [{ brokerReservedConcurrency: '5', chunkConcurrency: '10' }, 'below chunkConcurrency'],
    [{ syncSchedule: 'rate(1 day)' }, 'cron'],
    [{ syncSchedule: 'cron(0 3 * * ?)' }, 'six-field'],
    [{ syncSchedule: 'cron(0 3 * * ? *)', syncTimezone: 'Mars/Olympus' }, 'time zone'],
    [{ syncConnectionId: 'other' }, 'not one of connectionIds'],
    [{ verifySchedule: 'cron(0 4 ? * SUN *)' }, 'needs syncSchedule'],
    [{ syncSchedule: 'cron(0 3 * * ? *)', verifySchedule: 'rate(7 days)' }, 'cron'],
    [{ alarmEmail: 'nobody' }, 'alarmEmail'],
    [{ logRetentionDays: '31' }, 'must be one of'],
    [{ distributedMap: 'maybe' }, 'distributedMap'],
    [{ tokenBufferSeconds: '5' }, 'tokenBufferSeconds'],
  ])('rejects %j', (context, message) => {
    expect(() => parse(context)).toThrow(ConfigError);
    expect(() => parse(context)).toThrow(message);
  });

  it('allows the distributed Map to go past the inline limit', () => {
    const config = parse({ distributedMap: 'true', chunkConcurrency: '100' });
    expect(config.chunkConcurrency).toBe(100);
    expect(config.brokerReservedConcurrency).toBeUndefined();
  });

  it('checks a reservation against the Map concurrency and, when given, the account quota', () => {
    expect(parse({ brokerReservedConcurrency: '12', chunkConcurrency: '10' }).brokerReservedConcurrency).toBe(
      12,
    );
    expect(() => parse({ brokerReservedConcurrency: '11', chunkConcurrency: '10' })).toThrow(
      `below chunkConcurrency + ${BROKER_HEADROOM}`,
    );
    // New accounts: quota 10 leaves nothing to reserve (Lambda keeps 100 unreserved).
    expect(() => parse({ brokerReservedConcurrency: '12', lambdaConcurrencyQuota: '10' })).toThrow(
      /cannot be reserved: .*quota \(lambdaConcurrencyQuota 10\).* leaves 0/,
    );
    expect(
      parse({ brokerReservedConcurrency: '12', lambdaConcurrencyQuota: '1000' }).lambdaConcurrencyQuota,
    ).toBe(1000);
  });

  it('bounds the senders of token requests by the reservation, else by the account quota', () => {
    // TOKEN_ENDPOINT_INSTANCES: each instance's share of the fail-soft pace of a throttled limiter.
    expect(tokenEndpointInstances(parse({ brokerReservedConcurrency: '12', chunkConcurrency: '10' }))).toBe(
      12 + CONNECTION_ADMIN_SENDERS,
    );
    expect(tokenEndpointInstances(parse({ lambdaConcurrencyQuota: '3000' }))).toBe(3000);
    expect(tokenEndpointInstances(parse({}))).toBe(DEFAULT_ACCOUNT_CONCURRENCY);
  });

  it('treats an empty -c value as absent', () => {
    expect(parse({ alarmEmail: '', syncSchedule: '' }).sync).toBeUndefined();
  });
});

describe('context keys are checked', () => {
  it('an unknown key fails synth, naming the nearest known key', () => {
    expect(() => checkContextKeys(['env', 'alarmEmial'])).toThrow(ConfigError);
    expect(() => checkContextKeys(['alarmEmial'])).toThrow(
      /unknown key 'alarmEmial' \(did you mean alarmEmail\?\)/,
    );
    expect(() => checkContextKeys(['chunkconcurency', 'nonsense'])).toThrow(
      /unknown keys 'chunkconcurency' \(did you mean chunkConcurrency\?\), 'nonsense'; the keys are env, /,
    );
  });

  it("CDK's own keys pass: feature flags, aws:cdk:*, lookups, cdk.json's cli-telemetry", () => {
    expect(() =>
      checkContextKeys([
        ...CONTEXT_KEYS,
        '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy',
        'aws:cdk:bundling-stacks',
        'availability-zones:account=111122223333:region=eu-central-1',
        'cli-telemetry',
      ]),
    ).not.toThrow();
  });

  it('the app refuses a misspelled -c key at synth', () => {
    expect(() =>
      buildApp({ skipBundling: true, nag: false, env: {}, context: { alarmEmial: 'oncall@example.com' } }),
    ).toThrow(/unknown key 'alarmEmial' \(did you mean alarmEmail\?\)/);
  });
});

describe('goal mapping context keys', () => {
  it('goalStatusMap / goalCategoryMap / goalPercentCodes reach the config; a bad one fails synth naming it', () => {
    const c = parse({
      goalStatusMap: 'ON_HOLD=ORA_HOLD',
      goalCategoryMap: 'SALES=SLS',
      goalPercentCodes: '0-49=0,50-100=50',
    });
    expect(c.goalMapping.status).toMatchObject({ ON_HOLD: 'ORA_HOLD', NOT_STARTED: 'NOT_STARTED' });
    expect(c.goalMapping.category).toEqual({ SALES: 'SLS' });
    expect(c.goalMapping.percent).toHaveLength(2);
    expect(() => parse({ goalPercentCodes: '0-49=0' })).toThrow(
      /invalid CDK context: goalPercentCodes .*50-100 has no code/,
    );
    expect(() => parse({ goalStatusMap: 'ON_HOLD' })).toThrow(/goalStatusMap .*not SOURCE=CODE/);
  });
});

describe('settleHorizonHours', () => {
  it('defaults to 24 h and reaches the config in ms', () => {
    expect(parse({}).settleHorizonMs).toBe(24 * 3_600_000);
    expect(parse({ settleHorizonHours: '72' }).settleHorizonMs).toBe(72 * 3_600_000);
    expect(parse({ settleHorizonHours: 6 }).settleHorizonMs).toBe(6 * 3_600_000);
  });

  it('refuses less than an hour (the 60 s assumption back) and more than 30 days', () => {
    expect(() => parse({ settleHorizonHours: '0' })).toThrow(/invalid CDK context: settleHorizonHours/);
    expect(() => parse({ settleHorizonHours: '721' })).toThrow(/settleHorizonHours/);
    expect(() => parse({ settleHorizonHours: '1.5' })).toThrow(/settleHorizonHours/);
  });
});

describe("docs/operations.md's context-key table is the code's", () => {
  const doc = readFileSync(join(PROJECT_ROOT, 'docs', 'operations.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### Context keys'), doc.indexOf('### Resources'));
  const rows = new Map(
    [...section.matchAll(/^\| `(\w+)` \| ([^|]+) \|/gm)].map((m) => [
      m[1]!,
      m[2]!.trim().replaceAll('`', ''),
    ]),
  );

  it('lists exactly the keys the stack reads', () => {
    expect([...rows.keys()].sort()).toEqual([...CONTEXT_KEYS].sort());
  });

  it("states each key's default as the code applies it", () => {
    const base = parse({});
    const nightly = parse({ syncSchedule: 'cron(0 3 * * ? *)' }).sync!;
    const off = (v: unknown, word: 'off' | 'none') => (v === undefined ? word : String(v));
    const expected: Record<ContextKey, string> = {
      env: base.env,
      hcmBaseUrl: base.placeholders.includes('hcmBaseUrl') ? 'placeholder (synth warns)' : base.hcmBaseUrl,
      idpTokenUrl: base.placeholders.includes('idpTokenUrl') ? 'placeholder (synth warns)' : base.idpTokenUrl,
      connectionIds: base.connectionIds.join(','),
      syncSchedule: off(base.sync?.schedule, 'off'),
      verifySchedule: off(base.sync?.verifySchedule, 'off'),
      syncTimezone: nightly.timezone,
      syncConnectionId: nightly.connectionId === base.connectionIds[0] ? 'first id' : nightly.connectionId,
      syncSourceKey: nightly.sourceKey,
      chunkConcurrency: String(base.chunkConcurrency),
      distributedMap: String(base.distributedMap),
      brokerReservedConcurrency: off(base.brokerReservedConcurrency, 'off'),
      lambdaConcurrencyQuota: off(base.lambdaConcurrencyQuota, 'none'),
      tokenBufferSeconds: String(base.tokenBufferSeconds),
      hcmMaxRequestsPerSecond: String(base.hcmMaxRequestsPerSecond),
      alarmEmail: off(base.alarmEmail, 'none'),
      logRetentionDays: String(base.logRetentionDays),
      goalStatusMap: Object.entries(base.goalMapping.status)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
      goalCategoryMap: base.goalMapping.category ? 'set' : 'as in the source',
      goalPercentCodes: base.goalMapping.percent
        .map((r) => `${r.from === r.to ? r.from : `${r.from}-${r.to}`}=${r.code}`)
        .join(','),
      hdlSourceSystemOwner: off(base.hdlSourceSystemOwner, 'none'),
      hdlThreshold: String(base.hdlThreshold),
      settleHorizonHours: String(base.settleHorizonMs / 3_600_000),
    };
    expect(Object.fromEntries(rows)).toEqual(expected);
  });
});

describe('concurrency for a new account (10 concurrent executions)', () => {
  it('the default fits a new account: peak 2 x chunkConcurrency + 3 <= 10', () => {
    const config = parse({});
    expect(config.chunkConcurrency).toBe(defaultChunkConcurrency(undefined));
    expect(peakConcurrency(config.chunkConcurrency)).toBeLessThanOrEqual(NEW_ACCOUNT_CONCURRENCY);
    // ... and is the largest that does: one more would not fit.
    expect(peakConcurrency(config.chunkConcurrency + 1)).toBeGreaterThan(NEW_ACCOUNT_CONCURRENCY);
  });

  it('a stated quota raises the default (up to 5) and checks an explicit value against it', () => {
    expect(parse({ lambdaConcurrencyQuota: '1000' }).chunkConcurrency).toBe(MAX_DEFAULT_CHUNK_CONCURRENCY);
    expect(parse({ lambdaConcurrencyQuota: '12' }).chunkConcurrency).toBe(4);
    expect(() => parse({ lambdaConcurrencyQuota: '10', chunkConcurrency: '4' })).toThrow(
      /chunkConcurrency: 4 needs up to 11 concurrent Lambda executions \(2 x 4 \+ 3\) but lambdaConcurrencyQuota is 10: lower chunkConcurrency to 3/,
    );
    expect(parse({ lambdaConcurrencyQuota: '10', chunkConcurrency: '3' }).chunkConcurrency).toBe(3);
  });

  it('synth warns when chunkConcurrency may outgrow a new account and no quota is stated', () => {
    const warnings = (context: Record<string, string>) =>
      Annotations.fromStack(buildApp({ skipBundling: true, nag: false, env: {}, context }).stack).findWarning(
        '*',
        Match.stringLikeRegexp('peak-concurrency|needs up to'),
      );
    expect(warnings({ chunkConcurrency: '8' })).toHaveLength(1);
    expect(warnings({})).toHaveLength(0);
    expect(warnings({ chunkConcurrency: '8', lambdaConcurrencyQuota: '1000' })).toHaveLength(0);
  });
});
