import { formatFromUri, openGoalSource } from '#core/source/index.ts';
import { writeSampleFile } from '../local/sample/generate.ts';

/** What the bench needs to know about a source file to judge a run against it. */
export interface SourceFacts {
  path: string;
  /** Records in the file, valid and invalid: the scenario size. */
  records: number;
  /** Natural keys (PersonNumber + GoalPlanId + GoalName) of the valid records: what HCM must hold at the end. */
  validKeys: Set<string>;
  /** Distinct persons among the valid records (the amortized per-person finder of the ceiling). */
  persons: number;
  /** Distinct (person, goal plan) pairs among the valid records. */
  personPlans: number;
}

export const naturalKey = (personNumber: string, goalPlanId: number | undefined, goalName: string): string =>
  `${personNumber}\u0000${goalPlanId ?? ''}\u0000${goalName}`;

/**
 * Writes the scenario's goals with the project's sample generator and reads them back with the
 * project's source reader, so "valid" means exactly what the pipeline and the naive job think it means.
 */
export async function prepareSource(
  path: string,
  o: { goals: number; seed: number; invalidRate: number },
): Promise<SourceFacts> {
  await writeSampleFile(path, { goals: o.goals, seed: o.seed, invalidRate: o.invalidRate });
  return readSourceFacts(path);
}

/** Reads a source file the way the pipeline does and keeps what the bench judges runs by. */
export async function readSourceFacts(path: string): Promise<SourceFacts> {
  const source = openGoalSource({ uri: path, format: formatFromUri(path) });
  const plan = await source.plan(1000);
  const validKeys = new Set<string>();
  const persons = new Set<string>();
  const personPlans = new Set<string>();
  for (const chunk of plan.chunks) {
    for await (const entry of source.readChunk(chunk)) {
      if (!('record' in entry)) continue;
      const r = entry.record;
      validKeys.add(naturalKey(r.personNumber, r.goalPlanId, r.goalName));
      persons.add(r.personNumber);
      personPlans.add(`${r.personNumber}\u0000${r.goalPlanId}`);
    }
  }
  return {
    path,
    records: plan.totalRecords,
    validKeys,
    persons: persons.size,
    personPlans: personPlans.size,
  };
}

/** Valid source goals HCM does not hold at all (by natural key), and how many distinct ones it holds. */
export function compareWithHcm(
  facts: SourceFacts,
  goals: Array<{ PersonNumber: string; GoalPlanId: number; GoalName: string }>,
): { lost: number; present: number } {
  const stored = new Set(goals.map((g) => naturalKey(g.PersonNumber, g.GoalPlanId, g.GoalName)));
  let present = 0;
  for (const key of facts.validKeys) if (stored.has(key)) present++;
  return { lost: facts.validKeys.size - present, present };
}
