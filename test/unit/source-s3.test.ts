import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  type GetObjectCommandInput,
  type GetObjectCommandOutput,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { GoalSource, SourcePlan } from '#core/source/index.ts';
import { openGoalSource, parseS3Uri } from '#core/source/index.ts';
import { ConfigError, TransientError } from '../../lambdas/core/errors.ts';
import { generateGoals } from '../../local/sample/generate.ts';

const s3Mock = mockClient(S3Client);
const dir = mkdtempSync(join(tmpdir(), 'source-s3-'));
afterAll(() => {
  s3Mock.restore();
  rmSync(dir, { recursive: true, force: true });
});

/** Serves `object` like S3 does: inclusive byte ranges, streamed in small uneven pieces. */
function serve(object: Buffer): string[] {
  const ranges: string[] = [];
  s3Mock.on(GetObjectCommand).callsFake((input: GetObjectCommandInput) => {
    let slice = object;
    if (input.Range) {
      ranges.push(input.Range);
      const m = /^bytes=(\d+)-(\d*)$/.exec(input.Range)!;
      const start = Number(m[1]);
      const end = m[2] === '' ? object.length - 1 : Math.min(Number(m[2]), object.length - 1);
      slice = object.subarray(start, end + 1);
    } else {
      ranges.push('(whole)');
    }
    const pieces: Buffer[] = [];
    for (let i = 0; i < slice.length; i += 37) pieces.push(slice.subarray(i, i + 37));
    // The SDK's Node body is an IncomingMessage; a Readable is the same shape for an async reader.
    return Promise.resolve({ Body: Readable.from(pieces) } as unknown as GetObjectCommandOutput);
  });
  return ranges;
}

async function sampleText(format: 'jsonl' | 'csv'): Promise<string> {
  const lines: string[] = [];
  for await (const line of generateGoals({ goals: 60, invalidRate: 0.1, seed: 5, format })) lines.push(line);
  return `${lines.join('\n')}\n`;
}

async function everything(source: GoalSource, plan: SourcePlan): Promise<string[]> {
  const out: string[] = [];
  for (const chunk of plan.chunks) {
    for await (const e of source.readChunk(chunk)) {
      out.push('record' in e ? `${e.line}:${e.record.externalKey}` : `${e.line}!${e.invalid.reason}`);
    }
  }
  return out;
}

beforeEach(() => s3Mock.reset());

describe('S3 goal source', () => {
  it.each(['jsonl', 'csv'] as const)(
    '%s: plans and reads by Range exactly like the file reader',
    async (format) => {
      const text = await sampleText(format);
      const path = join(dir, `goals.${format}`);
      writeFileSync(path, text);
      const ranges = serve(Buffer.from(text));

      const fromS3 = openGoalSource(
        { uri: `s3://bucket/in/goals.${format}`, format },
        { s3: new S3Client({}) },
      );
      const fromFile = openGoalSource({ uri: path, format });
      const s3Plan = await fromS3.plan(16);
      const filePlan = await fromFile.plan(16);
      expect(s3Plan).toEqual(filePlan);
      expect(s3Plan.invalid.length).toBeGreaterThan(0);

      // A chunk worker is a fresh process: a fresh source that has not read the header yet.
      ranges.length = 0;
      const worker = openGoalSource(
        { uri: `s3://bucket/in/goals.${format}`, format },
        { s3: new S3Client({}) },
      );
      const s3Entries = await everything(worker, s3Plan);
      expect(s3Entries).toEqual(await everything(fromFile, filePlan));
      expect(s3Entries).toHaveLength(60);
      // One ranged GET per chunk (CSV: plus one header probe, cached by the source).
      const chunkRanges = s3Plan.chunks.map((c) => `bytes=${c.byteStart}-${c.byteEnd - 1}`);
      expect(ranges).toEqual(format === 'csv' ? ['bytes=0-65535', ...chunkRanges] : chunkRanges);
      const calls = s3Mock.commandCalls(GetObjectCommand);
      expect(
        calls.every(
          (c) => c.args[0].input.Bucket === 'bucket' && c.args[0].input.Key === `in/goals.${format}`,
        ),
      ).toBe(true);
    },
  );

  it('maps a missing object to ConfigError and a 503 to TransientError', async () => {
    const source = openGoalSource(
      { uri: 's3://bucket/missing.jsonl', format: 'jsonl' },
      { s3: new S3Client({}) },
    );
    s3Mock
      .on(GetObjectCommand)
      .rejects(Object.assign(new Error('nope'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }));
    await expect(source.plan(10)).rejects.toThrow(ConfigError);
    s3Mock.reset();
    s3Mock
      .on(GetObjectCommand)
      .rejects(
        Object.assign(new Error('slow down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }),
      );
    await expect(source.plan(10)).rejects.toThrow(TransientError);
  });

  it('parses s3 URIs', () => {
    expect(parseS3Uri('s3://my-bucket/a/b c.jsonl')).toEqual({ bucket: 'my-bucket', key: 'a/b c.jsonl' });
    expect(() => parseS3Uri('s3://bucket-only')).toThrow(ConfigError);
  });
});
