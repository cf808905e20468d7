import { describe, expect, it } from 'vitest';
import type { RunReport } from '../../local/runner/report.ts';
import { goalSync } from '../support/goal-sync-cli.ts';

async function localRun(args: string[]): Promise<{ code: number; report: RunReport; stderr: string }> {
  const r = await goalSync(['local', ...args, '--json']);
  try {
    return { code: r.code, report: JSON.parse(r.stdout) as RunReport, stderr: r.stderr };
  } catch {
    throw new Error(`goal-sync exited ${r.code} without a report: ${r.stderr.slice(-2000)}`);
  }
}

// Issue 11 "Done when": slow and throttled DynamoDB, slow KMS, 5 s tokens: nothing lost, no replay.
describe('goal-sync local with slow AWS dependencies', () => {
  it('--faults dynamo.throttleRate=0.05,dynamo.latencyMs=100,kms.latencyMs=300 --token-ttl 5: 0 failed, 0 reuse', async () => {
    const [slow, jwt] = await Promise.all([
      localRun([
        '--goals',
        '300',
        '--token-ttl',
        '5',
        '--faults',
        'dynamo.throttleRate=0.05,dynamo.latencyMs=100,kms.latencyMs=300',
      ]),
      // The grant a background job should prefer: nothing rotating, nothing to replay.
      localRun(['--goals', '100', '--token-ttl', '3', '--grant', 'jwt-bearer']),
    ]);
    expect(slow.code, slow.stderr).toBe(0);
    // Each goal stored once, by the pod's count. Not `created: 300`: on a busy machine a write whose
    // answer came too late is found by the lookup that follows (299 created + 1 found, test:loaded).
    expect(slow.report.goals).toMatchObject({ failed: 0, unsettled: 0 });
    expect(slow.report.hcm).toMatchObject({ goalsStored: 300, duplicates: 0 });
    expect(slow.report.tokens.reuseDetected).toBe(0);
    expect(slow.report.tokens.revocations).toBe(0);
    expect(slow.report.tokens.refreshes).toBeGreaterThan(1);
    // The faults really happened: DynamoDB calls went through the proxy and some were throttled.
    expect(slow.report.dynamoFaults?.throttled).toBeGreaterThan(0);
    expect(jwt.code, jwt.stderr).toBe(0);
    expect(jwt.report.goals).toMatchObject({ failed: 0 });
    expect(jwt.report.tokens.refreshes).toBeGreaterThan(1);
    process.stdout.write(
      `[broker-measure] slow-aws ${JSON.stringify({ ...slow.report.tokens, dynamo: slow.report.dynamoFaults, durationMs: slow.report.durationMs })}\n`,
    );
  });
});
