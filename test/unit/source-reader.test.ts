import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChunkRef, GoalSource, SourceEntry } from '#core/source/index.ts';
import {
  type ByteSource,
  fileBytes,
  formatFromUri,
  MAX_LINE_BYTES,
  openGoalSource,
  StreamingGoalSource,
} from '#core/source/index.ts';
import { ConfigError } from '../../lambdas/core/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'source-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(name: string, content: string | Buffer): string {
  const path = join(dir, `${files++}-${name}`);
  writeFileSync(path, content);
  return path;
}

const goal = (n: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    externalKey: `K-${n}`,
    personNumber: `E${String(n).padStart(6, '0')}`,
    goalName: `Goal ${n}`,
    startDate: '2026-01-01',
    targetCompletionDate: '2026-12-31',
    status: 'NOT_STARTED',
    goalPlanId: 300000009990001,
    ...extra,
  });

async function readAll(source: GoalSource, chunks: ChunkRef[]): Promise<SourceEntry[]> {
  const entries: SourceEntry[] = [];
  for (const chunk of chunks) for await (const e of source.readChunk(chunk)) entries.push(e);
  return entries;
}

const summary = (entries: SourceEntry[]) =>
  entries.map((e) => ('record' in e ? `${e.line}:${e.record.externalKey}` : `${e.line}!${e.invalid.reason}`));

describe('JSON Lines source', () => {
  // line: 1 valid, 2 blank, 3 bad JSON, 4 valid (CRLF), 5 schema error, 6 blank-ish, 7 dup of 1, 8 valid, 9 natural-key dup of 4
  const lines = [
    goal(1),
    '',
    '{"externalKey": "K-2", ',
    `${goal(3)}\r`,
    goal(4, { weight: 150 }),
    '   ',
    goal(1, { goalName: 'Other name' }),
    goal(5),
    goal(6, { personNumber: 'E000003', goalName: 'Goal 3' }),
  ];
  const path = file('goals.jsonl', `${lines.join('\n')}\n`);
  const source = openGoalSource({ uri: path, format: 'jsonl' });

  it('plans: counts, lists every invalid record with line and reason, skips blank lines', async () => {
    const plan = await source.plan(100);
    expect(plan.totalRecords).toBe(7);
    expect(plan.validRecords).toBe(3);
    expect(plan.bytes).toBe(readFileSync(path).length);
    expect(plan.invalid.map((i) => [i.line, i.key])).toEqual([
      [3, undefined],
      [5, 'K-4'],
      [7, 'K-1'],
      [9, 'K-6'],
    ]);
    expect(plan.invalid[0]!.reason).toMatch(/^invalid JSON: /);
    expect(plan.invalid[1]!.reason).toMatch(/^weight: Too big/);
    expect(plan.invalid[2]!.reason).toBe('externalKey: duplicate of line 1');
    expect(plan.invalid[3]!.reason).toMatch(/^goalName: duplicate of line 4 /);
  });

  it('readChunk marks duplicates found by plan even when the original is in another chunk', async () => {
    const plan = await source.plan(2);
    const entries = await readAll(source, plan.chunks);
    expect(summary(entries)).toEqual([
      '1:K-1',
      expect.stringMatching(/^3!invalid JSON/),
      '4:K-3',
      expect.stringMatching(/^5!weight/),
      '7!externalKey: duplicate of line 1',
      '8:K-5',
      expect.stringMatching(/^9!goalName: duplicate of line 4/),
    ]);
    const withDuplicate = plan.chunks.find((c) => c.firstLine <= 7 && 7 < c.firstLine + c.lineCount)!;
    expect(withDuplicate.duplicates).toEqual([{ line: 7, reason: 'externalKey: duplicate of line 1' }]);
  });

  it('without plan information, readChunk still finds duplicates inside the chunk (and only there)', async () => {
    const [whole] = (await source.plan(100)).chunks;
    const bare: ChunkRef = { ...whole!, duplicates: undefined };
    const entries = summary(await readAll(source, [bare]));
    expect(entries).toContain('7!externalKey: duplicate of line 1');
    const plan2 = await source.plan(4);
    const later = { ...plan2.chunks[1]!, duplicates: undefined };
    // Line 7's original (line 1) is in chunk 0: a hand-made chunk cannot know.
    expect(summary(await readAll(source, [later]))).toContain('7:K-1');
    // A caller may pass invalid lines itself.
    const extra = new Map([[8, 'flagged by caller']]);
    const marked: SourceEntry[] = [];
    for await (const e of source.readChunk(later, { invalidLines: extra })) marked.push(e);
    expect(summary(marked)).toContain('8!flagged by caller');
  });

  it.each([1, 2, 3, 5, 7, 100])(
    'chunk size %i covers every record exactly once with exact byte ranges',
    async (size) => {
      const plan = await source.plan(size);
      const bytes = readFileSync(path);
      expect(plan.chunks.map((c) => c.recordCount)).toEqual(
        plan.chunks.map((_, i) => (i < plan.chunks.length - 1 ? size : plan.totalRecords - size * i)),
      );
      // Contiguous, starting at 0, lines and bytes consistent.
      let byte = 0;
      let line = 1;
      for (const chunk of plan.chunks) {
        expect(chunk.byteStart).toBe(byte);
        expect(chunk.firstLine).toBe(line);
        const slice = bytes.subarray(chunk.byteStart, chunk.byteEnd).toString('utf8');
        expect(slice.endsWith('\n')).toBe(true);
        expect(slice.split('\n').length - 1).toBe(chunk.lineCount);
        byte = chunk.byteEnd;
        line += chunk.lineCount;
      }
      const entries = await readAll(source, plan.chunks);
      expect(entries.map((e) => e.line)).toEqual([1, 3, 4, 5, 7, 8, 9]);
      expect(entries.filter((e) => 'invalid' in e).map((e) => ('invalid' in e ? e.invalid : null))).toEqual(
        plan.invalid,
      );
    },
  );

  it('reports an overlong line as one invalid record and carries on', async () => {
    const long = `{"externalKey":"K-9","description":"${'x'.repeat(MAX_LINE_BYTES + 10)}"}`;
    const src = openGoalSource({
      uri: file('long.jsonl', `${goal(1)}\n${long}\n${goal(2)}`),
      format: 'jsonl',
    });
    const plan = await src.plan(10);
    expect(plan.validRecords).toBe(2);
    expect(plan.invalid).toEqual([{ line: 2, reason: `line longer than ${MAX_LINE_BYTES} bytes` }]);
    expect(summary(await readAll(src, plan.chunks))).toEqual([
      '1:K-1',
      expect.stringMatching(/^2!line longer/),
      '3:K-2',
    ]);
  });

  it('treats an empty file as an empty source', async () => {
    for (const format of ['jsonl', 'csv'] as const) {
      const plan = await openGoalSource({ uri: file(`empty.${format}`, ''), format }).plan(10);
      expect(plan).toEqual({
        totalRecords: 0,
        validRecords: 0,
        invalid: [],
        chunks: [],
        bytes: 0,
        goalPlanIds: [],
      });
    }
  });
});

const HEADER =
  'externalKey,personNumber,goalName,description,startDate,targetCompletionDate,status,goalPlanId,weight';

describe('CSV source', () => {
  const rows = [
    `\ufeff${HEADER}`,
    'K-1,E000001,"Grow revenue, keep margin","She said ""go""",2026-01-01,2026-12-31,IN_PROGRESS,300000009990001,25',
    'K-2,E000002,Plain goal,,2026-01-01,2026-12-31,NOT_STARTED,300000009990001,',
    'K-3,E000003,"Two-line',
    'name",a,2026-01-01,2026-12-31,COMPLETED,300000009990001,10.5',
    '',
    'K-4,E000004,Too few fields,2026-01-01',
    'K-5,E000005,Bad number,,2026-01-01,2026-12-31,ON_HOLD,plan-7,',
    'K-6,E000006,Stray "quote" here,,2026-01-01,2026-12-31,ON_HOLD,300000009990001,',
    'K-7,E000007,Last,,2026-01-01,2026-12-31,ON_HOLD,300000009990001,0',
  ];
  const path = file('goals.csv', `${rows.join('\r\n')}\r\n`);
  const source = openGoalSource({ uri: path, format: 'csv' });

  it('parses quoting, empty cells, numbers and multi-line records; reports bad rows with their line', async () => {
    const plan = await source.plan(100);
    expect(plan.totalRecords).toBe(7);
    const entries = await readAll(source, plan.chunks);
    const records = entries.flatMap((e) => ('record' in e ? [e.record] : []));
    expect(records[0]).toMatchObject({
      goalName: 'Grow revenue, keep margin',
      description: 'She said "go"',
      weight: 25,
    });
    expect(records[1]).not.toHaveProperty('description');
    expect(records[1]).not.toHaveProperty('weight');
    expect(records[2]).toMatchObject({ externalKey: 'K-3', goalName: 'Two-line\r\nname', weight: 10.5 });
    expect(records.at(-1)).toMatchObject({ externalKey: 'K-7', weight: 0, goalPlanId: 300000009990001 });
    expect(entries.map((e) => e.line)).toEqual([2, 3, 4, 7, 8, 9, 10]);
    expect(plan.invalid).toEqual([
      { line: 7, reason: 'invalid CSV: expected 9 fields, got 4', key: 'K-4' },
      { line: 8, key: 'K-5', reason: 'goalPlanId: Invalid input: expected number, received string' },
      { line: 9, reason: expect.stringMatching(/^invalid CSV: Invalid Opening Quote/) },
    ]);
  });

  it.each([1, 2, 3, 100])(
    'chunk size %i: ranges exclude the header and cover each record once',
    async (size) => {
      const plan = await source.plan(size);
      const bytes = readFileSync(path);
      const headerEnd = bytes.indexOf('\n') + 1;
      expect(plan.chunks[0]!.byteStart).toBe(headerEnd);
      expect(plan.chunks[0]!.firstLine).toBe(2);
      for (const chunk of plan.chunks) {
        // Every range starts at a record boundary: its first non-blank line is a record's first line.
        const text = bytes.subarray(chunk.byteStart, chunk.byteEnd).toString('utf8');
        expect(text).toMatch(/^(\r\n)*K-\d,/);
      }
      expect(plan.chunks.at(-1)!.byteEnd).toBe(bytes.length);
      const entries = await readAll(source, plan.chunks);
      expect(entries.map((e) => e.line)).toEqual([2, 3, 4, 7, 8, 9, 10]);
    },
  );

  it('reports an unterminated quote at the end of the file', async () => {
    const src = openGoalSource({
      uri: file('open.csv', `${HEADER}\nK-1,E1,"never closed\nmore\n`),
      format: 'csv',
    });
    const plan = await src.plan(5);
    expect(plan.invalid).toEqual([{ line: 2, reason: 'unterminated quoted field at end of file' }]);
  });

  it('a header-only file has no records', async () => {
    const plan = await openGoalSource({ uri: file('header.csv', `${HEADER}\n`), format: 'csv' }).plan(5);
    expect(plan).toMatchObject({ totalRecords: 0, chunks: [] });
  });
});

describe('streaming', () => {
  it('reads only the chunk range (plus the CSV header probe), never the whole file', async () => {
    const lines = [HEADER];
    for (let i = 1; i <= 400; i++) {
      lines.push(
        `K-${i},E${String(i).padStart(6, '0')},Goal ${i},,2026-01-01,2026-12-31,NOT_STARTED,300000009990001,`,
      );
    }
    const path = file('many.csv', `${lines.join('\n')}\n`);
    const reads: Array<[number, number | undefined, number]> = [];
    const inner = fileBytes(path);
    const counting: ByteSource = {
      description: path,
      identify: () => inner.identify(),
      async *read(start, end) {
        const entry: [number, number | undefined, number] = [start, end, 0];
        reads.push(entry);
        for await (const piece of inner.read(start, end)) {
          entry[2] += piece.byteLength;
          yield piece;
        }
      },
    };
    const plan = await new StreamingGoalSource(fileBytes(path), 'csv').plan(50);
    const chunk = plan.chunks[3]!;
    const source = new StreamingGoalSource(counting, 'csv');
    let n = 0;
    for await (const _ of source.readChunk(chunk)) n++;
    expect(n).toBe(50);
    expect(reads).toHaveLength(2);
    expect(reads[0]![0]).toBe(0); // header probe
    expect(reads[1]).toEqual([chunk.byteStart, chunk.byteEnd, chunk.byteEnd - chunk.byteStart]);
  });
});

describe('openGoalSource / formatFromUri', () => {
  it('derives the format from the name', () => {
    expect(formatFromUri('s3://bucket/in/goals.CSV')).toBe('csv');
    expect(formatFromUri('/data/goals.jsonl')).toBe('jsonl');
    expect(formatFromUri('file:///data/goals.ndjson?v=2')).toBe('jsonl');
    expect(() => formatFromUri('goals.xlsx')).toThrow(ConfigError);
  });

  it('opens file:// URLs and reports a missing file as a ConfigError', async () => {
    const path = file('url.jsonl', `${goal(1)}\n`);
    const plan = await openGoalSource({ uri: pathToFileURL(path).href, format: 'jsonl' }).plan(1);
    expect(plan.validRecords).toBe(1);
    await expect(
      openGoalSource({ uri: join(dir, 'missing.jsonl'), format: 'jsonl' }).plan(1),
    ).rejects.toThrow(ConfigError);
  });
});
