import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChunkStore, RunStore } from '#core/checkpoint/index.ts';
import { openGoalSource } from '#core/source/index.ts';
import { planRun } from '#core/sync/index.ts';
import { SourceChangedError } from '../../lambdas/core/errors.ts';
import { generateGoals } from '../../local/sample/generate.ts';
import type { TestDynamo } from '../support/dynalite.ts';
import { openCheckpointStores } from './checkpoint-stores.ts';

let dynamo: TestDynamo;
let runs: RunStore;
let chunks: ChunkStore;
beforeAll(async () => {
  ({ dynamo, runs, chunks } = await openCheckpointStores());
});
afterAll(() => dynamo.close());

describe('planRun with a version pinned in the input (goal-sync start --upload)', () => {
  let uploaded: Buffer;
  beforeAll(async () => {
    const lines: string[] = [];
    for await (const line of generateGoals({ goals: 3, invalidRate: 0, seed: 8, format: 'jsonl' }))
      lines.push(line);
    uploaded = Buffer.from(`${lines.join('\n')}\n`);
  });
  const overwritten = Buffer.from('{"externalKey": "OTHER"}\n');

  it('reads the pinned S3 version even after the key was overwritten', async () => {
    // The key now holds v2; the execution input names v1, the version the upload wrote.
    const s3 = new S3Client({ region: 'eu-west-1' });
    const mock = mockClient(s3);
    const object = (versionId: string | undefined) => (versionId === 'v1' ? uploaded : overwritten);
    mock.on(HeadObjectCommand).callsFake(({ VersionId }: { VersionId?: string }) => ({
      ContentLength: object(VersionId).length,
      ETag: VersionId === 'v1' ? '"e1"' : '"e2"',
      VersionId: VersionId ?? 'v2',
    }));
    mock
      .on(GetObjectCommand)
      .callsFake(
        ({ VersionId }: { VersionId?: string }) =>
          ({ Body: Readable.from([object(VersionId)]) }) as unknown as GetObjectCommandOutput,
      );
    try {
      const version = { size: uploaded.length, etag: '"e1"', versionId: 'v1' };
      const out = await planRun(
        {
          runId: 'plan-pinned-s3',
          connectionId: 'c',
          source: { uri: 's3://goal-sync-source/uploads/r/goals.jsonl', format: 'jsonl', version },
        },
        { runs, chunks, openSource: (ref) => openGoalSource(ref, { s3 }) },
      );
      expect(out.totals).toMatchObject({ totalRecords: 3, validRecords: 3, invalid: 0 });
      expect((await runs.getRun('plan-pinned-s3'))?.source.version).toEqual(version);
      const versionsAsked = [
        ...mock.commandCalls(HeadObjectCommand).map((c) => c.args[0].input.VersionId),
        ...mock.commandCalls(GetObjectCommand).map((c) => c.args[0].input.VersionId),
      ];
      expect(versionsAsked.length).toBeGreaterThan(1);
      expect(new Set(versionsAsked)).toEqual(new Set(['v1']));
    } finally {
      mock.restore();
    }
  });

  it('refuses a source that is not the pinned version, and creates no run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-pinned-'));
    try {
      const path = join(dir, 'goals.jsonl');
      writeFileSync(path, overwritten);
      const plan = planRun(
        {
          runId: 'plan-pinned-file',
          connectionId: 'c',
          source: { uri: path, format: 'jsonl', version: { size: uploaded.length, sha256: 'ab'.repeat(32) } },
        },
        { runs, chunks, openSource: (ref) => openGoalSource(ref) },
      );
      await expect(plan).rejects.toThrow(SourceChangedError);
      await expect(plan).rejects.toThrow(
        /not the version the execution input pins \(size \d+ -> \d+ bytes\)/,
      );
      expect(await runs.getRun('plan-pinned-file')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
