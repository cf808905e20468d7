import type { ParseArgsConfig } from 'node:util';
import { escapeControl } from '#core/source/index.ts';
import { AppError, ReauthRequiredError } from '../../lambdas/core/errors.ts';
import { maskSecrets } from '../../lambdas/core/mask.ts';
import { sleep } from '../../lambdas/core/retry.ts';
import { ArgsError, parseCli, usageLine } from '../args.ts';
import { type AwsClients, createAwsClients } from './clients.ts';
import { openBrowser } from './oauth/open-browser.ts';

/** Exit codes shared by every goal-sync command. */
export const EXIT = { ok: 0, failure: 1, usage: 2, needsReauth: 3 } as const;

/** Bad flags: the command prints its usage and exits 2. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
  /** `hint: false`: a file problem (the flags were right): no --help hint. */
  constructor(
    message: string,
    readonly hint = true,
  ) {
    super(message);
  }
}

/**
 * Everything the AWS-mode commands touch outside their own logic. The dispatcher passes nothing
 * (real clients, console, real timers); tests inject output collectors, no-op sleeps and short timeouts.
 */
export interface CliDeps {
  clients(region: string | undefined): AwsClients;
  out(line: string): void;
  err(line: string): void;
  sleep(ms: number): Promise<void>;
  now(): number;
  /** Resolves true if a browser was launched. */
  openBrowser(url: string): Promise<boolean>;
  timeouts: {
    /** How long `connect` waits for the browser to come back to the callback. */
    callbackMs: number;
    /** Token endpoint request timeout for the code exchange. */
    exchangeMs: number;
  };
}

export function defaultDeps(overrides: Partial<CliDeps> = {}): CliDeps {
  return {
    clients: (region) => createAwsClients(region),
    // Last line of defence: even a line built by mistake from a token-bearing string leaves masked.
    out: (line) => console.log(maskSecrets(line)),
    err: (line) => console.error(maskSecrets(line)),
    sleep,
    now: Date.now,
    openBrowser,
    timeouts: { callbackMs: 5 * 60_000, exchangeMs: 15_000 },
    ...overrides,
  };
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** The flags every AWS-mode command takes. */
export const COMMON_OPTIONS = {
  stack: { type: 'string' },
  region: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/** parseArgs in strict mode with one-line messages ("did you mean"), as CliUsageError (exit 2). */
export function parseFlags<O extends Options>(argv: string[], options: O) {
  try {
    return parseCli(argv, options).values;
  } catch (err) {
    if (err instanceof ArgsError) throw new CliUsageError(err.message);
    throw err;
  }
}

export function requireFlag(value: string | undefined, name: string): string {
  if (!value) throw new CliUsageError(`--${name} is required`);
  return value;
}

export function intFlag(
  raw: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new CliUsageError(`--${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${maskSecrets(err.message)}`;
  return maskSecrets(String(err));
}

/**
 * Runs a command body and maps what it throws to an exit code, so every command reports failures
 * the same way: usage errors -> 2 (one line), ReauthRequiredError -> 3, anything else -> 1. Errors
 * from AWS name the region and stack they were about, and what to do.
 */
export async function runCommand(
  usage: string,
  deps: CliDeps,
  body: () => Promise<number>,
  argv: string[] = [],
): Promise<number> {
  const command = /^goal-sync (\w+)/.exec(usage)?.[1] ?? 'command';
  try {
    return await body();
  } catch (err) {
    if (err instanceof CliUsageError) {
      deps.err(usageLine(command, err.message, err.hint));
      return EXIT.usage;
    }
    deps.err(describeError(err));
    if (err instanceof ReauthRequiredError) return EXIT.needsReauth;
    if (!(err instanceof AppError)) {
      const hint = awsHint(err, whereOf(argv));
      if (hint) deps.err(`hint: ${hint}`);
    }
    return EXIT.failure;
  }
}

/**
 * The opening every stack command shares: parse the flags, answer --help, require --stack; then `body`
 * runs with the parsed flags (clients are built lazily, so argument errors never wait on AWS), and any
 * failure becomes an exit code with a hint naming the region and the stack.
 */
export function runStackCommand<O extends Options & typeof COMMON_OPTIONS>(
  argv: string[],
  usage: string,
  options: O,
  deps: CliDeps,
  body: (c: {
    flags: ReturnType<typeof parseFlags<O>>;
    stackName: string;
    clients: () => AwsClients;
  }) => Promise<number>,
): Promise<number> {
  return runCommand(
    usage,
    deps,
    async () => {
      const flags = parseFlags(argv, options);
      // parseArgs' value type of a generic option set is not narrowed; the common flags are known.
      const common = flags as { help?: boolean; stack?: string; region?: string };
      if (common.help) {
        deps.out(usage);
        return EXIT.ok;
      }
      const stackName = requireFlag(common.stack, 'stack');
      return body({ flags, stackName, clients: () => deps.clients(common.region) });
    },
    argv,
  );
}

/** "region eu-west-1, stack hcm-goal-sync": the context an AWS error needs to be actionable. */
function whereOf(argv: string[]): { region: string; stack: string } {
  const flag = (name: string) => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return undefined;
    return argv[i]!.includes('=') ? argv[i]!.slice(argv[i]!.indexOf('=') + 1) : argv[i + 1];
  };
  const region =
    flag('region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'from the AWS profile';
  return { region: escapeControl(region), stack: escapeControl(flag('stack') ?? '(none)') };
}

function awsHint(err: unknown, where: { region: string; stack: string }): string | undefined {
  const e = err as { name?: string; code?: string; message?: string };
  const text = `${e.name ?? ''} ${e.code ?? ''} ${e.message ?? ''}`;
  const at = `region ${where.region}, stack ${where.stack}`;
  if (/Region is missing/i.test(text)) {
    return 'no AWS region: pass --region REGION or set AWS_REGION (the stack lives in one region)';
  }
  if (
    /CredentialsProviderError|ExpiredToken|UnrecognizedClient|InvalidClientTokenId|security token/i.test(text)
  ) {
    return `AWS credentials missing or expired (${at}): AWS_PROFILE, aws sso login, or AWS_ACCESS_KEY_ID/...`;
  }
  if (
    /Timeout|ETIMEDOUT|ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|socket hang up|NetworkingError/i.test(text)
  ) {
    return `AWS did not answer (${at}): check the network, a proxy or AWS_ENDPOINT_URL, and that the region is the stack's; then run the command again`;
  }
  if (/does not exist|ValidationError|StackNotFound/i.test(text)) {
    return `is the stack deployed in this region? (${at}); aws cloudformation describe-stacks --region ${where.region} lists them`;
  }
  return undefined;
}
