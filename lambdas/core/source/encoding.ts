import { ConfigError } from '../errors.ts';
import { escapeControl } from './text.ts';

/**
 * What a source's bytes are, as far as the first bytes tell. The reader itself only reads UTF-8 (chunk
 * ranges are byte offsets, and 0x0A is a line end only in ASCII-compatible encodings); anything else is
 * turned into a UTF-8 copy at plan time (normalize.ts), or rejected when nobody said what it is.
 */
export type Bom = 'utf-8' | 'utf-16le' | 'utf-16be';

export function bomOf(head: Uint8Array): Bom | undefined {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8';
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  return undefined;
}

/**
 * The WHATWG name of an encoding label (`latin1` and `iso-8859-1` are windows-1252 there, as in every
 * browser), or a ConfigError. Node's TextDecoder carries full ICU, so the Windows and ISO code pages an
 * HR system exports in are all known.
 */
export function encodingName(label: string): string {
  try {
    return new TextDecoder(label.trim()).encoding;
  } catch {
    throw new ConfigError(
      `encoding '${escapeControl(label.slice(0, 40))}' is not one this reader knows; e.g. utf-8, windows-1252, latin1, iso-8859-15, windows-1250, utf-16le`,
    );
  }
}

/**
 * UTF-16 without a BOM is valid UTF-8 as far as bytes go (ASCII text with a NUL after every
 * character), so it is told by the NULs: text exports have none, UTF-16 has one in every other byte.
 */
export function utf16WithoutBom(head: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  const pairs = Math.floor(Math.min(head.length, 4096) / 2);
  if (pairs < 2) return undefined;
  let evenZeros = 0;
  let oddZeros = 0;
  for (let i = 0; i < pairs; i++) {
    if (head[2 * i] === 0) evenZeros++;
    if (head[2 * i + 1] === 0) oddZeros++;
  }
  if (oddZeros > pairs * 0.3 && evenZeros < pairs * 0.05) return 'utf-16le';
  if (evenZeros > pairs * 0.3 && oddZeros < pairs * 0.05) return 'utf-16be';
  return undefined;
}

/** The encoding a line that is not UTF-8 most likely is: its label, then why, for a person to act on. */
export function likelyEncoding(line: Uint8Array): string {
  const zeros = line.filter((b) => b === 0).length;
  if (zeros > line.length * 0.3) return 'utf-16le|UTF-16 without a byte order mark';
  return `windows-1252|windows-1252 (latin1), what Excel's "CSV (Comma delimited)" writes on Western-European Windows`;
}

export function notUtf8Message(source: string, line: number, guess: string): string {
  const [label, why] = guess.split('|');
  return `${escapeControl(source)} is not UTF-8: line ${line} has bytes that are not UTF-8, likely ${why}. Save it as UTF-8 (Excel: "CSV UTF-8 (Comma delimited)"), or say what it is: --encoding ${label} (execution input "encoding": "${label}")`;
}
