import { writeFile } from 'node:fs/promises';
import { LOCAL_USAGE, parseLocalArgs, UsageError } from '../../runner/options.ts';
import { exitCodeFor, renderSummary } from '../../runner/report.ts';

export const usage = LOCAL_USAGE;

export async function run(argv: string[]): Promise<number> {
  let options: ReturnType<typeof parseLocalArgs>;
  try {
    options = parseLocalArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`goal-sync local: ${err.message}\n\n${LOCAL_USAGE}`);
    return 2;
  }
  if (options === 'help') {
    console.log(LOCAL_USAGE);
    return 0;
  }
  // Handler logs and EMF lines would drown the progress bar; --verbose turns logs back on.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_LOG_LEVEL ??= options.verbose ? 'INFO' : 'SILENT';
  const { runLocal } = await import('../../runner/run-local.ts');
  let report: Awaited<ReturnType<typeof runLocal>>;
  try {
    report = await runLocal(options, { note: (line) => console.error(line) });
  } catch (err) {
    // Refused before anything started (unknown run id, changed source): one line, exit 2.
    if (!(err instanceof UsageError)) throw err;
    console.error(`goal-sync local: ${err.message}`);
    return 2;
  }
  if (options.reportFile) await writeFile(options.reportFile, `${JSON.stringify(report, null, 2)}\n`);
  if (options.json) console.log(JSON.stringify(report, null, 2));
  else console.log(`\n${renderSummary(report)}`);
  return exitCodeFor(report);
}
