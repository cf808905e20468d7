import { attribute, type ResourceName } from './contract/attributes.ts';
import { SimHttpError } from './http.ts';
import { type GoalStore, naturalKey, type StoredGoal } from './store.ts';

/**
 * The `q=` finder. Accepted, in both framework-1 (query by example) and framework-2+ spelling:
 *   PersonId=300000000000000;GoalName='Ship it'      (`;` joins conditions)
 *   PersonId = 300000000000000 and GoalName = 'It''s done'  (`and` joins, '' escapes a quote)
 * Only equality is supported; unquoted values end at whitespace or `;`, so quote names with spaces.
 * Only attributes the resource's contract marks queryable may be named (400 otherwise).
 */

export interface Predicate {
  attr: string;
  value: string | number;
}

const invalidQ = (q: string, why: string) =>
  new SimHttpError(400, [
    { detail: `URL request parameter q with value ${q} isn't valid: ${why}.`, code: 'JBO-25200' },
  ]);

export function parseQ(q: string, resource: ResourceName): Predicate[] {
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
    predicates.push(toPredicate(q, resource, attr, raw, quoted));
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
): Predicate {
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

export function matches(row: object, predicates: readonly Predicate[]): boolean {
  return predicates.every((p) => (row as Record<string, unknown>)[p.attr] === p.value);
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
  const value = (attr: string) => predicates.find((p) => p.attr === attr)?.value;
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
