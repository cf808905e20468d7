import { generateGoals, type SampleOptions, writeSampleFile } from '../../local/sample/generate.ts';
import { ArgsError, parseCli, usageLine } from '../args.ts';

export const usage = `goal-sync sample --goals N [--invalid-rate R] [--seed S] [--out FILE] [--format jsonl|csv]
                 [--persons P] [--change-rate C] [--change-seed S]
  Writes N deterministic sample goals (same seed, same file) for persons and goal plans the HCM
  simulator knows, grouped by person. --invalid-rate R (0..1) breaks that share of records in varied
  ways (bad date, missing field, weight 150, unknown status, malformed line). --change-rate C revises
  that share of the valid goals under the same keys (a "second export"). Without --out, prints to
  stdout. The format defaults to the --out extension (.csv or JSON Lines). --json prints the summary
  ({lines, invalid, changed, out, format}) as JSON (with --out only).

examples:
  goal-sync sample --goals 500 --out goals.jsonl
  goal-sync sample --goals 500 --invalid-rate 0.02 --out goals.csv --json

exit codes: 0 written, 2 bad arguments`;

function number(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw new ArgsError(`--${name} must be a number`);
  return value;
}

export async function run(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseCli(argv, {
      goals: { type: 'string' },
      'invalid-rate': { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      format: { type: 'string' },
      persons: { type: 'string' },
      'change-rate': { type: 'string' },
      'change-seed': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    }));
  } catch (err) {
    console.error(usageLine('sample', (err as Error).message));
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const out = values.out as string | undefined;
  const format =
    (values.format as string | undefined) ?? (out?.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl');
  if (values.goals === undefined || (format !== 'jsonl' && format !== 'csv')) {
    console.error(usageLine('sample', '--goals is required and --format must be jsonl or csv'));
    return 2;
  }
  let options: SampleOptions;
  try {
    const changeRate = values['change-rate'] as string | undefined;
    options = {
      goals: number(values.goals as string, 'goals', 0),
      invalidRate: number(values['invalid-rate'] as string | undefined, 'invalid-rate', 0),
      seed: number(values.seed as string | undefined, 'seed', 1),
      format,
      persons: values.persons === undefined ? undefined : number(values.persons as string, 'persons', 1),
      changes:
        changeRate === undefined
          ? undefined
          : {
              rate: number(changeRate, 'change-rate', 0),
              seed: number(values['change-seed'] as string | undefined, 'change-seed', 1),
            },
    };
  } catch (err) {
    console.error(usageLine('sample', (err as Error).message));
    return 2;
  }
  if (!out) {
    for await (const line of generateGoals(options)) {
      if (!process.stdout.write(`${line}\n`))
        await new Promise((resolve) => process.stdout.once('drain', resolve));
    }
    return 0;
  }
  const summary = await writeSampleFile(out, options);
  if (values.json) {
    console.log(JSON.stringify({ ...summary, out, format }));
    return 0;
  }
  console.error(
    `wrote ${summary.lines} goals (${summary.invalid} invalid, ${summary.changed} changed) to ${out} as ${format}`,
  );
  return 0;
}
