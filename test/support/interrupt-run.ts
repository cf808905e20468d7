import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GoalRecordSchema } from '#core/source/index.ts';
import { JOURNAL_FILE_NAME } from '../../local/hcm/persist.ts';
import type { StoreSnapshot } from '../../local/hcm/store.ts';
import type { RunReport } from '../../local/runner/report.ts';
import { mulberry32 } from '../../local/sample/random.ts';
import { goalSync } from './goal-sync-cli.ts';

/** Person number + plan + goal name: the source's natural key, matched against the simulator's goals. */
const naturalKey = (personNumber: string, goalPlanId: number, goalName: string) =>
  `${personNumber}\u0000${goalPlanId}\u0000${goalName}`;

/** The interrupt point of seed N is the same on every run (mulberry32, the generator's own PRNG). */
export const seeded = mulberry32;

export interface InterruptOutcome {
  interruptedCode: number;
  resumedCode: number;
  resumeCommandPrinted: boolean;
  written: { first: number; resumed: number };
  /** Valid records in the source, and goals in the simulator's durable state (closed cleanly). */
  valid: number;
  stored: number;
  distinctStored: number;
  /** Valid records whose goal is not in HCM / is there more than once. */
  missing: number;
  duplicated: number;
  resumed: RunReport;
}

/**
 * Interrupts a local run at `interruptAfterMs`, resumes it with the printed command's flags, and
 * checks HCM's durable state (the simulator's files, read after both processes exited) against the
 * source: every valid record's goal exactly once.
 */
export async function interruptAndResume(a: {
  stateDir: string;
  seed: number;
  goals: number;
  /** SIGINT once the HCM simulator has acknowledged this many writes (read from its journal). */
  interruptAtWrites: number;
}): Promise<InterruptOutcome> {
  const flags = ['--goals', String(a.goals), '--seed', String(a.seed), '--token-ttl', '3'];
  flags.push('--latency', '2-8', '--rate-limit', '200', '--state-dir', a.stateDir);
  const journal = join(a.stateDir, 'hcm', JOURNAL_FILE_NAME);
  const acknowledged = async () => {
    const text = await readFile(journal, 'utf8').catch(() => '');
    let n = 0;
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
    return n >= a.interruptAtWrites;
  };
  const first = await goalSync(['local', ...flags, '--run-id', `int-${a.seed}`, '--json'], {
    interruptWhen: acknowledged,
  });
  const firstReport = first.stdout ? (JSON.parse(first.stdout) as RunReport) : undefined;
  const resumed = await goalSync(['local', ...flags, '--resume', `int-${a.seed}`, '--json']);
  const resumedReport = JSON.parse(resumed.stdout) as RunReport;

  // One generated source per run id (invariant 8): <state-dir>/sources/<runId>.jsonl.
  const source = (await readFile(join(a.stateDir, 'sources', `int-${a.seed}.jsonl`), 'utf8')).split('\n');
  const wanted = new Set<string>();
  for (const line of source) {
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    const r = GoalRecordSchema.safeParse(value);
    if (r.success) wanted.add(naturalKey(r.data.personNumber, r.data.goalPlanId, r.data.goalName));
  }
  const snapshot = JSON.parse(
    await readFile(join(a.stateDir, 'hcm', 'hcm-sim-state.json'), 'utf8'),
  ) as StoreSnapshot;
  const counts = new Map<string, number>();
  for (const { goal } of snapshot.goals) {
    const key = naturalKey(goal.PersonNumber, goal.GoalPlanId, goal.GoalName);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return {
    interruptedCode: first.code,
    resumedCode: resumed.code,
    resumeCommandPrinted: /resume with: npm start -- .*--resume int-\d+/.test(first.stderr),
    written: {
      first: firstReport?.execution?.written ?? -1,
      resumed: resumedReport.execution?.written ?? -1,
    },
    valid: wanted.size,
    stored: snapshot.goals.length,
    distinctStored: counts.size,
    missing: [...wanted].filter((k) => !counts.has(k)).length,
    duplicated: [...counts.values()].filter((n) => n > 1).length,
    resumed: resumedReport,
  };
}
