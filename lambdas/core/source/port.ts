import type { SourceShape } from './normalize.ts';
import type {
  ChunkRef,
  ReadChunkOptions,
  SourceEntry,
  SourcePlan,
  SourceRef,
  SourceVersion,
} from './source-types.ts';

/** A UTF-8 copy of a source the reader cannot take as it is (normalize.ts), and how to read it. */
export interface NormalizedCopy {
  format: 'jsonl' | 'csv';
  shape: SourceShape;
  body: AsyncIterable<Uint8Array>;
}

/** A goal export (local file or S3 object), read in chunks (source/). */
export interface GoalSource {
  /** The version being read now (size + sha256, or S3 ETag/VersionId), to pin at plan time. */
  identify?(): Promise<SourceVersion>;
  /** Streams the whole source once: counts, validates, finds duplicates and cuts chunks of `chunkSize` records. */
  plan(chunkSize: number): Promise<SourcePlan>;
  /** Entries of one chunk in file order; invalid records come back as `{ invalid }` so they can be counted. */
  readChunk(chunk: ChunkRef, options?: ReadChunkOptions): AsyncIterable<SourceEntry>;
  /**
   * A UTF-8 JSON Lines / CSV copy to plan and read instead, for a source that is anything else
   * (another encoding, UTF-16, a JSON array); undefined when the source can be read as it is.
   */
  normalizedCopy?(): Promise<NormalizedCopy | undefined>;
}

/**
 * Where plan-sync puts a run's UTF-8 copy of its source (S3 `runs/<runId>/attempt-<n>/` in the source
 * bucket; a directory on the laptop). Returns the copy's reference, pinned to the version written.
 */
export interface SourceCopyStore {
  write(runId: string, attempt: number, copy: NormalizedCopy, original: SourceRef): Promise<SourceRef>;
}
