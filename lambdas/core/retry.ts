import { isRetryable, TransientError } from './errors.ts';
import type { Clock } from './ports.ts';

export interface BackoffOptions {
  /** Total attempts including the first. */
  attempts: number;
  baseMs: number;
  capMs: number;
  /** Defaults to `isRetryable` from errors.ts. */
  retryOn?: (err: unknown) => boolean;
  /** Random source in [0, 1); injectable so tests can pin jitter. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  /** Stop retrying once this absolute time (epoch ms) would be passed. */
  deadline?: number;
  now?: () => number;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A wait on `clock` (a model clock in the interleaving tests), a real timer otherwise. */
export const sleepOn = (clock: Clock | undefined, ms: number): Promise<void> =>
  clock?.sleep ? clock.sleep(ms) : sleep(ms);

/** A timeout signal on `clock`, AbortSignal.timeout otherwise. */
export const timeoutOn = (clock: Clock | undefined, ms: number): AbortSignal =>
  clock?.timeout ? clock.timeout(ms) : AbortSignal.timeout(ms);

/** AWS "full jitter": a uniform delay in [0, min(cap, base * 2^attempt)). */
export function fullJitterDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/** Retry-After wins when it asks for longer than the jittered delay. */
export function nextDelay(
  attempt: number,
  err: unknown,
  opts: Pick<BackoffOptions, 'baseMs' | 'capMs' | 'random'>,
): number {
  const jittered = fullJitterDelay(attempt, opts.baseMs, opts.capMs, opts.random);
  const retryAfter = err instanceof TransientError ? err.retryAfterMs : undefined;
  return retryAfter !== undefined ? Math.max(jittered, retryAfter) : jittered;
}

export async function withBackoff<T>(fn: (attempt: number) => Promise<T>, opts: BackoffOptions): Promise<T> {
  const retryOn = opts.retryOn ?? isRetryable;
  const wait = opts.sleep ?? sleep;
  const now = opts.now ?? Date.now;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt + 1 >= opts.attempts || !retryOn(err)) throw err;
      const delayMs = nextDelay(attempt, err, opts);
      if (opts.deadline !== undefined && now() + delayMs > opts.deadline) throw err;
      opts.onRetry?.({ attempt, delayMs, error: err });
      await wait(delayMs);
    }
  }
}

/** Parses an HTTP Retry-After header (seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
