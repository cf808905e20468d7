import type { HcmGoal } from '#core/hcm/index.ts';
import { SimHttpError } from './http.ts';
import type { PersonDirectory } from './seed.ts';
import { type GoalStore, naturalKey, type StoredGoal } from './store.ts';

/**
 * The `q=` finder. Accepted, in both framework-1 (query by example) and framework-2+ spelling:
 *   PersonNumber='E000001';GoalPlanId=300000009990001     (`;` joins conditions)
 *   PersonNumber = 'E000001' and GoalName = 'It''s done'  (`and` joins, '' escapes a quote)
 *   GoalId=300000050000001                                (numbers and unquoted words)
 * Only equality is supported; unquoted values end at whitespace or `;`, so quote names with spaces.
 */

const STRING_ATTRS = ['PersonNumber', 'GoalName', 'StatusCode'] as const;
const NUMBER_ATTRS = [
  'PersonId',
  'GoalPlanId',
  'GoalId',
  'GoalPlanGoalId',
  'AssignmentId',
  'ReviewPeriodId',
] as const;
type QueryAttr = (typeof STRING_ATTRS)[number] | (typeof NUMBER_ATTRS)[number];

export interface Predicate {
  attr: QueryAttr;
  value: string | number;
}

const invalidQ = (q: string, why: string) =>
  new SimHttpError(400, `URL request parameter q with value ${q} isn't valid: ${why}.`);

export function parseQ(q: string): Predicate[] {
  const predicates: Predicate[] = [];
  let i = 0;
  const skipWs = () => {
    while (i < q.length && /\s/.test(q[i]!)) i++;
  };
  while (true) {
    skipWs();
    if (i >= q.length) break;
    const attr = /^[A-Za-z_][A-Za-z0-9_]*/.exec(q.slice(i))?.[0];
    if (!attr) throw invalidQ(q, `expected an attribute name at position ${i}`);
    i += attr.length;
    skipWs();
    if (q[i] !== '=') throw invalidQ(q, `only equality (=) is supported after ${attr}`);
    i++;
    skipWs();
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
      const m = /^[^;\s]*/.exec(q.slice(i))![0];
      raw = m;
      i += m.length;
    }
    predicates.push(toPredicate(q, attr, raw, quoted));
    skipWs();
    if (i >= q.length) break;
    if (q[i] === ';') i++;
    else if (/^and\s/i.test(q.slice(i))) i += 3;
    else throw invalidQ(q, `expected ; or and at position ${i} (quote values that contain spaces)`);
  }
  return predicates;
}

function toPredicate(q: string, attr: string, raw: string, quoted: boolean): Predicate {
  if ((STRING_ATTRS as readonly string[]).includes(attr)) {
    if (!quoted && raw === '') throw invalidQ(q, `missing value for ${attr}`);
    return { attr: attr as QueryAttr, value: raw };
  }
  if ((NUMBER_ATTRS as readonly string[]).includes(attr)) {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isSafeInteger(n)) throw invalidQ(q, `${attr} needs a whole number`);
    return { attr: attr as QueryAttr, value: n };
  }
  throw invalidQ(q, `the attribute ${attr} can't be used in a finder here`);
}

export type IndexUsed = 'naturalKey' | 'goalId' | 'person' | 'plan' | 'scan';

export interface QueryPlan {
  index: IndexUsed;
  candidates: Iterable<StoredGoal>;
}

function predicateValue(predicates: Predicate[], attr: QueryAttr): string | number | undefined {
  return predicates.find((p) => p.attr === attr)?.value;
}

function* resolve(store: GoalStore, ids: ReadonlySet<string> | undefined): Iterable<StoredGoal> {
  if (!ids) return;
  // Finders run synchronously to the end, so the live set cannot change underneath the walk.
  for (const id of ids) {
    const record = store.get(id);
    if (record) yield record;
  }
}

/** Picks the narrowest index the predicates allow; every predicate is still applied as a filter. */
export function planQuery(store: GoalStore, persons: PersonDirectory, predicates: Predicate[]): QueryPlan {
  const goalId = predicateValue(predicates, 'GoalId');
  if (typeof goalId === 'number') {
    const id = store.uniqIdOfGoal(goalId);
    return { index: 'goalId', candidates: resolve(store, id ? new Set([id]) : undefined) };
  }
  const personId = predicateValue(predicates, 'PersonId');
  const personNumber =
    predicateValue(predicates, 'PersonNumber') ??
    (typeof personId === 'number' ? (persons.byId(personId)?.PersonNumber ?? '') : undefined);
  const planId = predicateValue(predicates, 'GoalPlanId');
  const goalName = predicateValue(predicates, 'GoalName');
  if (typeof personNumber === 'string' && typeof planId === 'number' && typeof goalName === 'string') {
    const ids = store.idsForNaturalKey(naturalKey(personNumber, planId, goalName));
    return { index: 'naturalKey', candidates: resolve(store, ids) };
  }
  if (typeof personNumber === 'string') {
    return { index: 'person', candidates: resolve(store, store.idsForPerson(personNumber)) };
  }
  if (typeof planId === 'number') {
    return { index: 'plan', candidates: resolve(store, store.idsForPlan(planId)) };
  }
  return { index: 'scan', candidates: store.all() };
}

export function matches(goal: HcmGoal, predicates: Predicate[]): boolean {
  return predicates.every((p) => goal[p.attr] === p.value);
}

export interface Page {
  items: StoredGoal[];
  hasMore: boolean;
  totalResults?: number;
}

/** Walks the candidates once: skips `offset` matches, keeps `limit`, and counts all only if asked. */
export function findGoals(
  plan: QueryPlan,
  predicates: Predicate[],
  page: { offset: number; limit: number; totalResults: boolean },
): Page {
  const items: StoredGoal[] = [];
  let seen = 0;
  let hasMore = false;
  for (const record of plan.candidates) {
    if (!matches(record.goal, predicates)) continue;
    seen++;
    if (seen <= page.offset) continue;
    if (items.length < page.limit) items.push(record);
    else {
      hasMore = true;
      if (!page.totalResults) break;
    }
  }
  return { items, hasMore, ...(page.totalResults ? { totalResults: seen } : {}) };
}
