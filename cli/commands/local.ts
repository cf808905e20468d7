import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InterruptWatch } from '../../local/runner/interrupt.ts';
import { LOCAL_USAGE, type LocalRunOptions, parseLocalArgs, UsageError } from '../../local/runner/options.ts';
import { checkLocalPreconditions } from '../../local/runner/preflight.ts';
import { exitCodeFor, type RunReport, renderSummary } from '../../local/runner/report.ts';
import { lockStateDir, type StateLock } from '../../local/runner/state-lock.ts';
import { usageLine } from '../args.ts';

export const usage = LOCAL_USAGE;

/** Flags a resume must not repeat: they name a new run or a one-off fault of the interrupted one. */
const NOT_FOR_RESUME = new Set([
  '--run-id',
  '--resume',
  '--state-dir',
  '--crash-after',
  '--report',
  '--json',
]);

const quote = (arg: string): string =>
  /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;

/** The exact command that resumes this run: the same flags, the run's state dir and --resume. */
export function resumeCommand(argv: string[], report: Pick<RunReport, 'runId' | 'stateDir'>): string {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = arg.split('=')[0]!;
    if (NOT_FOR_RESUME.has(name)) {
      if (!arg.includes('=') && name !== '--json') i++;
      continue;
    }
    kept.push(arg);
  }
  const flags = [...kept, '--state-dir', report.stateDir ?? '.', '--resume', report.runId];
  return `npm start -- ${flags.map(quote).join(' ')}`;
}

/** Without --state-dir the run's database and simulators lived in memory: there is nothing to resume. */
const NO_STATE =
  'this run kept no state (no --state-dir): run again with --state-dir DIR to be able to resume';

/** What to type next, for the outcomes that have a next step. */
function nextStep(argv: string[], report: RunReport, code: number): string | undefined {
  const kept = argv.some((a) => a === '--state-dir' || a.startsWith('--state-dir='));
  const resume = kept ? resumeCommand(argv, report) : undefined;
  if (report.interrupted) return resume ? `resume with: ${resume}` : NO_STATE;
  if (code === 4) return 'fix the source (goal-sync validate FILE lists every problem), then run again';
  if (report.mode === 'naive') return undefined;
  if (code === 3) return `the connection needs re-auth; then ${resume ? `resume: ${resume}` : NO_STATE}`;
  if (report.execution && report.execution.notReached > 0) return resume ? `resume: ${resume}` : NO_STATE;
  if (report.goals.unsettled > 0 && report.goals.failed === 0)
    return 'unsettled records: a write may have reached HCM unseen; the next run looks for each goal first and adopts it (or, after the settle horizon, writes it again)';
  if (report.goals.failed > 0)
    return resume
      ? `see the failed records above; after fixing them, resume: ${resume}`
      : 'see the failed records above; fix them and run again';
  return undefined;
}

export async function run(argv: string[]): Promise<number> {
  let options: ReturnType<typeof parseLocalArgs>;
  let lock: StateLock | undefined;
  const note = (line: string) => console.error(line);
  try {
    options = parseLocalArgs(argv);
    if (options !== 'help') await checkLocalPreconditions(options);
    // One process per state dir, taken before anything starts (no simulator, no database yet).
    if (options !== 'help' && options.stateDir) lock = await lockStateDir(resolve(options.stateDir), note);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(usageLine('local', err.message, err.hint));
    return 2;
  }
  if (options === 'help') {
    console.log(LOCAL_USAGE);
    return 0;
  }
  try {
    return await runWithOptions(argv, options, note);
  } finally {
    lock?.release();
  }
}

async function runWithOptions(
  argv: string[],
  options: LocalRunOptions,
  note: (line: string) => void,
): Promise<number> {
  // Handler logs and EMF lines would drown the progress bar; --verbose turns logs back on.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_LOG_LEVEL ??= options.verbose ? 'INFO' : 'SILENT';
  // Watch for Ctrl-C before the (slow) import of the runner, so no signal meets the default handler.
  const interrupt = new InterruptWatch(note, (run) => resumeCommand(argv, run));
  const { runLocal } = await import('../../local/runner/run-local.ts');
  let report: Awaited<ReturnType<typeof runLocal>>;
  try {
    report = await runLocal(options, { note }, interrupt);
  } catch (err) {
    // Refused before anything started (unknown run id, changed source): one line, exit 2.
    if (!(err instanceof UsageError)) throw err;
    console.error(`goal-sync local: ${err.message}`);
    return 2;
  }
  const code = exitCodeFor(report);
  const next = nextStep(argv, report, code);
  if (next) report.next = next;
  if (options.reportFile) await writeFile(options.reportFile, `${JSON.stringify(report, null, 2)}\n`);
  if (options.json) console.log(JSON.stringify(report, null, 2));
  else console.log(`\n${renderSummary(report)}`);
  // The resume command goes to stderr too, so it is seen even with --json.
  if (report.interrupted && options.json) console.error(next);
  return code;
}
