import type { GoalMapping } from '#core/hcm/index.ts';
import type { GoalRecord, GoalSource } from '#core/source/index.ts';
import { isCodeAttribute, mapRecord, WORKER_ATTRIBUTES } from './mapping-contract.ts';

export interface Worker {
  personNumber: string;
  assignmentNumber?: string;
}

/**
 * A source, reduced to what the preflight needs and independent of the mapping: the plans with their
 * first workers, and one record per kind (the fields the mapping reads, and which optional ones are
 * set) with how many records it stands for. The CLI sends it to the preflight function, which maps it
 * with the stack's own mapping settings.
 */
export interface SourceDigest {
  records: number;
  invalid: number;
  plans: Map<number, Worker[]>;
  kinds: Map<string, { record: GoalRecord; count: number }>;
}

/** What the checks compare: the source as the client's mapping turns it into request bodies. */
export interface SourceFacts {
  records: number;
  invalid: number;
  /** Plan id -> the first `sampleSize` distinct workers of that plan. */
  plans: Map<number, Worker[]>;
  /** Every attribute any record's create body carries. */
  createAttributes: Set<string>;
  /** Code attribute -> the distinct codes the mapping sends for this source. */
  codes: Map<string, Set<string>>;
  /** The first record the mapping takes: the write test's template. */
  sample?: GoalRecord;
  /** Why records cannot be mapped (a value with no code in the tenant mapping) -> how many. */
  unmapped: Map<string, number>;
}

/** More kinds than this (a source with thousands of categories) are counted, not kept. */
export const MAX_KINDS = 2_000;

export function emptyDigest(): SourceDigest {
  return { records: 0, invalid: 0, plans: new Map(), kinds: new Map() };
}

const kindOf = (r: GoalRecord) =>
  JSON.stringify([
    r.status,
    r.category ?? null,
    r.priority ?? null,
    r.percentComplete ?? null,
    r.description !== undefined,
    r.actualCompletionDate !== undefined,
    r.weight !== undefined,
    r.reviewPeriodId !== undefined,
  ]);

export function addToDigest(d: SourceDigest, record: GoalRecord, sampleSize: number): void {
  d.records += 1;
  const workers = d.plans.get(record.goalPlanId) ?? [];
  d.plans.set(record.goalPlanId, workers);
  if (workers.length < sampleSize && !workers.some((w) => w.personNumber === record.personNumber)) {
    const { assignmentNumber } = record;
    workers.push({
      personNumber: record.personNumber,
      ...(assignmentNumber !== undefined ? { assignmentNumber } : {}),
    });
  }
  const key = kindOf(record);
  const kind = d.kinds.get(key);
  if (kind) kind.count += 1;
  else if (d.kinds.size < MAX_KINDS) d.kinds.set(key, { record, count: 1 });
}

/** Streams the whole source once (the pipeline's own reader: the same records a run would take). */
export async function readSourceDigest(source: GoalSource, sampleSize: number): Promise<SourceDigest> {
  const digest = emptyDigest();
  const plan = await source.plan(1_000);
  digest.invalid = plan.invalid.length;
  for (const chunk of plan.chunks) {
    for await (const entry of source.readChunk(chunk)) {
      if ('record' in entry) addToDigest(digest, entry.record, sampleSize);
    }
  }
  return digest;
}

/** The digest through the client's mapping (one function: mapping-contract.ts). */
export function factsOf(d: SourceDigest, mapping?: GoalMapping): SourceFacts {
  const facts: SourceFacts = {
    records: d.records,
    invalid: d.invalid,
    plans: d.plans,
    createAttributes: new Set(),
    codes: new Map(),
    unmapped: new Map(),
  };
  for (const { record, count } of d.kinds.values()) {
    const mapped = mapRecord(record, mapping);
    if (!mapped.ok) {
      facts.unmapped.set(mapped.reason, (facts.unmapped.get(mapped.reason) ?? 0) + count);
      continue;
    }
    facts.sample ??= record;
    for (const attr of WORKER_ATTRIBUTES) facts.createAttributes.add(attr);
    for (const [attr, value] of Object.entries(mapped.payload)) {
      // A create leaves out what is null (architecture.md, "Goal mapping"); a PATCH may send it to clear.
      if (value === undefined || value === null) continue;
      facts.createAttributes.add(attr);
      if (!isCodeAttribute(attr)) continue;
      const seen = facts.codes.get(attr) ?? new Set<string>();
      seen.add(String(value));
      facts.codes.set(attr, seen);
    }
  }
  return facts;
}
