import type { GoalRecord, GoalSource } from '#core/source/index.ts';
import { isCodeAttribute, mapRecord } from './mapping-contract.ts';

/** What the preflight needs from a source: the plans it names, workers to sample, what it maps to. */
export interface SourceFacts {
  records: number;
  invalid: number;
  /** Plan id -> the first `sampleSize` distinct workers of that plan (person and assignment number). */
  plans: Map<number, Array<{ personNumber: string; assignmentNumber?: string }>>;
  /** Every attribute any record's create body carries. */
  createAttributes: Set<string>;
  /** Code attribute -> the distinct codes the mapping sends for this source. */
  codes: Map<string, Set<string>>;
  /** One mapped record per plan, the write test's template. */
  sample?: GoalRecord;
}

export function emptyFacts(): SourceFacts {
  return { records: 0, invalid: 0, plans: new Map(), createAttributes: new Set(), codes: new Map() };
}

/** Adds one valid record to the facts (exported for sources that are not files). */
export function addRecord(facts: SourceFacts, record: GoalRecord, sampleSize: number): void {
  facts.records += 1;
  facts.sample ??= record;
  const workers = facts.plans.get(record.goalPlanId) ?? [];
  facts.plans.set(record.goalPlanId, workers);
  const assignmentNumber = (record as { assignmentNumber?: unknown }).assignmentNumber;
  if (workers.length < sampleSize && !workers.some((w) => w.personNumber === record.personNumber)) {
    workers.push({
      personNumber: record.personNumber,
      ...(typeof assignmentNumber === 'string' ? { assignmentNumber } : {}),
    });
  }
  for (const [attr, value] of Object.entries(mapRecord(record).create)) {
    // A create leaves out what is null (architecture.md, "Goal mapping"); a PATCH may send it to clear.
    if (value === undefined || value === null) continue;
    facts.createAttributes.add(attr);
    if (!isCodeAttribute(attr)) continue;
    const seen = facts.codes.get(attr) ?? new Set<string>();
    seen.add(String(value));
    facts.codes.set(attr, seen);
  }
}

/** Streams the whole source once (the pipeline's own reader: the same records a run would take). */
export async function readSourceFacts(source: GoalSource, sampleSize: number): Promise<SourceFacts> {
  const facts = emptyFacts();
  const plan = await source.plan(1_000);
  facts.invalid = plan.invalid.length;
  for (const chunk of plan.chunks) {
    for await (const entry of source.readChunk(chunk)) {
      if ('record' in entry) addRecord(facts, entry.record, sampleSize);
    }
  }
  return facts;
}
