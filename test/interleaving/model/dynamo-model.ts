import { createRequire } from 'node:module';
import { type AttributeValue, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { TableSpec } from '../../../lambdas/core/tables.ts';

/**
 * An in-memory DynamoDB with the semantics the protocols rely on: single-item conditional writes,
 * UpdateExpression (SET, REMOVE, ADD, if_not_exists, list paths), ReturnValues, consistent reads, and
 * BatchGet. Synchronous, so a scheduler decides exactly when each write takes effect.
 *
 * Expressions are parsed and conditions evaluated by dynalite's own parser and evaluator (the same code
 * our integration peer runs); only the small update applier is ported here. `dynamo-model.contract.test.ts`
 * replays one script against this model and against dynalite and requires identical answers.
 */
const require = createRequire(import.meta.url);
// dynalite ships CommonJS without types; these are the three functions used, typed by their use here.
const validations = require('dynalite/validations/index.js') as {
  validateExpressions(data: Record<string, unknown>): string | undefined;
};
const db = require('dynalite/db/index.js') as {
  checkConditional(data: Record<string, unknown>, existing: AvItem | undefined): Error | null | undefined;
  mapPath(path: unknown[], item: AvItem): AttributeValue | undefined;
  matchesExprFilter(item: AvItem, expr: unknown): boolean;
};

type AvItem = Record<string, AttributeValue>;
type Plain = Record<string, unknown>;

interface Table {
  spec: TableSpec;
  items: Map<string, AvItem>;
}

interface Section {
  type: 'set' | 'remove' | 'add' | 'delete';
  path: Array<string | number>;
  val?: unknown;
  attrType?: string;
}

export interface JournalEntry {
  name: string;
  input: Plain;
  output?: Plain;
  error?: string;
}

export class ModelValidationError extends Error {
  override readonly name = 'ValidationException';
}

const MARSHALL = { removeUndefinedValues: true, convertClassInstanceToMap: true } as const;

export class DynamoModel {
  private readonly tables = new Map<string, Table>();
  private readonly parsed = new Map<
    string,
    { holders: Record<string, Record<string, unknown>>; trees: Plain }
  >();
  /** Every applied write, in order (for the story of a failing schedule). */
  writes = 0;

  constructor(specs: TableSpec[]) {
    for (const spec of specs) this.tables.set(spec.name, { spec, items: new Map() });
  }

  /** Sees every command as it takes effect, with its answer (the contract test replays them on dynalite). */
  static journal: ((entry: JournalEntry) => void) | undefined;

  /** Executes one DocumentClient command (by its class name) and returns its output. */
  execute(name: string, input: Plain): Plain {
    const journal = DynamoModel.journal;
    if (!journal) return this.dispatch(name, input);
    const copy = structuredClone(input);
    try {
      const output = this.dispatch(name, input);
      journal({ name, input: copy, output: structuredClone(output) });
      return output;
    } catch (err) {
      journal({ name, input: copy, error: (err as Error).name });
      throw err;
    }
  }

  private dispatch(name: string, input: Plain): Plain {
    switch (name) {
      case 'GetCommand':
        return this.get(input);
      case 'PutCommand':
        return this.put(input);
      case 'UpdateCommand':
        return this.update(input);
      case 'DeleteCommand':
        return this.delete(input);
      case 'BatchGetCommand':
        return this.batchGet(input);
      case 'BatchWriteCommand':
        return this.batchWrite(input);
      case 'QueryCommand':
        return this.query(input);
      default:
        throw new Error(`DynamoModel: ${name} is not modelled`);
    }
  }

  /** A plain copy of an item, for assertions. */
  peek(tableName: string, key: Plain): Plain | undefined {
    const t = this.table(tableName);
    const item = t.items.get(this.keyOf(t, marshall(key, MARSHALL)));
    return item ? unmarshall(item) : undefined;
  }

  scan(tableName: string): Plain[] {
    return [...this.table(tableName).items.values()].map((i) => unmarshall(i));
  }

  private table(name: unknown): Table {
    const t = this.tables.get(String(name));
    if (!t) throw new ModelValidationError(`Requested resource not found: ${String(name)}`);
    return t;
  }

  private keyOf(t: Table, key: AvItem): string {
    const part = (n: string | undefined) => (n === undefined ? '' : JSON.stringify(key[n] ?? null));
    return `${part(t.spec.partitionKey)}|${part(t.spec.sortKey)}`;
  }

  private keyAttrs(t: Table, item: AvItem): AvItem {
    const key: AvItem = {};
    for (const n of [t.spec.partitionKey, t.spec.sortKey]) {
      if (n === undefined) continue;
      const v = item[n];
      if (v === undefined) throw new ModelValidationError('One of the required keys was not given a value');
      key[n] = v;
    }
    return key;
  }

  /**
   * Marshals values and lets dynalite parse the expressions (it attaches `_condition`, `_updates`). The
   * parse tree refers to the value objects it was given, so one parse per expression shape is kept, over
   * holder objects whose contents are swapped in before each use (parsing was 70% of a schedule's time).
   */
  private prepare(input: Plain): Plain {
    const values = input.ExpressionAttributeValues
      ? (marshall(input.ExpressionAttributeValues as Plain, MARSHALL) as Record<string, AttributeValue>)
      : undefined;
    const shape = JSON.stringify([
      input.UpdateExpression,
      input.ConditionExpression,
      input.KeyConditionExpression,
      input.FilterExpression,
      input.ExpressionAttributeNames,
      values && Object.entries(values).map(([k, v]) => [k, Object.keys(v)[0]]),
    ]);
    let parsed = this.parsed.get(shape);
    if (!parsed) {
      const holders: Record<string, Record<string, unknown>> = {};
      for (const [k, v] of Object.entries(values ?? {})) holders[k] = { ...v };
      const data: Plain = { ...input, ...(values ? { ExpressionAttributeValues: holders } : {}) };
      const invalid = validations.validateExpressions(data);
      if (invalid) throw new ModelValidationError(invalid);
      parsed = {
        holders,
        trees: {
          _updates: data._updates,
          _condition: data._condition,
          _keyCondition: data._keyCondition,
          _filter: data._filter,
        },
      };
      this.parsed.set(shape, parsed);
    }
    for (const [k, holder] of Object.entries(parsed.holders)) {
      for (const field of Object.keys(holder)) delete holder[field];
      Object.assign(holder, values?.[k]);
    }
    return { ...input, ...parsed.trees };
  }

  private conditionHolds(data: Plain, existing: AvItem | undefined): boolean {
    return !db.checkConditional(data, existing);
  }

  private get(input: Plain): Plain {
    const t = this.table(input.TableName);
    const item = t.items.get(this.keyOf(t, marshall(input.Key as Plain, MARSHALL)));
    return item ? { Item: unmarshall(structuredClone(item)) } : {};
  }

  private put(input: Plain): Plain {
    const t = this.table(input.TableName);
    const data = this.prepare(input);
    const item = marshall(input.Item as Plain, MARSHALL) as AvItem;
    const k = this.keyOf(t, this.keyAttrs(t, item));
    const old = t.items.get(k);
    if (!this.conditionHolds(data, old)) throw conditionFailed();
    t.items.set(k, item);
    this.writes += 1;
    return input.ReturnValues === 'ALL_OLD' && old ? { Attributes: unmarshall(old) } : {};
  }

  private delete(input: Plain): Plain {
    const t = this.table(input.TableName);
    const data = this.prepare(input);
    const k = this.keyOf(t, marshall(input.Key as Plain, MARSHALL));
    const old = t.items.get(k);
    if (!this.conditionHolds(data, old)) throw conditionFailed();
    t.items.delete(k);
    this.writes += 1;
    return input.ReturnValues === 'ALL_OLD' && old ? { Attributes: unmarshall(old) } : {};
  }

  private update(input: Plain): Plain {
    const t = this.table(input.TableName);
    const data = this.prepare(input);
    const key = marshall(input.Key as Plain, MARSHALL) as AvItem;
    const k = this.keyOf(t, key);
    const old = t.items.get(k);
    if (!this.conditionHolds(data, old)) throw conditionFailed();
    const item = structuredClone(old ?? key);
    const updates = data._updates as { sections: Section[] } | undefined;
    if (updates) applyUpdate(updates.sections, item);
    t.items.set(k, item);
    this.writes += 1;
    switch (input.ReturnValues) {
      case 'ALL_NEW':
        return { Attributes: unmarshall(structuredClone(item)) };
      case 'ALL_OLD':
        return old ? { Attributes: unmarshall(structuredClone(old)) } : {};
      default:
        return {};
    }
  }

  private batchGet(input: Plain): Plain {
    const requests = input.RequestItems as Record<string, { Keys: Plain[] }>;
    const responses: Record<string, Plain[]> = {};
    for (const [name, req] of Object.entries(requests)) {
      const t = this.table(name);
      responses[name] = req.Keys.flatMap((key) => {
        const item = t.items.get(this.keyOf(t, marshall(key, MARSHALL)));
        return item ? [unmarshall(structuredClone(item))] : [];
      });
    }
    return { Responses: responses, UnprocessedKeys: {} };
  }

  private batchWrite(input: Plain): Plain {
    const requests = input.RequestItems as Record<
      string,
      Array<{ PutRequest?: { Item: Plain }; DeleteRequest?: { Key: Plain } }>
    >;
    for (const [name, writes] of Object.entries(requests)) {
      for (const w of writes) {
        if (w.PutRequest) this.put({ TableName: name, Item: w.PutRequest.Item });
        else if (w.DeleteRequest) this.delete({ TableName: name, Key: w.DeleteRequest.Key });
      }
    }
    return { UnprocessedItems: {} };
  }

  /** Base-table queries only (partition equality, optional sort condition and filter), no pagination. */
  /**
   * Key condition, then filter, as DynamoDB evaluates them (ScannedCount counts what the key condition
   * read). An index holds only the items that carry both its keys, in its sort key's order; no Limit,
   * no paging (the protocols under test read every due item in one page).
   */
  private query(input: Plain): Plain {
    const t = this.table(input.TableName);
    const index =
      input.IndexName === undefined ? undefined : t.spec.indexes?.find((i) => i.name === input.IndexName);
    if (input.IndexName !== undefined && !index)
      throw new ModelValidationError('The table does not have the specified index');
    const data = this.prepare(input);
    // dynalite's parse keeps the tree under `.expression` (as its own query action reads it).
    const matches = (item: AvItem, parsed: unknown) =>
      parsed === undefined || db.matchesExprFilter(item, (parsed as { expression: unknown }).expression);
    const inIndex = (item: AvItem) =>
      !index || (item[index.partitionKey] !== undefined && item[index.sortKey] !== undefined);
    const scanned = [...t.items.values()].filter((i) => inIndex(i) && matches(i, data._keyCondition));
    if (index) {
      const sortValue = (i: AvItem) => Number((i[index.sortKey] as { N?: string }).N);
      scanned.sort((a, b) => sortValue(a) - sortValue(b));
    }
    const items = scanned.filter((i) => matches(i, data._filter)).map((i) => unmarshall(structuredClone(i)));
    return { Count: items.length, Items: items, ScannedCount: scanned.length };
  }
}

function conditionFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

/** dynalite's UpdateExpression applier (actions/updateItem.js, Apache-2.0), trimmed to maps, lists, numbers. */
function applyUpdate(sections: Section[], item: AvItem): void {
  const root: AttributeValue = { M: item };
  // Cloned: the parse tree's values are shared holders (see prepare) and must not end up in an item.
  const resolved = sections.map((s) =>
    s.type === 'set' ? structuredClone(resolveValue(s.val, item)) : s.val,
  );
  sections.forEach((section, i) => {
    const parent =
      db.mapPath(section.path.slice(0, -1), item) ?? (section.path.length === 1 ? root : undefined);
    const attr = section.path[section.path.length - 1] as string | number;
    const container = parent && ('M' in parent ? parent.M : 'L' in parent ? parent.L : undefined);
    if (!container)
      throw new ModelValidationError(
        'The document path provided in the update expression is invalid for update',
      );
    const existing = (container as Record<string | number, AttributeValue | undefined>)[attr];
    if (section.type === 'remove') {
      if (Array.isArray(container)) container.splice(attr as number, 1);
      else delete (container as Record<string, AttributeValue>)[attr];
    } else if (section.type === 'add') {
      const val = section.val as AttributeValue;
      if (section.attrType === 'N' && 'N' in val) {
        const before = existing && 'N' in existing ? Number(existing.N) : 0;
        (container as Record<string | number, AttributeValue>)[attr] = { N: String(before + Number(val.N)) };
      } else {
        throw new Error('DynamoModel: ADD is modelled for numbers only');
      }
    } else if (section.type === 'set') {
      (container as Record<string | number, AttributeValue>)[attr] = resolved[i] as AttributeValue;
    } else {
      throw new Error(`DynamoModel: ${section.type} is not modelled`);
    }
  });
}

function resolveValue(val: unknown, item: AvItem): AttributeValue {
  if (Array.isArray(val)) {
    const found = db.mapPath(val, item);
    if (!found)
      throw new ModelValidationError(
        'The provided expression refers to an attribute that does not exist in the item',
      );
    return found;
  }
  const v = val as { type?: string; name?: string; args?: unknown[] } & AttributeValue;
  if (v.type === 'add' || v.type === 'subtract') {
    const a = resolveValue(v.args?.[0], item);
    const b = resolveValue(v.args?.[1], item);
    if (!('N' in a) || !('N' in b))
      throw new ModelValidationError('An operand in the update expression has an incorrect data type');
    return { N: String(v.type === 'add' ? Number(a.N) + Number(b.N) : Number(a.N) - Number(b.N)) };
  }
  if (v.type === 'function' && v.name === 'if_not_exists') {
    return db.mapPath(v.args?.[0] as unknown[], item) ?? resolveValue(v.args?.[1], item);
  }
  if (v.type === 'function' && v.name === 'list_append') {
    const a = resolveValue(v.args?.[0], item);
    const b = resolveValue(v.args?.[1], item);
    if (!('L' in a) || !('L' in b))
      throw new ModelValidationError('An operand in the update expression has an incorrect data type');
    return { L: [...(a.L ?? []), ...(b.L ?? [])] };
  }
  return v as AttributeValue;
}
