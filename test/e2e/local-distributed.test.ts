import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../local/runner/report.ts';
import { goalSync } from '../support/goal-sync-cli.ts';

// The contract of issue 15: `--map-threshold N` sends runs of more than N chunks to the Distributed
// Map branch of the one state machine, and the report says which branch ran.
describe('goal-sync local --map-threshold (end to end)', { timeout: 180_000 }, () => {
  it('a small run forced through the Distributed Map stores each valid goal once', async () => {
    const r = await goalSync([
      'local',
      '--goals',
      '300',
      '--chunk-size',
      '20',
      '--invalid-rate',
      '0.05',
      // 5% invalid on purpose lands either side of the 5% default limit.
      '--max-invalid',
      '10%',
      '--map-threshold',
      '3',
      '--token-ttl',
      '5',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout) as RunReport;
    const valid = rep.goals.total - rep.goals.invalid;
    expect(rep.map).toBe('distributed');
    // 15 chunks in batches of 4: 4 child executions.
    expect(rep.mapRun).toEqual({ items: 15, children: 4, succeeded: 4, failed: 0, aborted: 0 });
    expect(rep.status).toBe('completed');
    expect(rep.goals.invalid).toBeGreaterThan(0);
    expect(rep.goals.created).toBe(valid);
    // Counted by the HCM simulator, not by the pipeline.
    expect(rep.hcm.goalsStored).toBe(valid);
    expect(rep.hcm.duplicates).toBe(0);
  });

  it('a threshold above the inline Map limit is a usage error (exit 2)', async () => {
    const r = await goalSync(['local', '--map-threshold', '766', '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--map-threshold must be an integer from 0 to 765/);
  });
});
