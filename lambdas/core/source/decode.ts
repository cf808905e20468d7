import { CsvError, parse } from 'csv-parse/sync';
import type { RawRecord } from './framing.ts';
import { keyOf, validateGoalRecord } from './schema.ts';
import type { SourceEntry } from './types.ts';

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
      return invalid(raw.line, `invalid JSON: ${(err as Error).message}`);
    }
    return validated(raw.line, value);
  };
}

/** Parses the CSV header record into column names. */
export function parseCsvHeader(raw: RawRecord): string[] {
  const fields = parseCsvFields(raw.text);
  if (typeof fields === 'string') throw new Error(`CSV header (line ${raw.line}): ${fields}`);
  return fields.map((name) => name.trim());
}

export function csvDecoder(columns: readonly string[]): RecordDecoder {
  return (raw) => {
    if (raw.broken) return invalid(raw.line, raw.broken);
    const fields = parseCsvFields(raw.text);
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
function parseCsvFields(text: string): string[] | string {
  try {
    const rows = parse(text, { relax_column_count: true }) as string[][];
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

export function invalid(line: number, reason: string, key?: string): SourceEntry {
  return { line, invalid: key === undefined ? { line, reason } : { key, line, reason } };
}
