import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  fileSourceCopies,
  openGoalSource,
  S3SourceCopies,
  type SourceEntry,
  type SourcePlan,
  type SourceRef,
  StreamingGoalSource,
} from '#core/source/index.ts';
import { InputRejectedError } from '../../lambdas/core/errors.ts';

// Sources as people export them: the encodings, separators and shapes spreadsheet and HR tools write.
const dir = mkdtempSync(join(tmpdir(), 'source-encoding-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const file = (name: string, content: Buffer | string): string => {
  const path = join(dir, `${files++}-${name}`);
  writeFileSync(path, content);
  return path;
};

const HEADER = [
  'externalKey',
  'personNumber',
  'goalName',
  'startDate',
  'targetCompletionDate',
  'status',
  'goalPlanId',
];
const NAME = 'Zoë Ångström';
const row = (i: number, name = NAME) => [
  `K-${i}`,
  `E${i}`,
  `${name} ${i}`,
  '2026-01-01',
  '2026-12-31',
  'NOT_STARTED',
  '300000009990001',
];
const csv = (sep: string, rows = 3) =>
  [HEADER, ...Array.from({ length: rows }, (_, i) => row(i + 1))].map((r) => r.join(sep)).join('\r\n') +
  '\r\n';
const record = (i: number) => ({
  externalKey: `K-${i}`,
  personNumber: `E${i}`,
  goalName: `${NAME} ${i}`,
  startDate: '2026-01-01',
  targetCompletionDate: '2026-12-31',
  status: 'NOT_STARTED',
  goalPlanId: 300000009990001,
});
const utf16be = (text: string) => Buffer.from(text, 'utf16le').swap16();

/** What plan-sync does: plan the source, or its UTF-8 copy when it needs one; then read every chunk. */
async function readThrough(
  ref: SourceRef,
): Promise<{ plan: SourcePlan; entries: SourceEntry[]; copied: boolean }> {
  let source = openGoalSource(ref);
  const copy = await source.normalizedCopy();
  if (copy) source = openGoalSource(await fileSourceCopies(dir).write(`r${files++}`, 1, copy, ref));
  const plan = await source.plan(2);
  const entries: SourceEntry[] = [];
  for (const chunk of plan.chunks) for await (const e of source.readChunk(chunk)) entries.push(e);
  return { plan, entries, copied: copy !== undefined };
}
const names = (entries: SourceEntry[]) => entries.flatMap((e) => ('record' in e ? [e.record.goalName] : []));
const reasons = (entries: SourceEntry[]) =>
  entries.flatMap((e) => ('invalid' in e ? [`${e.line}: ${e.invalid.reason}`] : []));

describe('encodings', () => {
  it.each([
    ['UTF-8', Buffer.from(csv(','), 'utf8'), false],
    [
      'UTF-8 with a BOM',
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(csv(','), 'utf8')]),
      false,
    ],
    [
      'UTF-16 LE with a BOM',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csv('\t'), 'utf16le')]),
      true,
    ],
    ['UTF-16 BE with a BOM', Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(csv('\t'))]), true],
  ])('%s: every name arrives intact', async (_what, bytes, copied) => {
    const r = await readThrough({ uri: file('goals.csv', bytes), format: 'csv' });
    expect(r.copied).toBe(copied);
    expect(names(r.entries)).toEqual([`${NAME} 1`, `${NAME} 2`, `${NAME} 3`]);
    expect(r.entries.map((e) => e.line)).toEqual([2, 3, 4]);
  });

  it('a file that is not UTF-8 and has no BOM is rejected, naming its first bad line and the likely encoding', async () => {
    const lines = [HEADER.join(','), row(1, 'Plain').join(','), row(2).join(',')].join('\r\n');
    const path = file('excel.csv', Buffer.from(lines, 'latin1'));
    const plan = openGoalSource({ uri: path, format: 'csv' }).plan(10);
    await expect(plan).rejects.toThrow(InputRejectedError);
    await expect(plan).rejects.toThrow(
      /is not UTF-8: line 3 has bytes that are not UTF-8, likely windows-1252 .*Excel.*--encoding windows-1252/,
    );
  });

  it.each(['windows-1252', 'latin1', 'iso-8859-1'])(
    'with encoding %s the same file reads through a UTF-8 copy, names intact',
    async (encoding) => {
      const path = file('excel.csv', Buffer.from(csv(';'), 'latin1'));
      const r = await readThrough({ uri: path, format: 'csv', encoding });
      expect(r.copied).toBe(true);
      expect(names(r.entries)).toEqual([`${NAME} 1`, `${NAME} 2`, `${NAME} 3`]);
    },
  );

  it('UTF-16 without a BOM is told by its zero bytes and rejected with the encoding to name', async () => {
    const path = file('unicode.csv', Buffer.from(csv('\t'), 'utf16le'));
    await expect(openGoalSource({ uri: path, format: 'csv' }).plan(10)).rejects.toThrow(
      /looks like UTF-16LE without a byte order mark.*--encoding utf-16le/,
    );
    const r = await readThrough({ uri: path, format: 'csv', encoding: 'utf-16le' });
    expect(names(r.entries)).toHaveLength(3);
  });

  it('a JSON Lines file in windows-1252 is rejected too, and read with the encoding named', async () => {
    const text = [1, 2].map((i) => JSON.stringify(record(i))).join('\n');
    const path = file('goals.jsonl', Buffer.from(text, 'latin1'));
    await expect(openGoalSource({ uri: path, format: 'jsonl' }).plan(10)).rejects.toThrow(/line 1 has bytes/);
    const r = await readThrough({ uri: path, format: 'jsonl', encoding: 'windows-1252' });
    expect(names(r.entries)).toEqual([`${NAME} 1`, `${NAME} 2`]);
  });
});

describe('CSV separators', () => {
  it.each([
    ['comma', ','],
    ['semicolon', ';'],
    ['tab', '\t'],
  ])('%s is detected from the header', async (_name, sep) => {
    const r = await readThrough({ uri: file('goals.csv', csv(sep)), format: 'csv' });
    expect(r.copied).toBe(false);
    expect(names(r.entries)).toHaveLength(3);
    expect(reasons(r.entries)).toEqual([]);
  });

  it('a quoted field may hold the other separators', async () => {
    const text = `${HEADER.join(';')}\nK-1;E1;"Sales, EMEA; 2026";2026-01-01;2026-12-31;NOT_STARTED;3\n`;
    const r = await readThrough({ uri: file('goals.csv', text), format: 'csv' });
    expect(names(r.entries)).toEqual(['Sales, EMEA; 2026']);
  });

  it('a given delimiter wins over detection', async () => {
    // With ';' forced, a comma file is one column: the header check names what is missing.
    await expect(
      readThrough({ uri: file('goals.csv', csv(',')), format: 'csv', delimiter: ';' }),
    ).rejects.toThrow(/missing required columns/);
  });
});

describe('JSON arrays', () => {
  it('a pretty-printed array is read as records, each at the line it starts on', async () => {
    const records: unknown[] = [record(1), { ...record(2), status: 'nope' }, record(3)];
    const text = JSON.stringify(records, null, 2);
    const r = await readThrough({ uri: file('goals.json', text), format: 'jsonl' });
    expect(r.copied).toBe(true);
    expect(names(r.entries)).toEqual([`${NAME} 1`, `${NAME} 3`]);
    const starts = text.split('\n').flatMap((l, i) => (l === '  {' ? [i + 1] : []));
    expect(r.entries.map((e) => e.line)).toEqual(starts);
    expect(reasons(r.entries)).toEqual([expect.stringMatching(new RegExp(`^${starts[1]}: status: `))]);
  });

  it('a compact array (one line) numbers its records in order; strings with brackets and escapes survive', async () => {
    const tricky = { ...record(2), goalName: 'a "quoted" ] } [ { name, with \\ and \u00e9' };
    const text = JSON.stringify([record(1), tricky, record(3)]);
    const r = await readThrough({ uri: file('goals.json', text), format: 'jsonl' });
    expect(names(r.entries)).toEqual([`${NAME} 1`, tricky.goalName, `${NAME} 3`]);
    expect(r.entries.map((e) => e.line)).toEqual([1, 2, 3]);
  });

  it('an array cut off inside a record lists that record as invalid JSON, the rest are read', async () => {
    const text = `[${JSON.stringify(record(1))},\n${JSON.stringify(record(2)).slice(0, 40)}`;
    const r = await readThrough({ uri: file('goals.json', text), format: 'jsonl' });
    expect(names(r.entries)).toEqual([`${NAME} 1`]);
    expect(reasons(r.entries)).toEqual([expect.stringMatching(/^2: invalid JSON: /)]);
  });

  it('a JSON array that is not UTF-8 is rejected naming its line, like any source', async () => {
    const text = JSON.stringify([{ ...record(1), goalName: 'Plain' }, record(2)], null, 2);
    const path = file('goals.json', Buffer.from(text, 'latin1'));
    const badLine = text.split('\n').findIndex((l) => l.includes(NAME)) + 1;
    await expect(readThrough({ uri: path, format: 'jsonl' })).rejects.toThrow(
      new RegExp(`is not UTF-8: line ${badLine} has bytes that are not UTF-8, likely windows-1252`),
    );
    const r = await readThrough({ uri: path, format: 'jsonl', encoding: 'latin1' });
    expect(names(r.entries)).toEqual(['Plain', `${NAME} 2`]);
  });

  it('pieces of any size: strings, escapes and brackets that span reads come out the same', async () => {
    const tricky = [
      record(1),
      {
        ...record(2),
        goalName: 'quote \\" and backslash \\\\ and ] } [ {',
        description: 'line\\nbreak, é ü 中',
      },
      [1, [2, { a: '[' }]],
      'a string',
      42,
      null,
    ];
    const text = JSON.stringify(tricky, null, 2);
    const whole = Buffer.from(text, 'utf8');
    for (const size of [1, 2, 3, 7, 64]) {
      const bytes = {
        description: 'pieces.json',
        identify: async () => ({ size: whole.length }),
        async *read(start: number, end?: number) {
          const part = whole.subarray(start, end);
          for (let i = 0; i < part.length; i += size) yield part.subarray(i, i + size);
        },
      };
      const copy = await new StreamingGoalSource(bytes, 'jsonl').normalizedCopy();
      const chunks: Buffer[] = [];
      for await (const p of copy!.body) chunks.push(Buffer.from(p));
      const lines = Buffer.concat(chunks).toString('utf8').split('\n');
      const values = lines.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
      expect(values, `pieces of ${size}`).toEqual(tricky);
      // Each value sits on the line it starts on in the file.
      const starts = lines.flatMap((l, i) => (l.trim() === '' ? [] : [i + 1]));
      const objectStarts = text.split('\n').flatMap((l, i) => (l === '  {' ? [i + 1] : []));
      expect(starts.slice(0, 2)).toEqual(objectStarts);
    }
  });

  it('a UTF-16 JSON array is decoded and split in one pass', async () => {
    const text = JSON.stringify([record(1), record(2)], null, 1);
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const r = await readThrough({ uri: file('goals.json', bytes), format: 'jsonl' });
    expect(names(r.entries)).toEqual([`${NAME} 1`, `${NAME} 2`]);
  });
});

describe('Excel artefacts get a reason that says what Excel did', () => {
  it('dd/mm/yyyy dates, 3.00000E+14 numbers, date serials and decimal commas', async () => {
    const text = [
      `${HEADER.join(';')};weight`,
      'K-1;E1;G1;31/12/2026;2026-12-31;NOT_STARTED;3.00000E+14;',
      'K-2;E2;G2;2026-01-01;46022;NOT_STARTED;3;12,5',
    ].join('\n');
    const r = await readThrough({ uri: file('goals.csv', text), format: 'csv' });
    const [first, second] = reasons(r.entries);
    expect(first).toMatch(/^2: startDate: is a day\/month\/year date as Excel writes it.*yyyy-mm-dd/);
    expect(first).toMatch(
      /goalPlanId: in scientific notation \(Excel shows long numbers as 3\.00000E\+14.*Number with 0 decimal places/,
    );
    expect(second).toMatch(/targetCompletionDate: is a number where a date belongs \(Excel saved the date/);
    expect(second).toMatch(/weight: has a decimal comma/);
    // Reasons name what is wrong, never the value.
    expect(first).not.toContain('31/12/2026');
  });
});

describe('the copy in S3 (plan-sync in AWS)', () => {
  const s3Mock = mockClient(S3Client);
  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u-1' });
    s3Mock
      .on(UploadPartCommand)
      .callsFake((input: { PartNumber: number }) => ({ ETag: `"p${input.PartNumber}"` }));
    s3Mock.on(CompleteMultipartUploadCommand).resolves({ ETag: '"whole-2"', VersionId: 'v-copy' });
    s3Mock.on(PutObjectCommand).resolves({ ETag: '"small"', VersionId: 'v-small' });
  });

  const copyOf = async (rows: number, partBytes: number) => {
    const path = file('excel.csv', Buffer.from(csv(';', rows), 'latin1'));
    const source = openGoalSource({
      uri: path,
      format: 'csv',
      encoding: 'windows-1252',
    });
    const copy = await source.normalizedCopy();
    return new S3SourceCopies(new S3Client({}), 'src-bucket', 'runs/', partBytes).write(
      'nightly-1',
      2,
      copy!,
      {
        uri: 's3://src-bucket/nightly/goals.csv',
        format: 'csv',
      },
    );
  };

  it('goes under the run prefix in parts, pinned to the version written', async () => {
    const ref = await copyOf(200, 4096);
    expect(ref).toMatchObject({
      uri: 's3://src-bucket/runs/nightly-1/attempt-2/source.csv',
      format: 'csv',
      version: { etag: '"whole-2"', versionId: 'v-copy' },
    });
    const parts = s3Mock.commandCalls(UploadPartCommand).map((c) => c.args[0].input);
    expect(parts.length).toBeGreaterThan(2);
    const body = Buffer.concat(parts.map((p) => p.Body as Buffer));
    expect(body.length).toBe(ref.version!.size);
    expect(body.toString('utf8')).toContain(`${NAME} 200`);
    expect(parts.slice(0, -1).every((p) => (p.Body as Buffer).length >= 4096)).toBe(true);
    const done = s3Mock.commandCalls(CompleteMultipartUploadCommand)[0]!.args[0].input;
    expect(done.MultipartUpload?.Parts?.map((p) => p.PartNumber)).toEqual(parts.map((p) => p.PartNumber));
  });

  it('a copy smaller than one part is one PutObject', async () => {
    const ref = await copyOf(3, 1024 * 1024);
    expect(s3Mock.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
    const put = s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put.Key).toBe('runs/nightly-1/attempt-2/source.csv');
    expect(Buffer.from(put.Body as Buffer).toString('utf8')).toBe(csv(';', 3));
    expect(ref.version).toEqual({
      size: Buffer.byteLength(csv(';', 3)),
      etag: '"small"',
      versionId: 'v-small',
    });
  });
});

it('the file copy is plain UTF-8 with the original line breaks', async () => {
  const path = file('excel.csv', Buffer.from(csv(','), 'latin1'));
  const source = openGoalSource({ uri: path, format: 'csv', encoding: 'latin1' });
  const ref = await fileSourceCopies(dir).write('copy-1', 1, (await source.normalizedCopy())!, {
    uri: path,
    format: 'csv',
  });
  expect(readFileSync(ref.uri, 'utf8')).toBe(csv(','));
  expect(ref.version?.sha256).toMatch(/^[0-9a-f]{64}$/);
});
