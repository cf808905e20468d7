import { MAX_LINE_BYTES } from './framing.ts';

/**
 * A JSON array file (`[{...}, {...}]`, what many tools call "JSON export") read as records, streamed:
 * the text is scanned once for the array's top-level elements (strings, escapes and nesting tracked),
 * so memory holds one element at a time, never the file. Each element is handed on with the line it
 * starts on, on one line (line breaks outside strings are whitespace; a raw one inside a string is
 * invalid JSON either way and becomes a tab, which keeps it invalid and on its line).
 */
export interface ArrayElement {
  /** 1-based line of the element's first character in the original file. */
  line: number;
  text: string;
}

/** What the scanner found that is not an array at all: reported once, as the file's first record. */
const NOT_AN_ARRAY = 'the file is not a JSON array';

/** What ends a run of ordinary characters, outside and inside a string. */
const SPECIAL_OUTSIDE = /["{}[\],\r\n]/g;
const SPECIAL_INSIDE = /["\\\r\n]/g;

export async function* jsonArrayElements(text: AsyncIterable<string>): AsyncGenerator<ArrayElement> {
  let state: 'before' | 'between' | 'element' | 'after' = 'before';
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let current = '';
  let currentLine = 1;
  let overlong = false;

  const finish = (): ArrayElement => {
    const element = { line: currentLine, text: overlong ? 'x'.repeat(MAX_LINE_BYTES + 1) : current };
    current = '';
    overlong = false;
    return element;
  };
  const append = (t: string): void => {
    if (overlong) return;
    current += t;
    if (current.length > MAX_LINE_BYTES) overlong = true;
  };

  for await (const piece of text) {
    let i = 0;
    while (i < piece.length) {
      if (state === 'element') {
        if (escaped) {
          // The character after a backslash is taken as it is (a line break stays invalid JSON).
          const c = piece[i]!;
          append(c === '\n' || c === '\r' ? '\t' : c);
          if (c === '\n') line++;
          escaped = false;
          i++;
          continue;
        }
        // A run of ordinary characters is copied in one slice: the scan is per run, not per character.
        const special = inString ? SPECIAL_INSIDE : SPECIAL_OUTSIDE;
        special.lastIndex = i;
        const found = special.exec(piece);
        const at = found ? found.index : piece.length;
        if (at > i) append(piece.slice(i, at));
        i = at;
        if (!found) break;
        const c = piece[i]!;
        i++;
        if (c === '\n' || c === '\r') {
          if (c === '\n') line++;
          // Whitespace between tokens; inside a string it is invalid JSON either way and stays so as a tab.
          append(inString ? '\t' : ' ');
        } else if (inString) {
          if (c === '\\') escaped = true;
          else inString = false;
          append(c);
        } else if (c === '"') {
          inString = true;
          append(c);
        } else if (c === '{' || c === '[') {
          depth++;
          append(c);
        } else if (depth > 0 && (c === '}' || c === ']')) {
          depth--;
          append(c);
        } else if (depth === 0 && (c === ',' || c === ']')) {
          yield finish();
          state = c === ']' ? 'after' : 'between';
        } else {
          // A stray closing bracket at depth 0: part of a broken element, which JSON.parse names.
          append(c);
        }
        continue;
      }
      const c = piece[i]!;
      i++;
      if (c === '\n') line++;
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
      if (state === 'before') {
        if (c !== '[') {
          yield { line, text: `"${NOT_AN_ARRAY}"` };
          return;
        }
        state = 'between';
      } else if (state === 'between') {
        if (c === ']') state = 'after';
        else if (c !== ',') {
          state = 'element';
          currentLine = line;
          depth = 0;
          inString = false;
          escaped = false;
          i--;
        }
      } else {
        yield { line, text: 'text after the end of the JSON array' };
        return;
      }
    }
  }
  // The file ended inside an element: it is cut off, and JSON.parse says so for its record.
  if (state === 'element') yield finish();
}

/**
 * JSON Lines text from the elements: each on the line it started on in the original file, so a reason
 * "line 12" points where the person looks. Elements that share a line (a compact array) go on the
 * following lines, in order.
 */
export async function* elementsAsJsonLines(elements: AsyncIterable<ArrayElement>): AsyncGenerator<string> {
  let line = 1;
  let first = true;
  for await (const e of elements) {
    const target = Math.max(e.line, first ? 1 : line + 1);
    yield `${first ? '' : '\n'}${'\n'.repeat(target - line - (first ? 0 : 1))}${e.text}`;
    line = target;
    first = false;
  }
  if (!first) yield '\n';
}
