import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../local/runner/report.ts';
import { goalSync } from '../support/goal-sync-cli.ts';

// Issue 24 item 4: a REST run that would not fit in one execution continues in new executions of the
// same run before the timeout, never a timed-out failure. `--execution-timeout-s` holds each local
// execution to its timeout as Step Functions does (a late one is aborted and fails TIMED_OUT).
describe('goal-sync local --execution-timeout-s (end to end)', { timeout: 300_000 }, () => {
  it('a run that would not fit continues in 2+ executions: every valid goal once, 0 duplicates', async () => {
    const r = await goalSync([
      'local',
      '--goals',
      '200',
      '--chunk-size',
      '5',
      '--concurrency',
      '2',
      '--rate-limit',
      '20',
      '--invalid-rate',
      '0.05',
      '--max-invalid',
      '10%',
      // 10 s each, half kept free: about 5 s of writes per execution, the run needs ~20 s of them.
      '--execution-timeout-s',
      '10',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout) as RunReport;
    const valid = rep.goals.total - rep.goals.invalid;
    expect(rep.status).toBe('completed');
    expect(rep.executions).toBeGreaterThanOrEqual(2);
    expect(rep.writeMode).toBe('rest');
    expect(rep.goals.invalid).toBeGreaterThan(0);
    expect(rep.goals.created).toBe(valid);
    expect(rep.goals.unsettled).toBe(0);
    // Counted by the HCM simulator, not by the pipeline.
    expect(rep.hcm.goalsStored).toBe(valid);
    expect(rep.hcm.duplicates).toBe(0);
  });
});
