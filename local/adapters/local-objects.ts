import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { ChunkRef } from '#core/source/index.ts';
import {
  type ChunkManifestWriter,
  type GoalIndexStore,
  type IndexObjects,
  ObjectGoalIndex,
} from '#core/sync/index.ts';

/** Where a Distributed Map's ItemReader gets its object: S3 in AWS, this store on the laptop. */
export interface ObjectReader {
  getObject(bucket: string, key: string): Promise<string>;
}

/**
 * The laptop's stand-in for S3 buckets: `<root>/<bucket>/<key>`. plan-sync writes its chunk lists here
 * through the same port as in AWS (ChunkManifestWriter), and the local Distributed Map's ItemReader
 * reads them back by bucket and key, as Step Functions reads the S3 object.
 */
export class LocalObjectStore implements ObjectReader {
  constructor(private readonly root: string) {}

  private pathOf(bucket: string, key: string): string {
    const base = resolve(this.root);
    const path = resolve(base, bucket, key);
    // A key is a name, never a way out of the store (`..`, an absolute path).
    if (!/^[a-z0-9.-]{3,63}$/.test(bucket) || !path.startsWith(`${base}${sep}${bucket}${sep}`)) {
      throw new Error(`not an object of this store: ${bucket}/${key}`);
    }
    return path;
  }

  async putObject(bucket: string, key: string, body: string): Promise<void> {
    const path = this.pathOf(bucket, key);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(path, body, { mode: 0o600 });
  }

  async getObject(bucket: string, key: string): Promise<string> {
    return readFile(this.pathOf(bucket, key), 'utf8');
  }
}

/** lambdas/plan-sync/s3-manifest.ts on the local store: same key layout, same JSON array. */
export class LocalChunkManifest implements ChunkManifestWriter {
  constructor(
    private readonly store: LocalObjectStore,
    private readonly bucket: string,
    private readonly prefix = 'runs/',
  ) {}

  async write(runId: string, attempt: number, chunks: ChunkRef[]): Promise<{ bucket: string; key: string }> {
    const key = `${this.prefix}${runId}/attempt-${attempt}/chunks.json`;
    await this.store.putObject(this.bucket, key, JSON.stringify(chunks));
    return { bucket: this.bucket, key };
  }
}

export const localObjectRoot = (workDir: string) => join(workDir, 'objects');

/** lambdas/core/adapters/aws/s3-goal-index.ts on the local store: same keys, same JSON. */
export function localGoalIndex(store: LocalObjectStore, bucket: string, prefix = 'runs/'): GoalIndexStore {
  return new ObjectGoalIndex(localObjects(store, bucket), prefix);
}

/** Objects of one local bucket as the core's put/get pair (undefined for a missing key), as S3 gives them. */
export function localObjects(store: LocalObjectStore, bucket: string): IndexObjects {
  return {
    put: (key, body) => store.putObject(bucket, key, body),
    get: (key) =>
      store.getObject(bucket, key).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      }),
  };
}
