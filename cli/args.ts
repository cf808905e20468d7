import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type GoalMapping, parseGoalMapping } from '#core/hcm/index.ts';
import { didYouMean, escapeControl } from '#core/source/index.ts';
import { ConfigError } from '../lambdas/core/errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** A bad command line: the command prints one line (no usage dump) and exits 2. */
export class ArgsError extends Error {
  override readonly name: string = 'ArgsError';
}

/**
 * The one-line form every command prints for a bad command line. The --help hint only where the flags
 * are the problem: for a missing or unwritable file the flags were right, and the hint is noise.
 */
export const usageLine = (command: string, message: string, hint = true): string =>
  `goal-sync ${command}: ${message}${hint ? ` (goal-sync ${command} --help shows every flag)` : ''}`;

const NEGATIVE_NUMBER = /^-\d/;

/**
 * node:util parseArgs in strict mode, with its messages turned into short ones: the unknown flag
 * with the nearest known one, "--goals needs a value", and a negative number taken as the value it
 * is (`--goals -5` is then refused by the flag's own range check, not by the parser).
 */
export function parseCli<O extends Options>(
  argv: string[],
  options: O,
  opts: { positionals?: number } = {},
): ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>> {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    const next = argv[i + 1];
    if (name && options[name]?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else {
      args.push(arg);
    }
  }
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>
  >;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new ArgsError(friendly(err, options));
  }
  const allowed = opts.positionals ?? 0;
  if (parsed.positionals.length > allowed) {
    throw new ArgsError(`unexpected argument '${escapeControl(parsed.positionals[allowed]!)}'`);
  }
  return parsed;
}

function friendly(err: unknown, options: Options): string {
  const e = err as { code?: string; message?: string };
  const message = escapeControl(e.message ?? String(err));
  const flags = Object.keys(options).map((n) => `--${n}`);
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(message)?.[1] ?? '';
    const shown = flag.startsWith('-') ? flag : `-${flag}`;
    return `unknown flag ${shown}${didYouMean(shown.replace(/^-(?!-)/, '--'), flags)}`;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /--([\w-]+)/.exec(message)?.[1];
    if (flag && options[flag]?.type === 'string') return `--${flag} needs a value`;
    if (flag) return `--${flag} takes no value`;
  }
  return message.split('\n')[0]!;
}

/**
 * An enum flag's value, however it is spelled: `client-credentials`, `client_credentials` and
 * `Client_Credentials` are one value (people copy spellings from OAuth specs, env vars and other CLIs).
 * Returns the canonical spelling, or undefined when it is none of them.
 */
export function enumValue<T extends string>(raw: string, values: readonly T[]): T | undefined {
  const key = (v: string) => v.toLowerCase().replaceAll('-', '_');
  return values.find((v) => key(v) === key(raw.trim()));
}

/** `--status-map`, `--category-map`, `--percent-codes`: `goal-sync local` and `validate` take the same. */
export const MAPPING_OPTIONS = {
  'status-map': { type: 'string' },
  'category-map': { type: 'string' },
  'percent-codes': { type: 'string' },
} as const;

/** The tenant's codes from those flags (defaults for the rest); a bad value is an ArgsError (exit 2). */
export function mappingFromFlags(v: {
  'status-map'?: string | undefined;
  'category-map'?: string | undefined;
  'percent-codes'?: string | undefined;
}): GoalMapping {
  try {
    return parseGoalMapping({
      ...(v['status-map'] === undefined ? {} : { statusMap: v['status-map'] }),
      ...(v['category-map'] === undefined ? {} : { categoryMap: v['category-map'] }),
      ...(v['percent-codes'] === undefined ? {} : { percentCodes: v['percent-codes'] }),
    });
  } catch (err) {
    if (err instanceof ConfigError) throw new ArgsError(err.message.replace(/^\w+ \/ /, ''));
    throw err;
  }
}
