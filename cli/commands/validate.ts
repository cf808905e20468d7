import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_GOAL_MAPPING, type GoalMapping, mapGoal } from '#core/hcm/index.ts';
import {
  acceptanceProblem,
  DEFAULT_MAX_INVALID,
  encodingName,
  escapeControl,
  fileSourceCopies,
  formatFromUri,
  formatMaxInvalid,
  type MaxInvalid,
  openGoalSource,
  parseDelimiter,
  parseMaxInvalid,
  type SourcePlan,
  type SourceRef,
  type SourceShape,
} from '#core/source/index.ts';
import { AppError } from '../../lambdas/core/errors.ts';
import { enumValue, MAPPING_OPTIONS, mappingFromFlags, parseCli, usageLine } from '../args.ts';

const FORMATS = ['jsonl', 'csv'] as const;

export const usage = `goal-sync validate FILE [--max-invalid N|P%] [--json]   check a goal file, no HCM needed

  FILE                 a .jsonl / .ndjson / .json (JSON Lines or a JSON array) or .csv goal file,
                       UTF-8 (with or without a byte order mark) or UTF-16 with one
  --max-invalid N|P%   reject above N invalid records or P% of them (default 5%, as goal-sync local
                       and the pipeline)
  --encoding E         what FILE is when not UTF-8: windows-1252 (Excel's "CSV"), latin1, ...
  --delimiter D        CSV separator: comma, semicolon or tab (default: read from the header)
  --format jsonl|csv   override the format the file name implies
  --status-map M       the tenant's status codes, SOURCE=CODE,... (as goal-sync local and the stack's
  --category-map M     goalStatusMap, goalCategoryMap, goalPercentCodes)
  --percent-codes M
  --json               print {records, valid, invalid: [{line, key?, reason}], unmapped, verdict} as JSON
  -h, --help           this help

Runs the pipeline's own reader: the encoding, the CSV header check, the schema, duplicate keys. Lists
every invalid record with its line and reason (never its content), and every valid record whose
status, category or percentComplete the mapping has no HCM code for (the pipeline fails those records;
they do not count against --max-invalid). A file that is not UTF-8 and has no
byte order mark is rejected naming its first such line, unless --encoding says what it is.

examples:
  goal-sync validate goals.jsonl
  goal-sync validate export.csv --max-invalid 1% --json
  goal-sync validate excel-export.csv --encoding windows-1252

exit codes: 0 accepted (invalid records, if any, are listed), 2 bad arguments or unreadable file,
            4 input rejected (not UTF-8, empty, all invalid, a bad CSV header, or over --max-invalid)`;

const OPTIONS = {
  'max-invalid': { type: 'string' },
  encoding: { type: 'string' },
  delimiter: { type: 'string' },
  format: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...MAPPING_OPTIONS,
} as const;

export async function run(argv: string[]): Promise<number> {
  let file: string;
  let format: 'jsonl' | 'csv';
  let maxInvalid: MaxInvalid = DEFAULT_MAX_INVALID;
  let read: Pick<SourceRef, 'encoding' | 'delimiter'> = {};
  let json = false;
  let mapping: GoalMapping = DEFAULT_GOAL_MAPPING;
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
    if (!info?.isFile()) {
      // The command line was right: no --help hint for a file that is not there.
      console.error(
        usageLine('validate', `${escapeControl(file)}: ${info ? 'not a file' : 'no such file'}`, false),
      );
      return 2;
    }
    const f = values.format === undefined ? undefined : enumValue(values.format, FORMATS);
    if (values.format !== undefined && !f) throw new Error('--format must be jsonl or csv');
    format = f ?? formatFromUri(file);
    if (values['max-invalid'] !== undefined) maxInvalid = parseMaxInvalid(values['max-invalid']);
    mapping = mappingFromFlags(values);
    read = {
      ...(values.encoding === undefined ? {} : { encoding: encodingName(values.encoding) }),
      ...(values.delimiter === undefined ? {} : { delimiter: parseDelimiter(values.delimiter) }),
    };
  } catch (err) {
    console.error(usageLine('validate', flagMessage(err)));
    return 2;
  }
  let verdict: string;
  let plan: SourcePlan | undefined;
  let shape: SourceShape | undefined;
  let unmapped: Unmapped[] = [];
  try {
    ({ plan, shape, unmapped } = await planFile({ uri: file, format, ...read }, mapping));
    const problem = acceptanceProblem(
      { totalRecords: plan.totalRecords, validRecords: plan.validRecords, invalid: plan.invalid.length },
      maxInvalid,
    );
    verdict = problem
      ? `input rejected: ${problem === 'empty' ? 'no records' : problem === 'all-invalid' ? 'every record is invalid' : `more invalid records than --max-invalid ${formatMaxInvalid(maxInvalid)}`}`
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
          ...(shape ? { encoding: shape.encoding, jsonArray: shape.jsonArray } : {}),
          records: plan?.totalRecords ?? 0,
          valid: plan?.validRecords ?? 0,
          invalid: plan?.invalid ?? [],
          unmapped,
          verdict,
        },
        null,
        2,
      ),
    );
  } else {
    console.log(
      `${escapeControl(file)} (${describeShape(format, shape)}): ${plan?.totalRecords ?? 0} records, ${plan?.validRecords ?? 0} valid, ${plan?.invalid.length ?? 0} invalid`,
    );
    for (const bad of plan?.invalid ?? []) {
      console.log(`  line ${bad.line}${bad.key ? ` ${bad.key}` : ''}: ${escapeControl(bad.reason)}`);
    }
    if (unmapped.length > 0) console.log(`${unmapped.length} valid records the mapping has no HCM code for:`);
    for (const u of unmapped) console.log(`  line ${u.line} ${u.key}: ${escapeControl(u.reason)}`);
    console.log(escapeControl(verdict));
  }
  return rejected ? 4 : 0;
}

/** "csv", "JSON array, utf-16le": what the reader took the file for. */
function describeShape(format: string, shape: SourceShape | undefined): string {
  const kind = shape?.jsonArray ? 'JSON array' : format;
  return shape && shape.encoding !== 'utf-8' ? `${kind}, ${shape.encoding}` : kind;
}

/** A flag's own message (`--encoding 'x' is not ...`) or the parser's. */
function flagMessage(err: unknown): string {
  const message = (err as Error).message;
  return /^(encoding|delimiter) /.test(message) ? `--${message}` : message;
}

/**
 * The pipeline's plan over the file; a file that needs a UTF-8 copy (another encoding, UTF-16, a JSON
 * array) is copied to a temporary directory first, as plan-sync does, and the copy is removed after.
 */
async function planFile(
  ref: SourceRef,
  mapping: GoalMapping,
): Promise<{ plan: SourcePlan; shape: SourceShape; unmapped: Unmapped[] }> {
  const source = openGoalSource(ref);
  const shape = await source.shape();
  const copy = await source.normalizedCopy();
  if (!copy) return { ...(await planAndMap(source, mapping)), shape };
  const dir = await mkdtemp(join(tmpdir(), 'goal-sync-validate-'));
  try {
    const copied = await fileSourceCopies(dir).write('validate', 1, copy, ref);
    return { ...(await planAndMap(openGoalSource(copied), mapping)), shape };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Unmapped {
  line: number;
  key: string;
  reason: string;
}

/** The plan, then every valid record through the mapping (what sync-chunk would fail). */
async function planAndMap(
  source: ReturnType<typeof openGoalSource>,
  mapping: GoalMapping,
): Promise<{ plan: SourcePlan; unmapped: Unmapped[] }> {
  const plan = await source.plan(1_000);
  const unmapped: Unmapped[] = [];
  for (const chunk of plan.chunks) {
    for await (const entry of source.readChunk(chunk)) {
      if (!('record' in entry)) continue;
      const mapped = mapGoal(entry.record, mapping);
      if (!mapped.ok)
        unmapped.push({ line: entry.line, key: entry.record.externalKey, reason: mapped.reason });
    }
  }
  return { plan, unmapped };
}
