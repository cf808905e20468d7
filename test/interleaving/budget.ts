import type fc from 'fast-check';

/**
 * Schedules per protocol: 10,000 in `npm test` (the CI budget), INTERLEAVING_RUNS for the long mode
 * (`npm run soak` sets 1,000,000). INTERLEAVING_SEED (+ INTERLEAVING_PATH) replays one failure exactly:
 * fast-check prints both with the shrunk counterexample and its schedule.
 */
export const CI_SCHEDULES = 10_000;

export function interleavingParameters(): fc.Parameters<unknown> & { numRuns: number } {
  const runs = Number(process.env.INTERLEAVING_RUNS ?? CI_SCHEDULES);
  const seed =
    process.env.INTERLEAVING_SEED === undefined ? undefined : Number(process.env.INTERLEAVING_SEED);
  const path = process.env.INTERLEAVING_PATH;
  return {
    numRuns: runs,
    ...(seed === undefined ? {} : { seed }),
    ...(path === undefined ? {} : { path }),
  };
}

/** Long enough for the long mode; the CI budget itself takes 2-4 minutes per protocol on 2 cores. */
export const SUITE_TIMEOUT_MS = 24 * 3_600_000;

/** The schedule of a (shrunk) failing run in one line: who did what, in the order it happened. */
export function storyOf(s: fc.Scheduler, extra: readonly string[] = []): string {
  const steps = s
    .report()
    .filter((t) => t.status !== 'pending' && !String(t.label).startsWith('setup:'))
    .map((t) => String(t.label));
  return [...extra, ...steps].join(' → ');
}
