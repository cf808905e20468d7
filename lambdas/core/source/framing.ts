import { isUtf8 } from 'node:buffer';
import { likelyEncoding } from './encoding.ts';

/**
 * Byte-exact framing of a source into physical lines and records. Chunk ranges are byte offsets, so
 * the framing works on bytes (0x0A never occurs inside a multi-byte UTF-8 sequence) and only decodes
 * complete lines.
 */

/** A line longer than this is reported as one invalid record instead of being buffered. */
export const MAX_LINE_BYTES = 1024 * 1024;
/** A CSV record (quoted newlines included) longer than this is taken as an unterminated quote. */
export const MAX_CSV_RECORD_BYTES = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export interface RawLine {
  /** 1-based physical line number. */
  line: number;
  /** Decoded text without the line terminator (and without a leading BOM on the file's first line). */
  text: string;
  /** The terminator as found: kept so quoted CSV newlines survive re-joining. */
  eol: '' | '\n' | '\r\n';
  byteStart: number;
  /** Exclusive: just past the terminator. */
  byteEnd: number;
  overlong?: true;
  /** The line's bytes are not UTF-8: the encoding they most likely are (the whole source is rejected). */
  notUtf8?: string;
}

export interface RawRecord {
  line: number;
  lineCount: number;
  text: string;
  byteStart: number;
  byteEnd: number;
  /** Why the framing itself already knows this record is unusable. */
  broken?: string;
}

/** Splits a byte stream that starts at `startByte` (line `firstLine`) into lines with their byte ranges. */
export async function* splitLines(
  stream: AsyncIterable<Uint8Array>,
  startByte = 0,
  firstLine = 1,
): AsyncGenerator<RawLine> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  let offset = startByte;
  let line = firstLine;

  const emit = (parts: Buffer[], length: number, terminated: boolean): RawLine => {
    // The last piece of a line can carry it over the cap after the pending check: count it here too.
    const raw: RawLine =
      overlong || length > MAX_LINE_BYTES
        ? {
            line,
            text: '',
            eol: terminated ? '\n' : '',
            byteStart: offset,
            byteEnd: offset + length,
            overlong: true,
          }
        : {
            line,
            ...decode(parts, length, terminated, offset === 0),
            byteStart: offset,
            byteEnd: offset + length,
          };
    offset += length;
    line += 1;
    return raw;
  };

  for await (const piece of stream) {
    const chunk = Buffer.isBuffer(piece)
      ? piece
      : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    let from = 0;
    for (let at = chunk.indexOf(LF, from); at !== -1; at = chunk.indexOf(LF, from)) {
      const tail = chunk.subarray(from, at + 1);
      const length = pendingBytes + tail.length;
      yield emit(overlong ? [] : [...pending, tail], length, true);
      pending = [];
      pendingBytes = 0;
      overlong = false;
      from = at + 1;
    }
    if (from < chunk.length) {
      const rest = chunk.subarray(from);
      pendingBytes += rest.length;
      // Past the cap only the byte count is kept: memory stays flat whatever the input.
      if (pendingBytes > MAX_LINE_BYTES) {
        overlong = true;
        pending = [];
      } else {
        pending.push(rest);
      }
    }
  }
  if (pendingBytes > 0) yield emit(overlong ? [] : pending, pendingBytes, false);
}

function decode(
  parts: Buffer[],
  length: number,
  terminated: boolean,
  fileStart: boolean,
): Pick<RawLine, 'text' | 'eol' | 'notUtf8'> {
  const buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, length);
  let end = buf.length;
  let eol: RawLine['eol'] = '';
  if (terminated) {
    end -= 1;
    eol = '\n';
    if (end > 0 && buf[end - 1] === CR) {
      end -= 1;
      eol = '\r\n';
    }
  }
  const begin = fileStart && buf.subarray(0, 3).equals(BOM) ? 3 : 0;
  // toString would turn every stray byte into U+FFFD and a name into "Zo\ufffd": refuse instead.
  const body = buf.subarray(begin, end);
  if (!isUtf8(body)) return { text: '', eol, notUtf8: likelyEncoding(body) };
  return { text: buf.toString('utf8', begin, end), eol };
}

const isBlank = (text: string): boolean => text.trim() === '';

/** JSON Lines: one record per non-blank line. */
export async function* frameJsonl(lines: AsyncIterable<RawLine>): AsyncGenerator<RawRecord> {
  for await (const l of lines) {
    if (l.overlong) {
      yield { ...toRecord(l), broken: `line longer than ${MAX_LINE_BYTES} bytes` };
    } else if (!isBlank(l.text)) {
      yield toRecord(l);
    }
  }
}

/**
 * CSV: a record ends at a line end outside quotes. With RFC 4180 escaping ("" inside quotes) the
 * quote count parity tells whether a line end is inside a quoted field. An unterminated quote would
 * swallow the rest of the file, so a record is cut at MAX_CSV_RECORD_BYTES and reported broken.
 */
export async function* frameCsv(lines: AsyncIterable<RawLine>): AsyncGenerator<RawRecord> {
  let open: RawRecord | undefined;
  let inQuotes = false;
  for await (const l of lines) {
    if (l.overlong) {
      if (open) yield { ...open, broken: 'unterminated quoted field' };
      open = undefined;
      inQuotes = false;
      yield { ...toRecord(l), broken: `line longer than ${MAX_LINE_BYTES} bytes` };
      continue;
    }
    if (!open && isBlank(l.text)) continue;
    if (open) {
      open.text += l.text + l.eol;
      open.lineCount += 1;
      open.byteEnd = l.byteEnd;
    } else {
      open = { ...toRecord(l), text: l.text + l.eol };
    }
    if (countQuotes(l.text) % 2 === 1) inQuotes = !inQuotes;
    if (!inQuotes) {
      yield open;
      open = undefined;
    } else if (open.byteEnd - open.byteStart > MAX_CSV_RECORD_BYTES) {
      yield {
        ...open,
        broken: `unterminated quoted field (record longer than ${MAX_CSV_RECORD_BYTES} bytes)`,
      };
      open = undefined;
      inQuotes = false;
    }
  }
  if (open) yield { ...open, broken: 'unterminated quoted field at end of file' };
}

function toRecord(l: RawLine): RawRecord {
  return { line: l.line, lineCount: 1, text: l.text, byteStart: l.byteStart, byteEnd: l.byteEnd };
}

function countQuotes(text: string): number {
  let n = 0;
  for (let i = text.indexOf('"'); i !== -1; i = text.indexOf('"', i + 1)) n++;
  return n;
}
