import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { protocolGuards } from '../../lambdas/core/protocol-guards.ts';
import type { RunReport } from '../../local/runner/report.ts';
import { writeSampleFile } from '../../local/sample/generate.ts';
import { runLocalInProcess } from '../support/campaign.ts';

/**
 * Issue 25's campaign through `goal-sync local` and its flags, end to end (dynalite, IdP and HCM
 * simulators over HTTP, the state machine): HCM commits 30% of the writes it answered 504 to 10 s later,
 * twenty times the protocol's visibility wait (`--visibility-ms 500`), with a settle horizon past that
 * delay. Run A creates, run B changes every goal while HCM still commits late (its late PATCHes land),
 * run C verifies on a quiet HCM. Promises: no natural key gets a second goal; no goal holds other
 * content than its ledger says (C's verify finds nothing drifted or missing); every unclear record is
 * settled or reported `unsettled`, and C settles them all.
 */
const GOALS = 30;
const LATE = 'hcm.lateCommitRate=0.3,hcm.lateCommitDelayMs=10000';

let dir: string;
const source = (v: string) => join(dir, `${v}.jsonl`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'late-local-'));
  await writeSampleFile(source('v1'), { goals: GOALS, invalidRate: 0, seed: 25 });
  const lines = (await readFile(source('v1'), 'utf8')).trim().split('\n');
  const changed = lines.map((l) => JSON.stringify({ ...JSON.parse(l), description: 'content v2' }));
  await writeFile(source('v2'), `${changed.join('\n')}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  protocolGuards.noPostWhileUnclear = true;
  protocolGuards.ifMatchOnEveryPatch = true;
});

const run = (runId: string, v: string, extra: string[], state = 'state'): Promise<RunReport> =>
  runLocalInProcess([
    '--source',
    source(v),
    '--state-dir',
    join(dir, state),
    '--run-id',
    runId,
    '--chunk-size',
    '10',
    '--concurrency',
    '3',
    ...extra,
  ]);

describe('late commits past the visibility wait (goal-sync local --visibility-ms, e2e)', () => {
  it('0 duplicates, no goal older than its ledger, every unclear record settled or reported unsettled', async () => {
    const timing = ['--visibility-ms', '500', '--settle-horizon-ms', '3600000'];
    const a = await run('late-a', 'v1', ['--faults', LATE, ...timing]);
    const b = await run('late-b', 'v2', ['--faults', LATE, ...timing]);
    const c = await run('late-c', 'v2', ['--verify', ...timing]);
    const row = (r: RunReport) => ({
      status: r.status,
      created: r.goals.created,
      updated: r.goals.updated,
      reconciled: r.goals.reconciled,
      unchanged: r.goals.unchanged,
      unsettled: r.goals.unsettled,
      failed: r.goals.failed,
      duplicates: r.hcm.duplicates,
      lateCommits: r.overlap?.lateCommits ?? r.hcm.lateCommits ?? 0,
      verify: r.verify,
    });
    process.stdout.write(`[late-commit-local] ${JSON.stringify({ a: row(a), b: row(b), c: row(c) })}\n`);
    for (const r of [a, b, c]) {
      expect(r.hcm.duplicates, JSON.stringify(row(r))).toBe(0);
      expect(r.goals.failed).toBe(0);
      // Every record ends done or unsettled: none is left without a terminal state.
      const settled = r.goals.created + r.goals.updated + r.goals.unchanged + r.goals.reconciled;
      expect(settled + r.goals.unsettled).toBe(GOALS);
    }
    // The faults fired: HCM committed writes later than the protocol waited.
    expect((a.hcm.lateCommits ?? 0) + (b.hcm.lateCommits ?? 0)).toBeGreaterThan(0);
    expect(a.goals.unsettled).toBeGreaterThan(0);
    // C, on a quiet HCM after every late write landed: nothing unsettled, nothing drifted or missing.
    expect(c.goals.unsettled).toBe(0);
    expect(c.status).toBe('completed');
    expect(c.verify).toMatchObject({ missing: 0, drifted: 0 });
    expect(c.hcm.goalsStored).toBe(GOALS);
  }, 300_000);

  it('control: with the POST fence and If-Match turned off, the same runs store duplicates or drift', async () => {
    protocolGuards.noPostWhileUnclear = false;
    protocolGuards.ifMatchOnEveryPatch = false;
    // The settle horizon the fence would keep; without the fence a read that does not see the goal POSTs.
    const timing = ['--visibility-ms', '500', '--settle-horizon-ms', '3600000'];
    // Twice the late-commit rate: more writes in doubt, so the control does not hang on one or two.
    const late = LATE.replace('lateCommitRate=0.3', 'lateCommitRate=0.5');
    const a = await run('ctl-a', 'v1', ['--faults', late, ...timing], 'control');
    const b = await run('ctl-b', 'v2', ['--faults', late, ...timing], 'control');
    const c = await run('ctl-c', 'v2', ['--verify', ...timing], 'control');
    const found = {
      duplicates: [a, b, c].map((r) => r.hcm.duplicates),
      drifted: c.verify?.drifted,
    };
    process.stdout.write(`[late-commit-local control] ${JSON.stringify(found)}\n`);
    expect(Math.max(...found.duplicates) > 0 || (found.drifted ?? 0) > 0).toBe(true);
  }, 300_000);
});
