/**
 * The Ctrl-C soak (slow; not part of npm test): for each seed, interrupt a local run at a seeded
 * random number of acknowledged HCM writes, resume it with the printed command, and check the
 * simulator's durable state: every valid goal exactly once. `npm run bench:interrupt [-- SEEDS]`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { interruptAndResume, seeded } from '../test/support/interrupt-run.ts';

const seeds = Number(process.argv[2] ?? 50);
const goals = 400;
const dir = await mkdtemp(join(tmpdir(), 'goal-sync-soak-'));
let failures = 0;
let exactlyOnce = 0;
try {
  for (let seed = 1; seed <= seeds; seed++) {
    const interruptAtWrites = 1 + Math.floor(seeded(seed)() * (goals - 50));
    const r = await interruptAndResume({ stateDir: join(dir, `s${seed}`), seed, goals, interruptAtWrites });
    // Two separate claims: HCM holds every valid goal once, and the interrupt was the clean kind
    // (exit 130 with a report and the resume command, then a resume that exits 0).
    const once = r.missing === 0 && r.duplicated === 0 && r.stored === r.valid;
    const problems = [
      r.interruptedCode === 130 ? '' : `interrupted exit ${r.interruptedCode}`,
      r.written.first >= 0 ? '' : 'no report from the interrupted run',
      r.resumeCommandPrinted ? '' : 'no resume command printed',
      r.resumedCode === 0 ? '' : `resume exit ${r.resumedCode}`,
      once ? '' : 'not exactly once',
    ].filter(Boolean);
    if (once) exactlyOnce++;
    if (problems.length > 0) failures++;
    console.log(
      `seed ${String(seed).padStart(2)}  SIGINT at ${String(interruptAtWrites).padStart(3)} writes  exit ${r.interruptedCode}/${r.resumedCode}  written ${r.written.first}+${r.written.resumed}  valid ${r.valid}  stored ${r.stored}  missing ${r.missing}  duplicated ${r.duplicated}  ${problems.length ? `FAIL (${problems.join(', ')})` : 'ok'}`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
console.log(`${exactlyOnce}/${seeds} seeds: every valid goal stored exactly once`);
console.log(
  `${seeds - failures}/${seeds} seeds: clean interrupt and resume (exit 130, report, resume command, resume exit 0)`,
);
process.exitCode = failures === 0 ? 0 : 1;
