import { stat } from 'node:fs/promises';
import {
  acceptanceProblem,
  escapeControl,
  formatFromUri,
  formatMaxInvalid,
  type MaxInvalid,
  openGoalSource,
  parseMaxInvalid,
} from '#core/source/index.ts';
import { AppError } from '../../lambdas/core/errors.ts';
import { parseCli, usageLine } from '../args.ts';

export const usage = `goal-sync validate FILE [--max-invalid N|P%] [--json]   check a goal file, no HCM needed

  FILE                 a .jsonl / .ndjson / .json (JSON Lines) or .csv goal file
  --max-invalid N|P%   reject above N invalid records or P% of them (as goal-sync local / the pipeline)
  --format jsonl|csv   override the format the file name implies
  --json               print {records, valid, invalid: [{line, key?, reason}], verdict} as JSON
  -h, --help           this help

Runs the pipeline's own reader: the CSV header check, the schema, duplicate keys. Lists every invalid
record with its line and reason (never its content).

examples:
  goal-sync validate goals.jsonl
  goal-sync validate export.csv --max-invalid 1% --json

exit codes: 0 accepted (invalid records, if any, are listed), 2 bad arguments or unreadable file,
            4 input rejected (empty, all invalid, a bad CSV header, or over --max-invalid)`;

const OPTIONS = {
  'max-invalid': { type: 'string' },
  format: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function run(argv: string[]): Promise<number> {
  let file: string;
  let format: 'jsonl' | 'csv';
  let maxInvalid: MaxInvalid | undefined;
  let json = false;
  try {
    const { values, positionals } = parseCli(argv, OPTIONS, { positionals: 1 });
    if (values.help) {
      console.log(usage);
      return 0;
    }
    json = values.json ?? false;
    if (!positionals[0]) throw new Error('FILE is required');
    file = positionals[0];
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new Error(`${escapeControl(file)}: no such file`);
    const f = values.format;
    if (f !== undefined && f !== 'jsonl' && f !== 'csv') throw new Error('--format must be jsonl or csv');
    format = f ?? formatFromUri(file);
    if (values['max-invalid'] !== undefined) maxInvalid = parseMaxInvalid(values['max-invalid']);
  } catch (err) {
    console.error(usageLine('validate', (err as Error).message));
    return 2;
  }
  let verdict: string;
  let plan: Awaited<ReturnType<ReturnType<typeof openGoalSource>['plan']>> | undefined;
  try {
    plan = await openGoalSource({ uri: file, format }).plan(1_000);
    const problem = acceptanceProblem(
      { totalRecords: plan.totalRecords, validRecords: plan.validRecords, invalid: plan.invalid.length },
      maxInvalid,
    );
    verdict = problem
      ? `input rejected: ${problem === 'empty' ? 'no records' : problem === 'all-invalid' ? 'every record is invalid' : `more invalid records than --max-invalid ${formatMaxInvalid(maxInvalid!)}`}`
      : 'accepted';
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    verdict = err.message;
  }
  const rejected = verdict !== 'accepted';
  if (json) {
    console.log(
      JSON.stringify(
        {
          file,
          format,
          records: plan?.totalRecords ?? 0,
          valid: plan?.validRecords ?? 0,
          invalid: plan?.invalid ?? [],
          verdict,
        },
        null,
        2,
      ),
    );
  } else {
    console.log(
      `${escapeControl(file)} (${format}): ${plan?.totalRecords ?? 0} records, ${plan?.validRecords ?? 0} valid, ${plan?.invalid.length ?? 0} invalid`,
    );
    for (const bad of plan?.invalid ?? []) {
      console.log(`  line ${bad.line}${bad.key ? ` ${bad.key}` : ''}: ${escapeControl(bad.reason)}`);
    }
    console.log(escapeControl(verdict));
  }
  return rejected ? 4 : 0;
}
