import { ConfigError, InputRejectedError } from '../errors.ts';
import type { ByteSource } from './bytes.ts';
import {
  type CsvDelimiter,
  checkCsvHeader,
  csvDecoder,
  detectDelimiter,
  invalid,
  jsonlDecoder,
  parseCsvHeader,
  type RecordDecoder,
} from './decode.ts';
import { notUtf8Message } from './encoding.ts';
import { frameCsv, frameJsonl, type RawLine, type RawRecord, splitLines } from './framing.ts';
import { needsCopy, normalizedBytes, type SourceShape, sniff } from './normalize.ts';
import type { GoalSource, NormalizedCopy } from './port.ts';
import type { GoalRecord } from './schema.ts';
import type {
  ChunkRef,
  InvalidRecord,
  ReadChunkOptions,
  SourceEntry,
  SourcePlan,
  SourceVersion,
} from './source-types.ts';
import { escapeControl } from './text.ts';

/** The CSV header is read in slices of this size until its record ends. */
const HEADER_PROBE_BYTES = 64 * 1024;

interface Header {
  columns: string[];
  delimiter: CsvDelimiter;
  /** Where the data starts: byte offset and line number after the header record. */
  byteEnd: number;
  nextLine: number;
}

/**
 * Duplicate detection keys. A repeated external key would make two records fight over one checkpoint;
 * a repeated natural key (person, plan, goal name) would make two records update one HCM goal in turn.
 * The first occurrence wins; later ones are invalid "duplicate of line N".
 */
class DuplicateIndex {
  private readonly seen = new Map<string, number>();

  check(record: GoalRecord, line: number): string | undefined {
    const ext = `x\u0000${record.externalKey}`;
    const nat = `n\u0000${record.personNumber}\u0000${record.goalPlanId}\u0000${record.goalName}`;
    const extLine = this.seen.get(ext);
    if (extLine !== undefined) return `externalKey: duplicate of line ${extLine}`;
    const natLine = this.seen.get(nat);
    if (natLine !== undefined) {
      return `goalName: duplicate of line ${natLine} (same personNumber, goalPlanId and goalName)`;
    }
    this.seen.set(ext, line);
    this.seen.set(nat, line);
    return undefined;
  }
}

export interface SourceReadOptions {
  /** SourceRef.encoding: what the bytes are when not UTF-8 (then only a copy can be read). */
  encoding?: string;
  /** SourceRef.delimiter: the CSV separator, else detected from the header. */
  delimiter?: CsvDelimiter;
}

/** JSON Lines or CSV over a ByteSource, streamed: memory does not grow with the file, only with the key index. */
export class StreamingGoalSource implements GoalSource {
  private header: Promise<Header> | undefined;
  private sniffed: Promise<SourceShape> | undefined;

  constructor(
    private readonly bytes: ByteSource,
    private readonly format: 'jsonl' | 'csv',
    private readonly options: SourceReadOptions = {},
  ) {}

  identify(): Promise<SourceVersion> {
    return this.bytes.identify();
  }

  /** Encoding and layout, from the first bytes (and a UTF-16 file without a BOM rejected). */
  shape(): Promise<SourceShape> {
    // A failed read (a throttled S3 GET) is not remembered: the next call tries again.
    this.sniffed ??= sniff(this.bytes, this.format, this.options.encoding).catch((err: unknown) => {
      this.sniffed = undefined;
      throw err;
    });
    return this.sniffed;
  }

  /**
   * The UTF-8 JSON Lines or CSV copy to plan and read instead, when this source is anything else
   * (another encoding, UTF-16, a JSON array); undefined when it can be read as it is.
   */
  async normalizedCopy(): Promise<NormalizedCopy | undefined> {
    const shape = await this.shape();
    if (!needsCopy(shape)) return undefined;
    return { format: this.format, shape, body: normalizedBytes(this.bytes, shape) };
  }

  async plan(chunkSize: number): Promise<SourcePlan> {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) {
      throw new ConfigError(`chunk size must be a positive integer, got ${chunkSize}`);
    }
    if (needsCopy(await this.shape())) {
      throw new ConfigError(
        `${escapeControl(this.bytes.description)} is not UTF-8 JSON Lines or CSV: plan its normalizedCopy() instead`,
      );
    }
    const start = await this.dataStart();
    const decode = await this.decoder();
    const dupes = new DuplicateIndex();
    const invalidRecords: InvalidRecord[] = [];
    const chunks: ChunkRef[] = [];
    let validRecords = 0;
    let totalRecords = 0;
    const goalPlanIds = new Set<number>();
    let open: ChunkRef | undefined;
    let last: RawRecord | undefined;
    let bytes = start.byteEnd;

    const trackSize = (end: number): void => {
      bytes = end;
    };
    for await (const raw of this.records(start.byteEnd, start.nextLine, undefined, trackSize)) {
      const { entry, duplicate } = checked(decode(raw), dupes);
      totalRecords += 1;
      if ('record' in entry) {
        validRecords += 1;
        goalPlanIds.add(entry.record.goalPlanId);
      } else invalidRecords.push(entry.invalid);
      // A chunk starts right after the previous one, so blank lines between records belong to a chunk too.
      open ??= {
        index: chunks.length,
        byteStart: last ? last.byteEnd : start.byteEnd,
        byteEnd: 0,
        firstLine: last ? last.line + last.lineCount : start.nextLine,
        lineCount: 0,
        recordCount: 0,
      };
      open.recordCount = (open.recordCount ?? 0) + 1;
      if (duplicate && 'invalid' in entry) {
        open.duplicates ??= [];
        open.duplicates.push({ line: entry.line, reason: entry.invalid.reason });
      }
      last = raw;
      if (open.recordCount === chunkSize) {
        chunks.push(closeChunk(open, raw));
        open = undefined;
      }
    }
    if (open && last) chunks.push(closeChunk(open, last));
    return {
      totalRecords,
      validRecords,
      invalid: invalidRecords,
      chunks,
      bytes,
      goalPlanIds: [...goalPlanIds].sort((a, b) => a - b),
    };
  }

  async *readChunk(chunk: ChunkRef, options: ReadChunkOptions = {}): AsyncGenerator<SourceEntry> {
    const decode = await this.decoder();
    const known = new Map<number, string>(options.invalidLines ?? []);
    for (const d of chunk.duplicates ?? []) known.set(d.line, d.reason);
    // Duplicates inside the chunk are recomputed too, so a hand-made ChunkRef without `duplicates`
    // is still consistent within itself; cross-chunk duplicates need plan()'s `duplicates`.
    const dupes = new DuplicateIndex();
    for await (const raw of this.records(chunk.byteStart, chunk.firstLine, chunk.byteEnd)) {
      const entry = decode(raw);
      const reason = known.get(raw.line);
      if (reason === undefined) {
        yield checked(entry, dupes).entry;
      } else {
        yield invalid(raw.line, reason, 'record' in entry ? entry.record.externalKey : entry.invalid.key);
      }
    }
  }

  private records(
    start: number,
    firstLine: number,
    endExclusive?: number,
    onEnd?: (byteEnd: number) => void,
  ): AsyncGenerator<RawRecord> {
    const lines = trackEnd(
      utf8Only(splitLines(this.bytes.read(start, endExclusive), start, firstLine), this.bytes.description),
      onEnd,
    );
    return this.format === 'csv' ? frameCsv(lines) : frameJsonl(lines);
  }

  private async decoder(): Promise<RecordDecoder> {
    if (this.format === 'jsonl') return jsonlDecoder();
    const header = await this.readHeader();
    return csvDecoder(header.columns, header.delimiter);
  }

  private async dataStart(): Promise<Pick<Header, 'byteEnd' | 'nextLine'>> {
    if (this.format === 'jsonl') return { byteEnd: 0, nextLine: 1 };
    return this.readHeader();
  }

  /** The first CSV record, read by itself in growing ranges (a chunk range never contains it). */
  private readHeader(): Promise<Header> {
    this.header ??= (async () => {
      for (let probe = HEADER_PROBE_BYTES; ; probe *= 4) {
        let header: RawRecord | undefined;
        const lines = utf8Only(splitLines(this.bytes.read(0, probe)), this.bytes.description);
        for await (const raw of frameCsv(lines)) {
          header = raw;
          break;
        }
        // An empty file is an empty source, not an error.
        if (!header) return { columns: [], delimiter: ',', byteEnd: 0, nextLine: 1 };
        // A record that runs into the probe's end without a line end may be cut: read more.
        if (header.byteEnd >= probe && !header.text.endsWith('\n')) continue;
        if (header.broken) {
          throw new InputRejectedError(
            `CSV header of ${escapeControl(this.bytes.description)}: ${header.broken}`,
          );
        }
        const delimiter = this.options.delimiter ?? detectDelimiter(header.text);
        const columns = parseCsvHeader(header, this.bytes.description, delimiter);
        checkCsvHeader(columns, this.bytes.description);
        return {
          columns,
          delimiter,
          byteEnd: header.byteEnd,
          nextLine: header.line + header.lineCount,
        };
      }
    })();
    return this.header;
  }
}

function closeChunk(chunk: ChunkRef, lastRecord: RawRecord): ChunkRef {
  chunk.byteEnd = lastRecord.byteEnd;
  chunk.lineCount = lastRecord.line + lastRecord.lineCount - chunk.firstLine;
  return chunk;
}

function checked(entry: SourceEntry, dupes: DuplicateIndex): { entry: SourceEntry; duplicate: boolean } {
  if (!('record' in entry)) return { entry, duplicate: false };
  const reason = dupes.check(entry.record, entry.line);
  if (reason === undefined) return { entry, duplicate: false };
  return { entry: invalid(entry.line, reason, entry.record.externalKey), duplicate: true };
}

/** The first line that is not UTF-8 rejects the whole source: its names would reach HCM garbled. */
async function* utf8Only(lines: AsyncIterable<RawLine>, source: string): AsyncGenerator<RawLine> {
  for await (const l of lines) {
    if (l.notUtf8) throw new InputRejectedError(notUtf8Message(source, l.line, l.notUtf8));
    yield l;
  }
}

/** Reports each line's end offset (the last one is the source size) while passing lines through. */
async function* trackEnd<T extends { byteEnd: number }>(
  lines: AsyncIterable<T>,
  onEnd?: (byteEnd: number) => void,
): AsyncGenerator<T> {
  for await (const line of lines) {
    onEnd?.(line.byteEnd);
    yield line;
  }
}
