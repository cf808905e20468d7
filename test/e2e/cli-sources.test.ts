import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HcmSim } from '../../local/hcm/index.ts';
import type { IdpSim } from '../../local/idp/index.ts';
import { goalSync } from '../support/goal-sync-cli.ts';
import { startSimPair } from '../support/sim-pair.ts';

/**
 * Sources as people export them (issue 28), run as a person would: the CLI spawned on files the test
 * writes. Excel's "CSV (Comma delimited)" is Windows-1252; in German, French or Dutch it separates with
 * semicolons; its "Unicode Text" is UTF-16 LE with tabs; other tools write one JSON array.
 */
const HEADER = 'externalKey,personNumber,goalName,startDate,targetCompletionDate,status,goalPlanId';
const NAME = 'Zoë Ångström';
const rows = (n: number, sep = ',') =>
  [
    HEADER,
    ...Array.from(
      { length: n },
      (_, i) =>
        `K-${i + 1},E00000${i + 1},${NAME} ${i + 1},2026-01-01,2026-12-31,NOT_STARTED,300000009990001`,
    ),
  ]
    .map((line) => line.replaceAll(',', sep))
    .join('\r\n');
const record = (i: number) => ({
  externalKey: `A-${i}`,
  personNumber: `E000${100 + i}`,
  goalName: `${NAME} ${i}`,
  startDate: '2026-01-01',
  targetCompletionDate: '2026-12-31',
  status: 'NOT_STARTED',
  goalPlanId: 300000009990001,
});

let dir: string;
let idp: IdpSim;
let hcm: HcmSim;
const path = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'goal-sync-sources-'));
  await writeFile(path('excel.csv'), Buffer.from(`${rows(4)}\r\n`, 'latin1'));
  await writeFile(path('excel-de.csv'), Buffer.from(`${rows(4, ';')}\r\n`, 'utf8'));
  await writeFile(
    path('unicode.txt.csv'),
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${rows(4, '\t')}\r\n`, 'utf16le')]),
  );
  await writeFile(path('array.json'), JSON.stringify([1, 2, 3].map(record), null, 2));
  await writeFile(
    path('excel-artefacts.csv'),
    `${HEADER}\nK-1,E1,G1,31/12/2026,2027-12-31,NOT_STARTED,3.00000E+14\nK-2,E2,G2,2026-01-01,2026-12-31,NOT_STARTED,3\n`,
  );
  ({ idp, hcm } = await startSimPair());
});
afterAll(async () => {
  await hcm?.close();
  await idp?.close();
  await rm(dir, { recursive: true, force: true });
});

const local = (file: string, ...extra: string[]) =>
  goalSync([
    'local',
    '--source',
    path(file),
    '--no-progress',
    '--idp-url',
    idp.url,
    '--hcm-url',
    hcm.url,
    ...extra,
  ]);

describe('an Excel "CSV (Comma delimited)" export in Windows-1252', () => {
  it('is rejected by validate and by a run (exit 4), naming the first bad line and the likely encoding', async () => {
    const v = await goalSync(['validate', path('excel.csv')]);
    expect(v.code).toBe(4);
    expect(v.stdout).toMatch(
      /excel\.csv is not UTF-8: line 2 has bytes that are not UTF-8, likely windows-1252 .*--encoding windows-1252/,
    );
    const before = hcm.goals().length;
    const r = await local('excel.csv');
    expect(r.code, r.stderr).toBe(4);
    expect(r.stdout).toMatch(/not UTF-8: line 2/);
    expect(r.stdout).toContain('nothing was written to HCM');
    expect(hcm.goals()).toHaveLength(before);
  });

  it('with --encoding windows-1252 the names reach HCM intact', async () => {
    const v = await goalSync(['validate', path('excel.csv'), '--encoding', 'windows-1252']);
    expect(v.code, v.stdout).toBe(0);
    expect(v.stdout).toMatch(/\(csv, windows-1252\): 4 records, 4 valid, 0 invalid/);
    const r = await local('excel.csv', '--encoding', 'windows-1252');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const stored = hcm
      .goals()
      .filter((g) => g.PersonNumber === 'E000001')
      .map((g) => g.GoalName);
    expect(stored).toEqual([`${NAME} 1`]);
  });

  it('an unknown encoding is a bad argument (exit 2)', async () => {
    const r = await goalSync(['validate', path('excel.csv'), '--encoding', 'klingon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--encoding 'klingon' is not one this reader knows/);
  });
});

describe('other shapes are read as records', () => {
  it.each([
    ['a semicolon CSV (Excel in German, French, Dutch)', 'excel-de.csv', /\(csv\): 4 records, 4 valid/],
    ['UTF-16 LE "Unicode Text" with tabs', 'unicode.txt.csv', /\(csv, utf-16le\): 4 records, 4 valid/],
    ['a JSON array', 'array.json', /\(JSON array\): 3 records, 3 valid/],
  ])('validate: %s', async (_what, file, summary) => {
    const r = await goalSync(['validate', path(file)]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(summary);
  });

  it('a run over a JSON array writes each record once, through a UTF-8 copy', async () => {
    const r = await local('array.json', '--json');
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { goals: { created: number }; records: { total: number } };
    expect(report.goals.created).toBe(3);
    expect(
      hcm
        .goals()
        .filter((g) => g.PersonNumber.startsWith('E0001'))
        .map((g) => g.GoalName)
        .sort(),
    ).toEqual([1, 2, 3].map((i) => `${NAME} ${i}`));
  });

  it('Excel artefacts get a reason that says what Excel did and how to export instead', async () => {
    const r = await goalSync(['validate', path('excel-artefacts.csv'), '--max-invalid', '50%']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/line 2 K-1: startDate: is a day\/month\/year date as Excel writes it/);
    expect(r.stdout).toMatch(
      /goalPlanId: in scientific notation \(Excel shows long numbers as 3\.00000E\+14/,
    );
    expect(r.stdout).not.toContain('31/12/2026');
  });
});
