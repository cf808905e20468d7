import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ConfigError, TransientError } from '../errors.ts';

/** Random access to the bytes of a source: a local file or an S3 object, always streamed. */
export interface ByteSource {
  readonly description: string;
  /** Bytes [start, endExclusive) or [start, EOF) when endExclusive is absent. */
  read(start: number, endExclusive?: number): AsyncIterable<Uint8Array>;
}

export function fileBytes(path: string): ByteSource {
  return {
    description: path,
    async *read(start, endExclusive) {
      if (endExclusive !== undefined && endExclusive <= start) return;
      // Opening lazily would turn ENOENT into an 'error' event mid-iteration; check first for a clear error.
      await stat(path).catch((err: unknown) => {
        throw new ConfigError(
          `goal source ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`,
        );
      });
      const end = endExclusive === undefined ? undefined : endExclusive - 1;
      yield* createReadStream(path, { start, end, highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>;
    },
  };
}

export function s3Bytes(s3: S3Client, bucket: string, key: string): ByteSource {
  const description = `s3://${bucket}/${key}`;
  return {
    description,
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
        const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
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
