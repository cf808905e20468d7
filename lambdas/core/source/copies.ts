import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { ConfigError } from '../errors.ts';
import { fileBytes } from './bytes.ts';
import type { NormalizedCopy, SourceCopyStore } from './port.ts';
import type { SourceRef } from './source-types.ts';

/**
 * Where a run's UTF-8 copy of its source lives: one object per run attempt, beside the attempt's chunk
 * list (`runs/<runId>/attempt-<n>/`), so a resume never rewrites the copy a live older attempt reads.
 */
export function copyKey(runId: string, attempt: number, format: 'jsonl' | 'csv', prefix = 'runs/'): string {
  // Run ids are `[A-Za-z0-9._-]`: only a name of dots could leave the prefix.
  if (/^\.+$/.test(runId)) throw new ConfigError(`run id ${runId} cannot name a directory`);
  return `${prefix}${runId}/attempt-${attempt}/source.${format}`;
}

/** What the copy keeps of the original's reading options (its encoding is now UTF-8). */
const copyRef = (uri: string, copy: NormalizedCopy, original: SourceRef): SourceRef => ({
  uri,
  format: copy.format,
  ...(original.delimiter ? { delimiter: original.delimiter } : {}),
});

/** The laptop's copies: files under `dir` (the state dir's object store), pinned by size + sha256. */
export function fileSourceCopies(dir: string): SourceCopyStore {
  return {
    async write(runId, attempt, copy, original) {
      const path = join(dir, copyKey(runId, attempt, copy.format));
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      // Written aside and renamed: a crash mid-copy never leaves a short file under the final name.
      const partial = `${path}.partial`;
      await pipeline(Readable.from(copy.body), createWriteStream(partial, { mode: 0o600 }));
      await rename(partial, path);
      return { ...copyRef(path, copy, original), version: await fileBytes(path).identify() };
    },
  };
}

/** S3 requires parts of at least 5 MiB (but the last); 8 MiB keeps plan-sync's memory flat. */
const PART_BYTES = 8 * 1024 * 1024;

/**
 * AWS: the copy goes to the source bucket under the run's prefix (plan-sync may write `runs/*`; the
 * chunk workers read the whole bucket). Streamed in 8 MiB parts, each a buffer so an SDK retry sends
 * the same bytes again; a copy under one part is a single PutObject. A multipart upload abandoned by a
 * crash is removed by the bucket's lifecycle rule (abort incomplete uploads after a day).
 */
export class S3SourceCopies implements SourceCopyStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix = 'runs/',
    private readonly partBytes = PART_BYTES,
  ) {}

  async write(runId: string, attempt: number, copy: NormalizedCopy, original: SourceRef): Promise<SourceRef> {
    const Key = copyKey(runId, attempt, copy.format, this.prefix);
    const Bucket = this.bucket;
    const ContentType = copy.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson';
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let size = 0;
    let uploadId: string | undefined;
    const parts: Array<{ ETag: string; PartNumber: number }> = [];
    const upload = async (body: Buffer): Promise<void> => {
      if (!uploadId) {
        const created = await this.s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType }));
        uploadId = created.UploadId;
      }
      const PartNumber = parts.length + 1;
      const out = await this.s3.send(
        new UploadPartCommand({ Bucket, Key, UploadId: uploadId, PartNumber, Body: body }),
      );
      parts.push({ ETag: out.ETag ?? '', PartNumber });
    };
    for await (const piece of copy.body) {
      const buf = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
      pending.push(buf);
      pendingBytes += buf.length;
      size += buf.length;
      while (pendingBytes >= this.partBytes) {
        const all = Buffer.concat(pending, pendingBytes);
        await upload(all.subarray(0, this.partBytes));
        pending = [all.subarray(this.partBytes)];
        pendingBytes -= this.partBytes;
      }
    }
    const rest = Buffer.concat(pending, pendingBytes);
    let written: { ETag?: string; VersionId?: string };
    if (uploadId) {
      if (rest.length > 0) await upload(rest);
      written = await this.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } else {
      written = await this.s3.send(new PutObjectCommand({ Bucket, Key, Body: rest, ContentType }));
    }
    return {
      ...copyRef(`s3://${Bucket}/${Key}`, copy, original),
      version: {
        size,
        ...(written.ETag ? { etag: written.ETag } : {}),
        ...(written.VersionId ? { versionId: written.VersionId } : {}),
      },
    };
  }
}
