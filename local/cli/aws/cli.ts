import { type ParseArgsConfig, parseArgs } from 'node:util';
import { AppError, ReauthRequiredError } from '../../../lambdas/core/errors.ts';
import { maskSecrets } from '../../../lambdas/core/mask.ts';
import { sleep } from '../../../lambdas/core/retry.ts';
import { type AwsClients, createAwsClients } from './clients.ts';
import { openBrowser } from './oauth/open-browser.ts';

/** Exit codes shared by every goal-sync command. */
export const EXIT = { ok: 0, failure: 1, usage: 2, needsReauth: 3 } as const;

/** Bad flags: the command prints its usage and exits 2. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
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

/** parseArgs in strict mode, with node's TypeErrors turned into CliUsageError (exit 2). */
export function parseFlags<O extends Options>(argv: string[], options: O) {
  try {
    const parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
    if (parsed.positionals.length > 0)
      throw new CliUsageError(`unexpected argument '${parsed.positionals[0]}'`);
    return parsed.values;
  } catch (err) {
    if (err instanceof CliUsageError) throw err;
    throw new CliUsageError(err instanceof Error ? err.message : String(err));
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
 * the same way: usage errors -> 2 (with the usage text), ReauthRequiredError -> 3, anything else -> 1.
 */
export async function runCommand(usage: string, deps: CliDeps, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof CliUsageError) {
      deps.err(`${err.message}\n\n${usage}`);
      return EXIT.usage;
    }
    deps.err(describeError(err));
    if (err instanceof ReauthRequiredError) return EXIT.needsReauth;
    if (!(err instanceof AppError) && isCredentialsProblem(err)) {
      deps.err('hint: configure AWS credentials (AWS_PROFILE, aws sso login, or AWS_ACCESS_KEY_ID/...)');
    }
    return EXIT.failure;
  }
}

function isCredentialsProblem(err: unknown): boolean {
  const name = err instanceof Error ? err.name : '';
  return /CredentialsProviderError|ExpiredToken|UnrecognizedClient|InvalidClientTokenId/.test(name);
}
