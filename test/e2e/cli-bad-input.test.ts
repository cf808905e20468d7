import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goalSync } from '../support/goal-sync-cli.ts';

// Bad input, as a newcomer meets it: each case with its exit code and its one message.
// biome-ignore lint/suspicious/noControlCharactersInRegex: asserting their absence.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;
const HEADER = 'externalKey,personNumber,goalName,startDate,targetCompletionDate,status,goalPlanId';
let dir: string;
const path = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'goal-sync-bad-'));
  await writeFile(path('empty.jsonl'), '');
  await writeFile(path('header-only.csv'), `${HEADER}\n`);
  const wrong = 'externalKey,person_number,goalName,startDate,targetCompletionDate,status,goalPlanID';
  const rows = Array.from(
    { length: 10 },
    (_, i) => `K-${i},E${i},Goal ${i},2026-01-01,2026-12-31,NOT_STARTED,3`,
  );
  await writeFile(path('wrong-header.csv'), `${wrong}\n${rows.join('\n')}\n`);
  await writeFile(
    path('binary.jsonl'),
    Buffer.from([0x1b, 0x5b, 0x32, 0x4a, 0x07, 0x00, 0x0a, 0x01, 0x9b, 0x0a]),
  );
  const good = (i: number) =>
    JSON.stringify({
      externalKey: `K-${i}`,
      personNumber: `E${String(i).padStart(6, '0')}`,
      goalName: `Goal ${i}`,
      startDate: '2026-01-01',
      targetCompletionDate: '2026-12-31',
      status: 'NOT_STARTED',
      goalPlanId: 300000009990001,
    });
  await writeFile(path('some-bad.jsonl'), `${good(1)}\n${good(2)}\n{"externalKey":"K-3"}\n${good(4)}\n`);
  const onHold = JSON.stringify({ ...JSON.parse(good(5)), status: 'ON_HOLD', category: 'SALES' });
  await writeFile(path('unmapped.jsonl'), `${good(1)}\n${onHold}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('input rejected: exit 4 with one clear message', () => {
  it.each([
    ['an empty file', 'empty.jsonl', [], /input rejected: .*empty\.jsonl holds no records/],
    [
      'a CSV with a wrong header',
      'wrong-header.csv',
      [],
      /input rejected: CSV header of .*wrong-header\.csv: missing required columns: personNumber, goalPlanId; unknown columns: person_number \(did you mean personNumber\?\), goalPlanID \(did you mean goalPlanId\?\)/,
    ],
    [
      'binary garbage (not UTF-8)',
      'binary.jsonl',
      [],
      /input rejected: .*binary\.jsonl is not UTF-8: line 2 has bytes that are not UTF-8/,
    ],
    [
      'more invalid records than --max-invalid',
      'some-bad.jsonl',
      ['--max-invalid', '10%'],
      /input rejected: 1 of 4 records of .*some-bad\.jsonl are invalid \(25\.0%\), more than maxInvalid 10%/,
    ],
  ])('goal-sync local: %s', async (_what, file, extra, message) => {
    const r = await goalSync(['local', '--source', path(file), '--no-progress', ...extra]);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stdout).toMatch(message);
    expect(r.stdout).toContain('nothing was written to HCM');
    expect(r.stdout + r.stderr).not.toMatch(CONTROL);
  });

  it('goal-sync validate: a header-only CSV is rejected without starting anything', async () => {
    const r = await goalSync(['validate', path('header-only.csv')]);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/0 records, 0 valid, 0 invalid\ninput rejected: no records/);
  });

  it('goal-sync validate --json lists invalid records by line and reason', async () => {
    const r = await goalSync(['validate', path('some-bad.jsonl'), '--json', '--max-invalid', '50%']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { valid: number; invalid: Array<{ line: number; reason: string }> };
    expect(out.valid).toBe(3);
    expect(out.invalid).toEqual([
      { line: 3, key: 'K-3', reason: expect.stringMatching(/^personNumber: is required/) },
    ]);
  });
});

describe('goal-sync validate honours the goal mapping', () => {
  it('lists a record whose status has no HCM code, naming the setting; the flags supply the code', async () => {
    const plain = await goalSync(['validate', path('unmapped.jsonl'), '--json']);
    expect(plain.code).toBe(0);
    const out = JSON.parse(plain.stdout) as {
      unmapped: Array<{ line: number; key: string; reason: string }>;
    };
    expect(out.unmapped).toEqual([
      { line: 2, key: 'K-5', reason: expect.stringMatching(/status 'ON_HOLD'.*goalStatusMap.*--status-map/) },
    ]);
    const mapped = await goalSync([
      'validate',
      path('unmapped.jsonl'),
      '--json',
      '--status-map',
      'ON_HOLD=HOLD',
      '--category-map',
      'SALES=SLS',
    ]);
    expect((JSON.parse(mapped.stdout) as { unmapped: unknown[] }).unmapped).toEqual([]);
    const onlyStatus = await goalSync([
      'validate',
      path('unmapped.jsonl'),
      '--status-map',
      'ON_HOLD=HOLD',
      '--category-map',
      'DEV=DEV',
    ]);
    expect(onlyStatus.stdout).toMatch(/line 2 K-5: category 'SALES' has no HCM code.*goalCategoryMap/);
  });

  it('a bad mapping flag is a usage error (exit 2) naming the flag', async () => {
    const r = await goalSync(['validate', path('unmapped.jsonl'), '--percent-codes', '0-50=0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--percent-codes: 51-100 has no code/);
  });
});

describe('a largely broken export fails loudly: --max-invalid defaults to 5%', () => {
  it('goal-sync validate: 1 invalid record of 4 is over the default', async () => {
    const r = await goalSync(['validate', path('some-bad.jsonl')]);
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/input rejected: more invalid records than --max-invalid 5%/);
  });

  it('goal-sync local: the same file is rejected before anything is written', async () => {
    const r = await goalSync(['local', '--source', path('some-bad.jsonl'), '--no-progress']);
    expect(r.code, r.stderr).toBe(4);
    expect(r.stdout).toMatch(
      /1 of 4 records of .*some-bad\.jsonl are invalid \(25\.0%\), more than maxInvalid 5%/,
    );
    expect(r.stdout).toContain('nothing was written to HCM');
  });
});

describe('bad arguments: exit 2, one line, before anything starts', () => {
  it.each([
    [['local', '--concurrency', '100000'], /^goal-sync local: --concurrency must be an integer from 1 to 40/],
    [
      ['local', '--faults', 'hcm.errorRat=0.1'],
      /^goal-sync local: --faults: unknown key 'hcm.errorRat' \(did you mean hcm\.errorRate\?\)/,
    ],
    [
      ['local', '--faults', 'hcm.errorRate=2'],
      /^goal-sync local: --faults: hcm\.errorRate must be a number in \[0, 1\], got '2'/,
    ],
    [
      ['local', '--report', '/nonexistent/r.json'],
      /^goal-sync local: --report \/nonexistent\/r\.json: directory \/nonexistent does not exist/,
    ],
    [
      ['local', '--source', '/nonexistent/goals.jsonl'],
      /^goal-sync local: --source \/nonexistent\/goals\.jsonl: no such file/,
    ],
    [['local', '--goals', '-5'], /^goal-sync local: --goals must be an integer >= 1/],
    [['local', '--goals'], /^goal-sync local: --goals needs a value/],
    [
      ['local', '--concurency', '3'],
      /^goal-sync local: unknown flag --concurency \(did you mean --concurrency\?\)/,
    ],
    [['local', '--max-invalid', 'lots'], /^goal-sync local: --max-invalid: .*record count/],
    [['local', '--delimiter', '|'], /^goal-sync local: --delimiter must be comma, semicolon or tab/],
    [['local', '--encoding', 'ebcdic-ish'], /^goal-sync local: --encoding 'ebcdic-ish' is not one/],
    [['sim', '--bogus'], /^goal-sync sim: unknown flag --bogus/],
    [['status', '--jsn'], /^goal-sync status: unknown flag --jsn \(did you mean --json\?\)/],
    [['valdate', 'x'], /^goal-sync: unknown command 'valdate' \(did you mean validate\?\)/],
  ])('%j', async (args, message) => {
    const r = await goalSync(args);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    // Nothing started: no generated goals, no summary.
    expect(r.stdout).toBe('');
  });

  it.each(['local', 'sim', 'validate', 'status'])('%s --help exits 0 with exit codes', async (command) => {
    const r = await goalSync([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/exit codes:/i);
  });
});
