import { attribute, type ResourceName } from './contract/attributes.ts';
import { SimHttpError } from './http.ts';
import { type GoalStore, naturalKey, type StoredGoal } from './store.ts';

/**
 * The `q=` finder. Accepted, in both framework-1 (query by example) and framework-2+ spelling:
 *   PersonId=300000000000000;GoalName='Ship it'      (`;` joins conditions)
 *   PersonId = 300000000000000 and GoalName = 'It''s done'  (`and` joins, '' escapes a quote)
 *   GoalId > 300000050000100                          (=, !=, <, <=, >, >=: keyset paging)
 *   PersonNumber IN ('1001', '1002')                  (framework 2+ row match: a list of literals)
 * Unquoted values end at whitespace, `;`, `,` or `)`, so quote names with spaces. No LIKE, OR or
 * nesting. Only attributes the resource's contract marks queryable may be named (400 otherwise).
 * `IN` is ADF's framework-2 row-match operator (Oracle documents it for ADF REST services, strings
 * quoted, integers bare); a pod where it is not accepted is the tenant option `qInOperator: false`.
 */

export type Op = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'in';

export interface Predicate {
  attr: string;
  op: Op;
  value: string | number;
  /** The list of an `IN` predicate (`value` is then its first entry). */
  values?: ReadonlyArray<string | number>;
}

export interface ParseOptions {
  /** False: the pod answers 400 to `IN`, as one that does not take the framework-2 syntax would. */
  inOperator?: boolean;
}

/** Longest IN list accepted (Oracle's database refuses more than 1,000 expressions in a list). */
export const MAX_IN_LIST = 1_000;

const OPERATOR = /^(>=|<=|!=|<>|=|>|<)/;

const invalidQ = (q: string, why: string) =>
  new SimHttpError(400, [
    { detail: `URL request parameter q with value ${q} isn't valid: ${why}.`, code: 'JBO-25200' },
  ]);

export function parseQ(q: string, resource: ResourceName, options: ParseOptions = {}): Predicate[] {
  const predicates: Predicate[] = [];
  let i = 0;
  const skipWs = () => {
    while (i < q.length && /\s/.test(q[i]!)) i++;
  };
  /** One literal at `i`: quoted ('' escapes the quote) or bare up to whitespace, `;`, `,` or `)`. */
  const literal = (attr: string): Omit<Predicate, 'op'> => {
    let raw: string;
    let quoted = false;
    const quote = q[i];
    if (quote === "'" || quote === '"') {
      quoted = true;
      raw = '';
      i++;
      for (;;) {
        if (i >= q.length) throw invalidQ(q, `unterminated quoted value for ${attr}`);
        if (q[i] === quote && q[i + 1] === quote) {
          raw += quote;
          i += 2;
        } else if (q[i] === quote) {
          i++;
          break;
        } else raw += q[i++];
      }
    } else {
      const m = /^[^;,)\s]*/.exec(q.slice(i))![0];
      raw = m;
      i += m.length;
    }
    return toPredicate(q, resource, attr, raw, quoted);
  };
  while (true) {
    skipWs();
    if (i >= q.length) break;
    const attr = /^[A-Za-z_][A-Za-z0-9_]*/.exec(q.slice(i))?.[0];
    if (!attr) throw invalidQ(q, `expected an attribute name at position ${i}`);
    i += attr.length;
    skipWs();
    if (/^in\s*\(/i.test(q.slice(i))) {
      if (options.inOperator === false) throw invalidQ(q, 'the operator IN is not supported');
      i = q.indexOf('(', i) + 1;
      const values: Array<string | number> = [];
      for (;;) {
        skipWs();
        values.push(literal(attr).value);
        skipWs();
        if (q[i] === ',') i++;
        else if (q[i] === ')') {
          i++;
          break;
        } else throw invalidQ(q, `expected , or ) in the IN list of ${attr} at position ${i}`);
      }
      if (values.length > MAX_IN_LIST)
        throw invalidQ(q, `the IN list of ${attr} has ${values.length} entries (at most ${MAX_IN_LIST})`);
      predicates.push({ attr, op: 'in', value: values[0]!, values });
    } else {
      const opToken = OPERATOR.exec(q.slice(i))?.[0];
      if (!opToken) throw invalidQ(q, `expected one of =, !=, <, <=, >, >=, IN after ${attr}`);
      const op: Op = opToken === '<>' ? '!=' : (opToken as Op);
      i += opToken.length;
      skipWs();
      predicates.push({ ...literal(attr), op });
    }
    skipWs();
    if (i >= q.length) break;
    if (q[i] === ';') i++;
    else if (/^and\s/i.test(q.slice(i))) i += 3;
    else throw invalidQ(q, `expected ; or and at position ${i} (quote values that contain spaces)`);
  }
  return predicates;
}

function toPredicate(
  q: string,
  resource: ResourceName,
  name: string,
  raw: string,
  quoted: boolean,
): Omit<Predicate, 'op'> {
  const attr = attribute(resource, name);
  if (!attr) throw invalidQ(q, `${name} isn't an attribute of the resource ${resource}`);
  if (!attr.queryable) throw invalidQ(q, `the attribute ${name} of ${resource} isn't queryable`);
  if (attr.type === 'integer' || attr.type === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw invalidQ(q, `${name} needs a number`);
    return { attr: name, value: n };
  }
  if (!quoted && raw === '') throw invalidQ(q, `missing value for ${name}`);
  return { attr: name, value: raw };
}

function holds(actual: unknown, p: Predicate): boolean {
  if (p.op === 'in') return (p.values ?? []).includes(actual as string | number);
  if (p.op === '=') return actual === p.value;
  if (p.op === '!=') return actual !== p.value;
  if (actual === null || actual === undefined || typeof actual !== typeof p.value) return false;
  const a = actual as string | number;
  if (p.op === '<') return a < p.value;
  if (p.op === '<=') return a <= p.value;
  if (p.op === '>') return a > p.value;
  return a >= p.value;
}

export function matches(row: object, predicates: readonly Predicate[]): boolean {
  return predicates.every((p) => holds((row as Record<string, unknown>)[p.attr], p));
}

/** The value an equality predicate gives `attr` (what an index can be looked up by). */
export function equalTo(predicates: readonly Predicate[], attr: string): string | number | undefined {
  return predicates.find((p) => p.attr === attr && p.op === '=')?.value;
}

export interface SortKey {
  attr: string;
  desc: boolean;
}

/** `orderBy=GoalId:asc,GoalName:desc`: queryable attributes only (400 otherwise). */
export function parseOrderBy(raw: string | null, resource: ResourceName): SortKey[] {
  if (raw === null || raw.trim() === '') return [];
  return raw.split(',').map((part) => {
    const [name = '', dir = 'asc', ...rest] = part.trim().split(':');
    const attr = attribute(resource, name);
    const bad = (why: string) =>
      new SimHttpError(400, [
        { detail: `URL request parameter orderBy with value ${raw} isn't valid: ${why}.`, code: 'JBO-25201' },
      ]);
    if (!attr) throw bad(`${name} isn't an attribute of the resource ${resource}`);
    if (!attr.queryable) throw bad(`the attribute ${name} of ${resource} can't be sorted on`);
    if (rest.length > 0 || !['asc', 'desc'].includes(dir.toLowerCase())) {
      throw bad(`use ${name}:asc or ${name}:desc`);
    }
    return { attr: name, desc: dir.toLowerCase() === 'desc' };
  });
}

/** A comparator for `keys` over rows seen through `view` (nulls last). */
export function comparator<T>(
  keys: readonly SortKey[],
  view: (row: T) => object,
): ((a: T, b: T) => number) | undefined {
  if (keys.length === 0) return undefined;
  return (a, b) => {
    const ra = view(a) as Record<string, unknown>;
    const rb = view(b) as Record<string, unknown>;
    for (const { attr, desc } of keys) {
      const x = ra[attr] as string | number | null | undefined;
      const y = rb[attr] as string | number | null | undefined;
      if (x === y) continue;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      const c = x < y ? -1 : 1;
      return desc ? -c : c;
    }
    return 0;
  };
}

function* resolve(store: GoalStore, ids: ReadonlySet<number> | undefined): Iterable<StoredGoal> {
  if (!ids) return;
  // Finders run synchronously to the end, so the live set cannot change underneath the walk.
  for (const id of ids) {
    const record = store.get(id);
    if (record) yield record;
  }
}

export type IndexUsed = 'naturalKey' | 'goalId' | 'person' | 'plan' | 'scan';

/** The narrowest candidate set the predicates allow; every predicate is still applied as a filter. */
export function goalCandidates(
  store: GoalStore,
  predicates: readonly Predicate[],
  planId: number | undefined,
): { index: IndexUsed; candidates: Iterable<StoredGoal> } {
  const value = (attr: string) => equalTo(predicates, attr);
  const goalId = value('GoalId');
  if (typeof goalId === 'number') {
    return { index: 'goalId', candidates: resolve(store, new Set([goalId])) };
  }
  const personId = value('PersonId');
  const goalName = value('GoalName');
  if (typeof personId === 'number' && planId !== undefined && typeof goalName === 'string') {
    return {
      index: 'naturalKey',
      candidates: resolve(store, store.idsForNaturalKey(naturalKey(personId, planId, goalName))),
    };
  }
  if (typeof personId === 'number')
    return { index: 'person', candidates: resolve(store, store.idsForPerson(personId)) };
  if (planId !== undefined) return { index: 'plan', candidates: resolve(store, store.idsForPlan(planId)) };
  return { index: 'scan', candidates: store.all() };
}
