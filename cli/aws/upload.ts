import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SourceVersion } from '#core/source/index.ts';
import { escapeControl } from '#core/source/index.ts';
import { UPLOAD_PREFIX } from '../../lambdas/core/adapters/aws/aws-calls.ts';
import { CliUsageError } from './cli.ts';

/**
 * `goal-sync start --upload FILE`: the file goes to `uploads/<runId>/<name>` in the stack's source
 * bucket, the only prefix the OPERATOR policy may write (not the nightly key, not runs/ manifests).
 * One key per run: an upload never replaces the file another run reads.
 */
export { UPLOAD_PREFIX };

/**
 * The file is sent as one buffered PutObject, so an SDK retry re-sends the same bytes (a consumed
 * stream cannot be replayed). 512 MiB is ~1.7 million goals; beyond it `aws s3 cp` (multipart) fits.
 */
export const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;

/** Checks the file before anything is started; returns its size. */
export async function checkUploadFile(path: string): Promise<number> {
  const shown = escapeControl(path);
  if (/^[a-z0-9]+:\/\//i.test(path)) {
    throw new CliUsageError(`--upload takes a file on this machine; for ${shown} use --source`);
  }
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new CliUsageError(`--upload ${shown}: cannot read it (${err.code ?? 'error'})`, false);
  });
  if (!info.isFile()) throw new CliUsageError(`--upload ${shown}: not a file`, false);
  if (info.size === 0)
    throw new CliUsageError(`--upload ${shown}: the file is empty, nothing to sync`, false);
  if (info.size > MAX_UPLOAD_BYTES) {
    throw new CliUsageError(
      `--upload ${shown}: ${info.size} bytes is over ${MAX_UPLOAD_BYTES}; upload it with 'aws s3 cp' (multipart) and pass --source s3://...`,
    );
  }
  return info.size;
}

/** `uploads/<runId>/<file name>`, the name reduced to characters that need no escaping anywhere. */
export function uploadKey(runId: string, path: string): string {
  const name = basename(path).replace(/[^A-Za-z0-9._-]/g, '_');
  return `${UPLOAD_PREFIX}${runId}/${name}`;
}

export interface Uploaded {
  uri: string;
  /** What plan-sync pins: the VersionId the write created (the bucket is versioned), else its ETag. */
  version: SourceVersion;
}

export async function uploadSource(
  s3: S3Client,
  bucket: string,
  key: string,
  path: string,
  format: 'jsonl' | 'csv',
): Promise<Uploaded> {
  const body = await readFile(path);
  const res = await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentLength: body.length,
      ContentType: format === 'csv' ? 'text/csv' : 'application/x-ndjson',
    }),
  );
  return {
    uri: `s3://${bucket}/${key}`,
    version: {
      size: body.length,
      ...(res.ETag ? { etag: res.ETag } : {}),
      ...(res.VersionId ? { versionId: res.VersionId } : {}),
    },
  };
}
