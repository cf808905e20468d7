import { ConfigError, InputRejectedError } from '../errors.ts';
import type { InvalidRecord } from './source-types.ts';
import { escapeControl } from './text.ts';

/**
 * When a source is rejected as a whole (invariant 9). Invalid records are normally listed and the run
 * goes on; but an empty export, or one where nothing (or too much) is valid, is a broken export, and a
 * run that "succeeds" on it would hide that from whoever reads the nightly result.
 */
export type MaxInvalid = { count: number } | { percent: number };

/**
 * What every run gets when it names no limit (goal-sync local, validate, start, an execution input
 * without `maxInvalid`): an export where more than one record in twenty is broken is a broken export.
 */
export const DEFAULT_MAX_INVALID: MaxInvalid = { percent: 5 };

/** `--max-invalid N` (records) or `N%` (share of records), also the execution input's `maxInvalid`. */
export function parseMaxInvalid(raw: string | number): MaxInvalid {
  const text = String(raw).trim();
  const match = /^(\d+(?:\.\d+)?)(%?)$/.exec(text);
  if (!match)
    throw new ConfigError(
      `maxInvalid must be a record count (e.g. 10) or a share (e.g. 5%), got '${escapeControl(text.slice(0, 40))}'`,
    );
  const value = Number(match[1]);
  if (match[2] === '%') {
    if (value > 100) throw new ConfigError('maxInvalid: a share cannot exceed 100%');
    return { percent: value };
  }
  if (!Number.isInteger(value)) throw new ConfigError('maxInvalid: a record count must be a whole number');
  return { count: value };
}

export const formatMaxInvalid = (m: MaxInvalid): string => ('count' in m ? String(m.count) : `${m.percent}%`);

export interface SourceTotals {
  totalRecords: number;
  validRecords: number;
  invalid: number;
}

/** Throws InputRejectedError when the source cannot be accepted; `firstInvalid` explains the usual cause. */
export async function checkAcceptance(
  source: string,
  totals: SourceTotals,
  maxInvalid?: MaxInvalid,
  firstInvalid?: () => Promise<InvalidRecord | undefined>,
): Promise<void> {
  const problem = acceptanceProblem(totals, maxInvalid);
  if (!problem) return;
  const first = problem === 'empty' ? undefined : await firstInvalid?.();
  const example = first ? ` (first: line ${first.line}: ${escapeControl(first.reason)})` : '';
  throw new InputRejectedError(describe(problem, escapeControl(source), totals, maxInvalid) + example);
}

export type AcceptanceProblem = 'empty' | 'all-invalid' | 'too-many-invalid';

export function acceptanceProblem(
  totals: SourceTotals,
  maxInvalid?: MaxInvalid,
): AcceptanceProblem | undefined {
  if (totals.totalRecords === 0) return 'empty';
  if (totals.validRecords === 0) return 'all-invalid';
  if (!maxInvalid || totals.invalid === 0) return undefined;
  const share = (totals.invalid * 100) / totals.totalRecords;
  const over = 'count' in maxInvalid ? totals.invalid > maxInvalid.count : share > maxInvalid.percent;
  return over ? 'too-many-invalid' : undefined;
}

function describe(
  problem: AcceptanceProblem,
  where: string,
  totals: SourceTotals,
  maxInvalid?: MaxInvalid,
): string {
  if (problem === 'empty') return `${where} holds no records`;
  if (problem === 'all-invalid') return `all ${totals.totalRecords} records of ${where} are invalid`;
  const share = (totals.invalid * 100) / totals.totalRecords;
  const limit = maxInvalid ? formatMaxInvalid(maxInvalid) : '0';
  return `${totals.invalid} of ${totals.totalRecords} records of ${where} are invalid (${share.toFixed(1)}%), more than maxInvalid ${limit}`;
}
