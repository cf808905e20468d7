import { PAGING } from './contract/rest.ts';
import { SimHttpError } from './http.ts';

/**
 * Collection paging as ADF does it: `limit` (default 25, capped at the simulated pod's maximum),
 * `offset`, `totalResults=true` for a count, `hasMore`. Oracle promises no order without `orderBy`,
 * so by default rows come in a seeded shuffle that is stable between requests (offset paging still
 * works on a quiet pod) but is not creation order: a client that assumes an order finds out here.
 */
export type ListOrder = 'shuffled' | 'creation';

export interface PageRequest {
  limit: number;
  offset: number;
  totalResults: boolean;
  onlyData: boolean;
}

export interface PageOptions {
  maxLimit: number;
  order: ListOrder;
  seed: number;
}

function intParam(params: URLSearchParams, name: string, fallback: number, min: number): number {
  const raw = params.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new SimHttpError(400, `URL request parameter ${name} with value ${raw} isn't valid.`);
  }
  return n;
}

export const flag = (params: URLSearchParams, name: string): boolean =>
  params.get(name)?.toLowerCase() === 'true';

export function pageRequest(params: URLSearchParams, options: PageOptions): PageRequest {
  return {
    limit: Math.min(intParam(params, 'limit', PAGING.defaultLimit, 1), options.maxLimit),
    offset: intParam(params, 'offset', 0, 0),
    totalResults: flag(params, 'totalResults'),
    onlyData: flag(params, 'onlyData'),
  };
}

/** A 32-bit mix of a row id and the seed: the row's place in the shuffled order. */
function rank(id: number, seed: number): number {
  let h = Math.imul((id % 0x100000000) ^ seed, 0x9e3779b1) ^ Math.floor(id / 0x100000000);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export interface Page<T> {
  items: T[];
  hasMore: boolean;
  totalResults?: number;
}

/**
 * `rows` (all matches, in creation order) in the order a page is cut from: `compare` (from `orderBy`)
 * when the client asked for one, else the seeded shuffle (each row identified by `idOf`) or creation.
 */
export function orderRows<T>(
  rows: T[],
  idOf: (row: T) => number,
  options: PageOptions,
  compare?: (a: T, b: T) => number,
): T[] {
  if (compare) return [...rows].sort(compare);
  return options.order === 'shuffled' ? shuffled(rows, idOf, options.seed) : rows;
}

export function slicePage<T>(ordered: readonly T[], req: PageRequest): Page<T> {
  const items = ordered.slice(req.offset, req.offset + req.limit);
  return {
    items,
    hasMore: req.offset + items.length < ordered.length,
    ...(req.totalResults ? { totalResults: ordered.length } : {}),
  };
}

export function pageOf<T>(
  rows: T[],
  idOf: (row: T) => number,
  req: PageRequest,
  options: PageOptions,
  compare?: (a: T, b: T) => number,
): Page<T> {
  return slicePage(orderRows(rows, idOf, options, compare), req);
}

/**
 * The last ordered result set of a goal collection, keyed by the query and the store's revision:
 * paging 50,000 goals 500 at a time then filters and sorts once instead of once per page. Any write
 * changes the revision, so a page never comes from a stale set.
 */
export class OrderedRowsCache {
  private last: { key: string; rows: readonly unknown[] } | undefined;

  rows<T>(key: string | undefined, compute: () => T[]): readonly T[] {
    if (key !== undefined && this.last?.key === key) return this.last.rows as readonly T[];
    const rows = compute();
    this.last = key === undefined ? undefined : { key, rows };
    return rows;
  }
}

/** rank * 2^21 + position packs into a double exactly (53 bits), so a native numeric sort does it. */
const POSITION_BITS = 2 ** 21;

function shuffled<T>(rows: T[], idOf: (row: T) => number, seed: number): T[] {
  if (rows.length >= POSITION_BITS) throw new Error('too many rows to shuffle');
  const keys = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) keys[i] = rank(idOf(rows[i]!), seed) * POSITION_BITS + i;
  keys.sort();
  return Array.from(keys, (k) => rows[k % POSITION_BITS]!);
}
