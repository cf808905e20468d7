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
  const append = (c: string): void => {
    if (overlong) return;
    current += c;
    if (current.length > MAX_LINE_BYTES) overlong = true;
  };

  for await (const piece of text) {
    for (let i = 0; i < piece.length; i++) {
      const c = piece[i]!;
      if (state === 'element') {
        if (inString) {
          if (escaped) escaped = false;
          else if (c === '\\') escaped = true;
          else if (c === '"') inString = false;
          append(c === '\n' || c === '\r' ? '\t' : c);
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
          append(c === '\n' || c === '\r' ? ' ' : c);
        }
      } else if (!/\s/.test(c)) {
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
        } else if (state === 'after') {
          yield { line, text: 'text after the end of the JSON array' };
          return;
        }
      }
      if (c === '\n') line++;
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
