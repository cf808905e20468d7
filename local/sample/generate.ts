import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { ConfigError } from '../../lambdas/core/errors.ts';
import { DEFAULT_PERSON_COUNT, seedPerson } from '../hcm/seed.ts';
import { corrupt, goalsForPerson, INVALID_KINDS, reviseGoal, type SampleGoal } from './goals.ts';
import { rng, subSeed } from './random.ts';

export interface SampleOptions {
  goals: number;
  /** Share of records made invalid, 0..1 (default 0). */
  invalidRate?: number;
  /** Default 1. */
  seed?: number;
  format?: 'jsonl' | 'csv';
  /** Persons to spread goals over, from the simulator's seed persons (default 20,000). */
  persons?: number;
  /**
   * A "later export" of the same goals: this share of the valid goals, chosen deterministically by
   * `seed`, get revised content under the same keys. Everything else is byte-identical.
   */
  changes?: { rate: number; seed?: number };
}

export interface SampleSummary {
  /** Goal records written (the CSV header is not counted). */
  lines: number;
  invalid: number;
  changed: number;
}

/** CSV columns, in the source schema's field names. */
export const SAMPLE_COLUMNS = [
  'externalKey',
  'personNumber',
  'goalName',
  'description',
  'startDate',
  'targetCompletionDate',
  'status',
  'goalPlanId',
  'reviewPeriodId',
  'weight',
  'category',
  'priority',
  'percentComplete',
  'actualCompletionDate',
  'assignmentNumber',
] as const;

interface SampleLine {
  text: string;
  invalid: boolean;
  changed: boolean;
}

/**
 * Separate random streams for content, invalidity and changes: the same seed yields the same goals
 * whatever the invalid rate or change rate, so a changed file differs only where it should.
 */
function* sampleLines(o: SampleOptions): Generator<SampleLine> {
  const { goals, invalidRate = 0, seed = 1, format = 'jsonl' } = o;
  const persons = o.persons ?? DEFAULT_PERSON_COUNT;
  if (!Number.isInteger(goals) || goals < 0) throw new ConfigError('goals must be a whole number >= 0');
  if (!(invalidRate >= 0 && invalidRate <= 1)) throw new ConfigError('invalid rate must be between 0 and 1');
  if (!Number.isInteger(persons) || persons < 1) throw new ConfigError('persons must be a whole number >= 1');
  const content = rng(subSeed(seed, 1));
  const faults = rng(subSeed(seed, 2));
  const changes = o.changes ? rng(subSeed(o.changes.seed ?? seed, 3)) : undefined;
  const seqByPerson = new Map<number, number>();

  if (format === 'csv') yield { text: SAMPLE_COLUMNS.join(','), invalid: false, changed: false };
  let written = 0;
  for (let visit = 0; written < goals; visit++) {
    const personIndex = visit % persons;
    // A worker the goal plans are not assigned to cannot have goals (a record error): the sample's
    // export, like a real one, has none for them.
    if (!seedPerson(personIndex).onPlans) continue;
    const firstSeq = (seqByPerson.get(personIndex) ?? 0) + 1;
    // The whole batch is drawn even when only part is written, so N goals are a prefix of N+M goals.
    const count = content.int(3, 7);
    const batch = goalsForPerson(content, personIndex, Math.floor(visit / persons), count, firstSeq);
    seqByPerson.set(personIndex, firstSeq + count - 1);
    for (const goal of batch.goals.slice(0, goals - written)) {
      const broken = faults.chance(invalidRate);
      const kind = INVALID_KINDS[Math.floor(faults.next() * INVALID_KINDS.length)]!;
      const revise = changes ? changes.chance(o.changes!.rate) : false;
      const changed = revise && !broken;
      const record = broken ? corrupt(goal, kind) : changed ? reviseGoal(goal) : goal;
      yield { text: serialize(record, format, broken && kind === 'malformed'), invalid: broken, changed };
      written += 1;
    }
  }
}

/** The sample as lines (no line terminators); for CSV the first line is the header. */
export async function* generateGoals(o: SampleOptions): AsyncGenerator<string> {
  for (const line of sampleLines(o)) yield line.text;
}

export async function writeSampleFile(path: string, o: SampleOptions): Promise<SampleSummary> {
  const out = createWriteStream(path, { encoding: 'utf8' });
  const summary: SampleSummary = { lines: 0, invalid: 0, changed: 0 };
  let header = o.format === 'csv';
  for (const line of sampleLines(o)) {
    if (!out.write(`${line.text}\n`)) await once(out, 'drain');
    if (header) {
      header = false;
      continue;
    }
    summary.lines += 1;
    if (line.invalid) summary.invalid += 1;
    if (line.changed) summary.changed += 1;
  }
  out.end();
  await finished(out);
  return summary;
}

function serialize(goal: SampleGoal, format: 'jsonl' | 'csv', malformed: boolean): string {
  if (format === 'jsonl') {
    const json = JSON.stringify(goal);
    // A record cut short, as a truncated export line looks.
    return malformed ? json.slice(0, Math.floor(json.length / 2)) : json;
  }
  const cells = SAMPLE_COLUMNS.map((column) => csvCell(goal[column]));
  // A row that lost its last fields.
  return (malformed ? cells.slice(0, -3) : cells).join(',');
}

function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
