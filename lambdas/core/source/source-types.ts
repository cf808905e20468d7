import type { GoalRecord } from './schema.ts';

/** Where the goals come from. `uri`: a plain path, `file://...` or `s3://bucket/key`. */
export interface SourceRef {
  uri: string;
  format: 'jsonl' | 'csv';
  /** Pinned at plan time (invariant 8): every read of the run must see exactly this version. */
  version?: SourceVersion;
  /**
   * What the bytes are when they are not UTF-8 and carry no BOM (`windows-1252`, `latin1`, ...): such a
   * source is read through a UTF-8 copy made at plan time. Absent: UTF-8, or what a BOM says.
   */
  encoding?: string;
  /** CSV separator; absent: detected from the header row (comma, semicolon or tab). */
  delimiter?: ',' | ';' | '\t';
}

/** What identifies one version of a source: S3 VersionId/ETag, or size + sha256 of a file. */
export interface SourceVersion {
  size: number;
  sha256?: string;
  etag?: string;
  versionId?: string;
}

/**
 * A slice of the source aligned to record boundaries: small enough for a Step Functions state payload.
 * For CSV the header is not inside any range; readChunk reads it separately.
 */
export interface ChunkRef {
  index: number;
  byteStart: number;
  /** Exclusive. */
  byteEnd: number;
  /** 1-based physical line number of the first line in the range (may be a blank line). */
  firstLine: number;
  /** Physical lines in the range (blank lines and the lines of multi-line CSV records included). */
  lineCount: number;
  /** Records (valid + invalid) in the range. */
  recordCount?: number;
  /**
   * Records in this range that are only invalid because of another record elsewhere in the file
   * (duplicate external key or natural key), found by plan(). readChunk marks them invalid with the
   * same reason, so a worker never needs the whole file. Absent when there are none.
   */
  duplicates?: DuplicateRef[];
}

export interface DuplicateRef {
  line: number;
  reason: string;
}

export interface InvalidRecord {
  key?: string;
  line: number;
  reason: string;
}

export type SourceEntry = { line: number; record: GoalRecord } | { line: number; invalid: InvalidRecord };

export interface SourcePlan {
  /** Records seen (valid + invalid); blank lines are not records. */
  totalRecords: number;
  validRecords: number;
  invalid: InvalidRecord[];
  chunks: ChunkRef[];
  /** Size of the source in bytes. */
  bytes: number;
  /** The goal plans the valid records name (what the plan-wide read pages through). */
  goalPlanIds?: number[];
}

export interface ReadChunkOptions {
  /**
   * Extra lines to report as invalid (line -> reason), e.g. plan().invalid re-applied by a caller that
   * built its own ChunkRefs. chunk.duplicates is applied in any case.
   */
  invalidLines?: ReadonlyMap<number, string>;
}
