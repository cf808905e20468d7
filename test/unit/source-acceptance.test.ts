import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  acceptanceProblem,
  checkAcceptance,
  checkAwsSourceUri,
  checkCsvHeader,
  closest,
  escapeControl,
  jsonProblem,
  keyOf,
  openAwsGoalSource,
  openGoalSource,
  parseMaxInvalid,
} from '#core/source/index.ts';
import { ConfigError, InputRejectedError } from '../../lambdas/core/errors.ts';
import { normalizePlanEvent } from '../../lambdas/plan-sync/plan-event.ts';

const dir = mkdtempSync(join(tmpdir(), 'source-acceptance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Buffer): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
// biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

describe('bad input is named, never echoed', () => {
  it('escapes control characters', () => {
    expect(escapeControl('a\u001b[2Jb\u0007\n\t')).toBe('a\\x1b[2Jb\\x07\\n\\t');
  });

  it('a binary line is "invalid JSON" with a position, without its bytes', async () => {
    const garbage = Buffer.from([
      // Control bytes that are valid UTF-8 (a byte that is not is a rejected source: source-encoding).
      0x1b, 0x5b, 0x32, 0x4a, 0x07, 0x00, 0x7f, 0x41, 0x0a, 0x7b, 0x22, 0x61, 0x0a,
    ]);
    const plan = await openGoalSource({ uri: file('garbage.jsonl', garbage), format: 'jsonl' }).plan(10);
    expect(plan.invalid).toHaveLength(2);
    for (const bad of plan.invalid) {
      expect(bad.reason).toMatch(/^invalid JSON: /);
      expect(bad.reason).not.toMatch(CONTROL);
      expect(bad.reason).not.toContain('[2J');
      expect(bad.key).toBeUndefined();
    }
    expect(jsonProblem(new SyntaxError('Unexpected end of JSON input'))).toBe(
      'invalid JSON: the line ends inside a value',
    );
  });

  it('an invalid record with a control character in its key reports no key', () => {
    expect(keyOf({ externalKey: 'K-1\u001b[2J' })).toBeUndefined();
    expect(keyOf({ externalKey: 'K-1' })).toBe('K-1');
  });
});

describe('CSV header, checked once', () => {
  it('names missing and unknown columns (with the likely intent) and rejects the file', async () => {
    const header =
      'externalKey,person_number,goalName,startDate,targetCompletionDate,status,goalPlanID,notes';
    const rows = Array.from({ length: 10 }, (_, i) => `K-${i},E${i},G,2026-01-01,2026-12-31,NOT_STARTED,3,x`);
    const src = openGoalSource({
      uri: file('wrong-header.csv', `${header}\n${rows.join('\n')}\n`),
      format: 'csv',
    });
    const err = await src.plan(5).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputRejectedError);
    expect((err as Error).message).toMatch(
      /^input rejected: CSV header of .*wrong-header\.csv: missing required columns: personNumber, goalPlanId; unknown columns: person_number \(did you mean personNumber\?\), goalPlanID \(did you mean goalPlanId\?\), notes$/,
    );
  });

  it('rejects a repeated column; accepts extra columns when the required ones are there', () => {
    const ok = [
      'externalKey',
      'personNumber',
      'goalName',
      'startDate',
      'targetCompletionDate',
      'status',
      'goalPlanId',
    ];
    expect(() => checkCsvHeader([...ok, 'exportedAt'], 'f.csv')).not.toThrow();
    expect(() => checkCsvHeader([...ok, 'status'], 'f.csv')).toThrow(/column status appears twice/);
  });

  it('escapes a header of binary garbage', async () => {
    const src = openGoalSource({
      uri: file('binary.csv', Buffer.from([0x07, 0x1b, 0x2c, 0x41, 0x0a])),
      format: 'csv',
    });
    const err = (await src.plan(5).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(InputRejectedError);
    expect(err.message).toContain('\\x07\\x1b');
    expect(err.message).not.toMatch(CONTROL);
  });
});

describe('acceptance: empty, all invalid, over maxInvalid', () => {
  const totals = (total: number, invalid: number) => ({
    totalRecords: total,
    validRecords: total - invalid,
    invalid,
  });

  it('parses counts and shares, refuses anything else', () => {
    expect(parseMaxInvalid('10')).toEqual({ count: 10 });
    expect(parseMaxInvalid(3)).toEqual({ count: 3 });
    expect(parseMaxInvalid('2.5%')).toEqual({ percent: 2.5 });
    for (const bad of ['-1', '5 %%', 'ten', '101%', '1.5'])
      expect(() => parseMaxInvalid(bad)).toThrow(ConfigError);
  });

  it.each([
    [totals(0, 0), undefined, 'empty'],
    [totals(10, 10), undefined, 'all-invalid'],
    [totals(10, 9), undefined, undefined],
    [totals(100, 6), { percent: 5 }, 'too-many-invalid'],
    [totals(100, 5), { percent: 5 }, undefined],
    [totals(100, 11), { count: 10 }, 'too-many-invalid'],
    [totals(100, 10), { count: 10 }, undefined],
    [totals(100, 1), { count: 0 }, 'too-many-invalid'],
  ] as const)('%o with maxInvalid %o -> %s', (t, max, problem) => {
    expect(acceptanceProblem(t, max)).toBe(problem);
  });

  it('the message names the source, the numbers and the first invalid record', async () => {
    const err = await checkAcceptance('s3://b/k.jsonl', totals(4, 4), undefined, async () => ({
      line: 2,
      reason: 'status: Invalid option',
    })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputRejectedError);
    expect((err as Error).name).toBe('InputRejectedError');
    expect((err as Error).message).toBe(
      'input rejected: all 4 records of s3://b/k.jsonl are invalid (first: line 2: status: Invalid option)',
    );
    await expect(checkAcceptance('f.jsonl', totals(20, 2), { percent: 5 })).rejects.toThrow(
      'input rejected: 2 of 20 records of f.jsonl are invalid (10.0%), more than maxInvalid 5%',
    );
  });
});

describe('AWS source policy: s3:// in the source bucket only', () => {
  const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });

  it.each([
    '/proc/self/environ',
    'file:///proc/self/environ',
    pathToFileURL(join(dir, 'x.jsonl')).href,
    'goals.jsonl',
  ])('refuses %s before opening anything', (uri) => {
    expect(() => openAwsGoalSource({ uri, format: 'jsonl' }, { s3, sourceBucket: 'src-bucket' })).toThrow(
      /source\.uri must be an s3:\/\/ URI in the source bucket \(s3:\/\/src-bucket\/\.\.\.\)/,
    );
  });

  it('refuses another bucket and accepts the stack bucket', () => {
    expect(() => checkAwsSourceUri('s3://other/goals.jsonl', 'src-bucket')).toThrow(
      "source.uri must be in the stack's source bucket src-bucket, not other",
    );
    expect(() => checkAwsSourceUri('s3://src-bucket/in/goals.jsonl', 'src-bucket')).not.toThrow();
  });
});

describe('execution input from the console', () => {
  it('the minimal input works: run id from the execution name, connection from the stack', () => {
    const { input, maxInvalid } = normalizePlanEvent(
      { source: { uri: 's3://b/goals.csv' }, executionName: 'nightly-2026-12-01' },
      { connectionId: 'hcm-default' },
    );
    expect(input).toEqual({
      runId: 'nightly-2026-12-01',
      connectionId: 'hcm-default',
      source: { uri: 's3://b/goals.csv', format: 'csv' },
    });
    // No maxInvalid: the documented default, so a largely broken export fails loudly.
    expect(maxInvalid).toEqual({ percent: 5 });
  });

  it('encoding and delimiter name what the export is (canonical names, checked at once)', () => {
    const { input } = normalizePlanEvent(
      { source: { uri: 's3://b/excel.csv' }, executionName: 'n-1', encoding: 'latin1', delimiter: 'tab' },
      { connectionId: 'hcm-default' },
    );
    expect(input.source).toEqual({
      uri: 's3://b/excel.csv',
      format: 'csv',
      encoding: 'windows-1252',
      delimiter: '\t',
    });
    const bad = (extra: Record<string, unknown>) => () =>
      normalizePlanEvent(
        { source: { uri: 's3://b/x.csv' }, executionName: 'n', ...extra },
        { connectionId: 'c' },
      );
    expect(bad({ encoding: 'klingon' })).toThrow(/encoding 'klingon' is not one this reader knows/);
    expect(bad({ delimiter: '|' })).toThrow(/delimiter must be comma, semicolon or tab/);
  });

  it('explicit fields win; maxInvalid is parsed', () => {
    const { input, maxInvalid } = normalizePlanEvent(
      {
        runId: 'r1',
        connectionId: 'c1',
        source: { uri: 's3://b/g.jsonl' },
        executionName: 'x',
        maxInvalid: '5%',
      },
      { connectionId: 'hcm-default' },
    );
    expect(input).toMatchObject({ runId: 'r1', connectionId: 'c1' });
    expect(maxInvalid).toEqual({ percent: 5 });
  });

  it('a verify run (drift check) is asked for with verify: true', () => {
    const { input } = normalizePlanEvent(
      { source: { uri: 's3://b/g.jsonl' }, executionName: 'verify-1', verify: true },
      { connectionId: 'c' },
    );
    expect(input).toMatchObject({ runId: 'verify-1', verify: true });
  });

  it.each([
    [[], /must be a JSON object/],
    [{ sourse: { uri: 's3://b/g.jsonl' } }, /unknown field 'sourse' \(did you mean source\?\)/],
    [{ executionName: 'x' }, /source is required, e.g. \{"source": \{"uri"/],
    [{ source: 's3://b/g.jsonl', executionName: 'x' }, /source must be an object with a uri/],
    [{ source: { uri: 's3://b/g.txt' }, executionName: 'x' }, /cannot tell the format/],
    [{ source: { uri: 's3://b/g.jsonl' } }, /runId is required/],
    [{ source: { uri: 's3://b/g.jsonl' }, runId: 'has space' }, /runId: must be 1-128 characters/],
    [{ source: { uri: 's3://b/g.jsonl' }, runId: 'r', chunkSize: 0 }, /chunkSize/],
    [{ source: { uri: 's3://b/g.jsonl' }, runId: 'r', verify: 'yes' }, /verify/],
    [
      { source: { uri: 's3://b/g.jsonl' }, runId: 'r', maxInvalid: 'lots' },
      /maxInvalid must be a record count/,
    ],
  ])('fails at once naming the field: %o', (event, message) => {
    expect(() => normalizePlanEvent(event, { connectionId: 'c' })).toThrow(message);
  });

  it('suggests flags and fields that are near misses only', () => {
    expect(closest('concurency', ['concurrency', 'chunk-size'])).toBe('concurrency');
    expect(closest('zzz', ['concurrency', 'chunk-size'])).toBeUndefined();
  });
});
