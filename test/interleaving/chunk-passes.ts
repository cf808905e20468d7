import type { ChunkResult } from '#core/sync/index.ts';
import { TransientError } from '../../lambdas/core/errors.ts';

/**
 * A chunk's passes as the state machine runs them: a pass that failed with a TransientError (a token
 * that could not be had, which the HCM model draws since issue 25's write fences) is retried after 2 s,
 * a partial pass after the wait it asked for; at most `passes` of them.
 */
export async function passUntilComplete(
  clock: { sleep(ms: number): Promise<void> },
  passes: number,
  pass: (n: number) => Promise<ChunkResult>,
): Promise<void> {
  for (let n = 0; n < passes; n++) {
    let result: ChunkResult;
    try {
      result = await pass(n);
    } catch (err) {
      if (!(err instanceof TransientError)) throw err;
      await clock.sleep(2_000);
      continue;
    }
    if (result.status === 'complete') return;
    await clock.sleep(Math.max(1, result.waitSeconds) * 1_000);
  }
}
