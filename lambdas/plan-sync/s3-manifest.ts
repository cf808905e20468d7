import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ChunkRef } from '#core/source/index.ts';
import type { ChunkManifestWriter } from '#core/sync/index.ts';

/**
 * The chunk list as a JSON array in S3, the input a Distributed Map's S3JsonItemReader expects. One
 * object per run attempt, so a resume never reads a list that a concurrent plan is rewriting.
 */
export class S3ChunkManifest implements ChunkManifestWriter {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix = 'runs/',
  ) {}

  async write(runId: string, attempt: number, chunks: ChunkRef[]): Promise<{ bucket: string; key: string }> {
    const key = `${this.prefix}${runId}/attempt-${attempt}/chunks.json`;
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: JSON.stringify(chunks),
        ContentType: 'application/json',
      }),
    );
    return { bucket: this.bucket, key };
  }
}
