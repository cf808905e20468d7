import { readFile, writeFile } from 'node:fs/promises';
import type { HcmGoals } from '#core/hcm/index.ts';
import { readSourceFacts, type SourceFacts } from '../../bench/bench-source.ts';

import { parseLocalArgs } from '../../local/runner/options.ts';
import type { RunReport } from '../../local/runner/report.ts';
import { runLocal } from '../../local/runner/run-local.ts';
import { writeSampleFile } from '../../local/sample/generate.ts';

// Handler metrics would print EMF lines per invocation; the metric calls still run.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

/** mulberry32: every campaign decision comes from the seed, so a failing seed replays exactly. */
export function prng(seed: number): { next(): number; int(lo: number, hi: number): number } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}

/**
 * Sample goals whose external keys and goal names carry the seed, so many seeds can share one set of
 * peers (HCM, ledger) without one seed's goals matching another's. Invalid lines stay invalid.
 */
export async function namespacedSource(
  path: string,
  o: { goals: number; seed: number; invalidRate: number },
): Promise<SourceFacts> {
  await writeSampleFile(path, { goals: o.goals, seed: o.seed, invalidRate: o.invalidRate });
  const text = await readFile(path, 'utf8');
  await writeFile(
    path,
    text
      .replaceAll('"externalKey":"', `"externalKey":"S${o.seed}-`)
      .replaceAll('"goalName":"', `"goalName":"S${o.seed} `),
  );
  return readSourceFacts(path);
}

export class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
}

/** Where the process dies: at the n-th HCM call of the run (all workers counted), before it is sent or after it answered. */
export interface CrashPoint {
  atCall: number;
  when: 'before-send' | 'after-commit';
}

/**
 * Wraps every worker's HCM port so the whole "process" dies at one call: that call and every later
 * one throw, in every worker. `after-commit` lets the call reach HCM (a create commits) and kills the
 * worker before it can record the answer: the worst instant for invariant 7. Calls already handed to
 * the HCM client when the process dies still reach HCM and their answers are thrown away, so a crash
 * leaves every in-flight create committed but unrecorded: harsher than a real kill, never milder.
 */
export function crashAt(point: CrashPoint) {
  const state = { calls: 0, dead: false, diedOnCommittedCreate: false };
  const guard = () => {
    if (state.dead) throw new SimulatedCrash('process killed');
  };
  const wrap = (hcm: HcmGoals): HcmGoals => {
    const call = async <T>(isCreate: boolean, fn: () => Promise<T>): Promise<T> => {
      guard();
      state.calls += 1;
      const n = state.calls;
      if (n === point.atCall && point.when === 'before-send') state.dead = true;
      guard();
      const result = await fn();
      if (n === point.atCall && point.when === 'after-commit') {
        state.dead = true;
        state.diedOnCommittedCreate = isCreate;
      }
      guard();
      return result;
    };
    return {
      findGoals: (plan, query) => call(false, () => hcm.findGoals(plan, query)),
      listPlanAssignees: (plan, page, person) => call(false, () => hcm.listPlanAssignees(plan, page, person)),
      // The claim guard goes through: a killed worker's writes obey the same protocol up to its death.
      create: (plan, payload, claim) => call(true, () => hcm.create(plan, payload, claim)),
      update: (ref, patch, etag, claim) => call(false, () => hcm.update(ref, patch, etag, claim)),
    };
  };
  return { wrap, state };
}

/** `goal-sync local <args>` in this process (the real state machine and handlers), silent. */
export async function runLocalInProcess(args: string[]): Promise<RunReport> {
  const options = parseLocalArgs([...args, '--json', '--no-progress']);
  if (options === 'help') throw new Error('unexpected --help');
  return runLocal(options, { note: () => undefined });
}
