import { CsvError, parse } from 'csv-parse/sync';
import { ConfigError, InputRejectedError } from '../errors.ts';
import type { RawRecord } from './framing.ts';
import { GOAL_FIELDS, keyOf, REQUIRED_GOAL_FIELDS, validateGoalRecord } from './schema.ts';
import type { SourceEntry } from './source-types.ts';
import { didYouMean, escapeControl } from './text.ts';

/** CSV columns holding numbers: CSV has no types, so these are cast before validation. */
const NUMERIC_COLUMNS = new Set(['goalPlanId', 'reviewPeriodId', 'weight', 'percentComplete']);
const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

export type RecordDecoder = (raw: RawRecord) => SourceEntry;

export function jsonlDecoder(): RecordDecoder {
  return (raw) => {
    if (raw.broken) return invalid(raw.line, raw.broken);
    let value: unknown;
    try {
      value = JSON.parse(raw.text);
    } catch (err) {
      return invalid(raw.line, jsonProblem(err as Error));
    }
    return validated(raw.line, value);
  };
}

/** The separators spreadsheet exports use: comma, semicolon (locales with a decimal comma), tab. */
export const CSV_DELIMITERS = [',', ';', '\t'] as const;
export type CsvDelimiter = (typeof CSV_DELIMITERS)[number];

const DELIMITER_NAMES: Record<string, CsvDelimiter> = {
  ',': ',',
  comma: ',',
  ';': ';',
  semicolon: ';',
  '\t': '\t',
  '\\t': '\t',
  tab: '\t',
};

/** `--delimiter` / execution input `delimiter`: the character, or its name (a tab is hard to type). */
export function parseDelimiter(raw: string): CsvDelimiter {
  const d = DELIMITER_NAMES[raw.toLowerCase()];
  if (!d)
    throw new ConfigError(
      `delimiter must be comma, semicolon or tab (',' ';' '\\t'), got '${escapeControl(raw.slice(0, 10))}'`,
    );
  return d;
}

/**
 * The separator a header row uses: the one that splits it into the required columns, else the one
 * that splits it most (the header check then names what is missing), else a comma.
 */
export function detectDelimiter(header: string): CsvDelimiter {
  let best: { d: CsvDelimiter; fields: number } = { d: ',', fields: 1 };
  for (const d of CSV_DELIMITERS) {
    const fields = parseCsvFields(header, d);
    if (typeof fields === 'string') continue;
    const names = new Set(fields.map((f) => f.trim()));
    if (REQUIRED_GOAL_FIELDS.every((name) => names.has(name))) return d;
    if (fields.length > best.fields) best = { d, fields: fields.length };
  }
  return best.d;
}

/** Parses the CSV header record into column names. */
export function parseCsvHeader(
  raw: RawRecord,
  source = 'the source',
  delimiter: CsvDelimiter = ',',
): string[] {
  const fields = parseCsvFields(raw.text, delimiter);
  if (typeof fields === 'string') {
    throw new InputRejectedError(
      `CSV header of ${escapeControl(source)} (line ${raw.line}): ${escapeControl(fields)}`,
    );
  }
  return fields.map((name) => name.trim());
}

/**
 * Checks the header once, for the whole file: a header that lacks a required column would make every
 * record invalid with the same reason, so the file is rejected naming the missing and unknown columns.
 * Unknown columns alone are fine (exports carry extra columns; the mapping ignores them).
 */
export function checkCsvHeader(columns: readonly string[], source: string): void {
  const where = escapeControl(source);
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column))
      throw new InputRejectedError(`CSV header of ${where}: column ${escapeControl(column)} appears twice`);
    seen.add(column);
  }
  const missing = REQUIRED_GOAL_FIELDS.filter((name) => !seen.has(name));
  if (missing.length === 0) return;
  const unknown = columns.filter((c) => !GOAL_FIELDS.includes(c));
  const unknownText =
    unknown.length === 0
      ? ''
      : `; unknown columns: ${unknown
          .slice(0, 10)
          .map((c) => `${escapeControl(c.slice(0, 60))}${didYouMean(c, missing)}`)
          .join(', ')}`;
  throw new InputRejectedError(
    `CSV header of ${where}: missing required columns: ${missing.join(', ')}${unknownText}`,
  );
}

export function csvDecoder(columns: readonly string[], delimiter: CsvDelimiter = ','): RecordDecoder {
  return (raw) => {
    if (raw.broken) return invalid(raw.line, raw.broken);
    const fields = parseCsvFields(raw.text, delimiter);
    if (typeof fields === 'string') return invalid(raw.line, `invalid CSV: ${fields}`);
    if (fields.length !== columns.length) {
      // The key is still worth reporting when its column is there.
      const key = keyOf({ externalKey: fields[columns.indexOf('externalKey')] });
      return invalid(raw.line, `invalid CSV: expected ${columns.length} fields, got ${fields.length}`, key);
    }
    const value: Record<string, string | number> = {};
    columns.forEach((column, i) => {
      const field = fields[i]!;
      // An empty cell is an absent optional field, not an empty string.
      if (field === '') return;
      value[column] = NUMERIC_COLUMNS.has(column) && NUMBER_RE.test(field.trim()) ? Number(field) : field;
    });
    return validated(raw.line, value);
  };
}

/** The fields of one CSV record, or the reason it cannot be parsed. */
function parseCsvFields(text: string, delimiter: CsvDelimiter = ','): string[] | string {
  try {
    const rows = parse(text, { relax_column_count: true, delimiter }) as string[][];
    if (rows.length !== 1) return `expected one record, found ${rows.length}`;
    return rows[0]!;
  } catch (err) {
    if (err instanceof CsvError) return err.message.replace(/\s+at line \d+/, '');
    throw err;
  }
}

function validated(line: number, value: unknown): SourceEntry {
  const result = validateGoalRecord(value);
  if (result.ok) return { line, record: result.record };
  return invalid(line, result.reason, keyOf(value));
}

/**
 * What is wrong with a line that is not JSON, without quoting it: V8's messages echo a slice of the
 * input ("Unexpected token 'x', "\u0007garbage"... is not valid JSON"), and a record's content belongs
 * neither in a report nor on a terminal.
 */
export function jsonProblem(err: Error): string {
  const message = err.message;
  if (/unexpected end|unterminated/i.test(message)) return 'invalid JSON: the line ends inside a value';
  const at = /position (\d+)/.exec(message);
  const where = at ? ` at character ${Number(at[1]) + 1}` : '';
  if (/bad control character/i.test(message))
    return `invalid JSON: control character inside a string${where}`;
  if (/unexpected (token|non-whitespace|character)/i.test(message)) {
    return `invalid JSON: unexpected character${where}`;
  }
  return `invalid JSON: syntax error${where}`;
}

export function invalid(line: number, reason: string, key?: string): SourceEntry {
  // Reasons can carry parser text about the input: never let raw control bytes through.
  const safe = escapeControl(reason);
  return { line, invalid: key === undefined ? { line, reason: safe } : { key, line, reason: safe } };
}
