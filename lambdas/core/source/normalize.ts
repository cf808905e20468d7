import { isUtf8 } from 'node:buffer';
import { InputRejectedError } from '../errors.ts';
import type { ByteSource } from './bytes.ts';
import {
  type Bom,
  bomOf,
  encodingName,
  likelyEncoding,
  notUtf8Message,
  utf16WithoutBom,
} from './encoding.ts';
import { elementsAsJsonLines, jsonArrayElements } from './json-array.ts';
import { escapeControl } from './text.ts';

/** How much of the source tells its encoding and whether a "JSON" file is an array. */
const SNIFF_BYTES = 64 * 1024;

/** What a source is, read from its first bytes and what the run was told (`encoding`). */
export interface SourceShape {
  /** WHATWG name: utf-8, utf-16le, windows-1252, ... */
  encoding: string;
  bom?: Bom;
  /** A `.json` file holding one JSON array rather than JSON Lines. */
  jsonArray: boolean;
}

/** A source the reader cannot take as it is: anything but UTF-8 JSON Lines or CSV gets a UTF-8 copy. */
export const needsCopy = (shape: SourceShape): boolean => shape.encoding !== 'utf-8' || shape.jsonArray;

export async function sniff(
  bytes: ByteSource,
  format: 'jsonl' | 'csv',
  given?: string,
): Promise<SourceShape> {
  const head = await collect(bytes.read(0, SNIFF_BYTES));
  const bom = bomOf(head);
  // A byte order mark is proof; a given encoding is a person's belief about the same bytes.
  const encoding = bom ?? (given === undefined ? 'utf-8' : encodingName(given));
  if (!bom && given === undefined) {
    const utf16 = utf16WithoutBom(head);
    if (utf16) {
      throw new InputRejectedError(
        `${escapeControl(bytes.description)} looks like ${utf16.toUpperCase()} without a byte order mark (a zero byte beside every character); name its encoding with --encoding ${utf16} (execution input "encoding") or save it as UTF-8`,
      );
    }
  }
  const text = new TextDecoder(encoding).decode(head).trimStart();
  return { encoding, ...(bom ? { bom } : {}), jsonArray: format === 'jsonl' && text.startsWith('[') };
}

/**
 * The source as UTF-8 JSON Lines or CSV, streamed: decoded with the shape's encoding (a BOM dropped),
 * and a JSON array turned into one record per line at the line each record starts on. Line breaks of
 * the text are kept, so every other line number stays the original file's.
 */
export async function* normalizedBytes(bytes: ByteSource, shape: SourceShape): AsyncGenerator<Uint8Array> {
  const text = decodeStream(bytes, shape.encoding);
  const lines = shape.jsonArray ? elementsAsJsonLines(jsonArrayElements(text)) : text;
  for await (const piece of lines) if (piece.length > 0) yield Buffer.from(piece, 'utf8');
}

async function* decodeStream(bytes: ByteSource, encoding: string): AsyncGenerator<string> {
  // UTF-8 stays strict: a stray byte would otherwise become U+FFFD in a name sent to HCM.
  const decoder = new TextDecoder(encoding, { fatal: encoding === 'utf-8' });
  let line = 1;
  for await (const piece of bytes.read(0)) {
    let text: string;
    try {
      text = decoder.decode(piece, { stream: true });
    } catch {
      const at = firstBadLine(piece);
      throw new InputRejectedError(
        notUtf8Message(bytes.description, line + at.offset, likelyEncoding(at.bytes)),
      );
    }
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) line++;
    yield text;
  }
  yield decoder.decode();
}

/** Which line of a piece holds the bytes that are not UTF-8 (lines counted from the piece's start). */
function firstBadLine(piece: Uint8Array): { offset: number; bytes: Uint8Array } {
  const buf = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
  let start = 0;
  for (let offset = 0; ; offset++) {
    const end = buf.indexOf(0x0a, start);
    const line = buf.subarray(start, end === -1 ? buf.length : end);
    if (!isUtf8(line) || end === -1) return { offset, bytes: line };
    start = end + 1;
  }
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  return Buffer.concat(parts);
}
