import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ConfigError, SourceChangedError, TransientError } from '../errors.ts';
import type { SourceVersion } from './source-types.ts';

/** Random access to the bytes of a source: a local file or an S3 object, always streamed. */
export interface ByteSource {
  readonly description: string;
  /** Bytes [start, endExclusive) or [start, EOF) when endExclusive is absent. */
  read(start: number, endExclusive?: number): AsyncIterable<Uint8Array>;
  /** The version there is now. */
  identify(): Promise<SourceVersion>;
}

/**
 * A local file. With `pinned`, every read first checks the size (cheap); plan and resume compare the
 * sha256 too (planRun), so a file replaced under a run is refused instead of half-synced.
 */
export function fileBytes(path: string, pinned?: SourceVersion): ByteSource {
  const statOrThrow = () =>
    stat(path).catch((err: unknown) => {
      throw new ConfigError(
        `goal source ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
    });
  return {
    description: path,
    async identify() {
      const { size } = await statOrThrow();
      const hash = createHash('sha256');
      for await (const piece of createReadStream(path, { highWaterMark: 256 * 1024 }))
        hash.update(piece as Buffer);
      return { size, sha256: hash.digest('hex') };
    },
    async *read(start, endExclusive) {
      if (endExclusive !== undefined && endExclusive <= start) return;
      // Opening lazily would turn ENOENT into an 'error' event mid-iteration; check first for a clear error.
      const { size } = await statOrThrow();
      if (pinned && size !== pinned.size) {
        throw new SourceChangedError(`${path} is ${size} bytes, the plan read ${pinned.size}`);
      }
      const end = endExclusive === undefined ? undefined : endExclusive - 1;
      yield* createReadStream(path, { start, end, highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>;
    },
  };
}

/**
 * An S3 object. With `pinned`, reads name the VersionId (versioned bucket) or require the ETag
 * (If-Match), so a replaced object answers 412 instead of other bytes.
 */
export function s3Bytes(s3: S3Client, bucket: string, key: string, pinned?: SourceVersion): ByteSource {
  const description = `s3://${bucket}/${key}`;
  const pin = pinned?.versionId
    ? { VersionId: pinned.versionId }
    : pinned?.etag
      ? { IfMatch: pinned.etag }
      : {};
  return {
    description,
    async identify() {
      try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...pin }));
        return {
          size: head.ContentLength ?? 0,
          ...(head.ETag ? { etag: head.ETag } : {}),
          ...(head.VersionId ? { versionId: head.VersionId } : {}),
        };
      } catch (err) {
        throw classifyS3Error(err, description);
      }
    },
    async *read(start, endExclusive) {
      if (endExclusive !== undefined && endExclusive <= start) return;
      // HTTP ranges are inclusive; an open range from 0 is just the whole object (no Range header, so an
      // empty object does not answer 416).
      const range =
        endExclusive !== undefined
          ? `bytes=${start}-${endExclusive - 1}`
          : start > 0
            ? `bytes=${start}-`
            : undefined;
      let body: AsyncIterable<Uint8Array>;
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range, ...pin }));
        if (!out.Body) throw new TransientError(`${description} answered without a body`);
        // In Node the SDK body is an IncomingMessage (an async iterable of Buffers).
        body = out.Body as unknown as AsyncIterable<Uint8Array>;
      } catch (err) {
        throw classifyS3Error(err, description);
      }
      try {
        yield* body;
      } catch (err) {
        throw new TransientError(`reading ${description} failed mid-stream`, undefined, { cause: err });
      }
    },
  };
}

const MISSING = new Set([
  'NoSuchKey',
  'NoSuchBucket',
  'NotFound',
  'AccessDenied',
  'InvalidRange',
  'InvalidBucketName',
]);

function classifyS3Error(err: unknown, description: string): Error {
  if (err instanceof TransientError || err instanceof ConfigError) return err;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = e.$metadata?.httpStatusCode;
  if (status === 412 || e.name === 'PreconditionFailed') {
    return new SourceChangedError(`${description} was replaced since the plan (ETag no longer matches)`);
  }
  if (e.name && MISSING.has(e.name)) {
    return new ConfigError(`goal source ${description} cannot be read: ${e.name}`);
  }
  if (e.$retryable || status === undefined || status >= 500 || status === 429) {
    return new TransientError(`goal source ${description}: ${e.name ?? 'error'}`, undefined, {
      cause: err,
      status,
    });
  }
  return new ConfigError(`goal source ${description} cannot be read: ${e.name ?? status}`);
}
