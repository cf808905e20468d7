import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HcmSim } from '../../local/hcm/index.ts';
import type { IdpSim } from '../../local/idp/index.ts';
import { runLocalInProcess } from '../support/campaign.ts';
import { startSimPair } from '../support/sim-pair.ts';

/**
 * `goal-sync local --write-mode hdl|auto` (issue 24): the state machine's HDL branch against the HCM
 * simulator's data sets, with its fault flags: every valid goal stored once, failed lines reported
 * with Oracle's message (not lost), a rerun with changed content updated in place with no new goal,
 * and auto taking HDL only above the threshold. The simulators run outside the pipeline so the runs
 * share them (and the test can set their faults).
 */
const GOALS = 60;

let idp: IdpSim;
let hcm: HcmSim;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-hdl-'));
  ({ idp, hcm } = await startSimPair());
});
beforeEach(() => {
  hcm.setFaults({
    'hdl.loadLinesPerSecond': 5_000,
    'hdl.uploadDropAfterStoreRate': 0,
    'hdl.submitDropAfterAcceptRate': 0,
    'hdl.lineErrorRate': 0,
  });
});
afterAll(async () => {
  await hcm?.close();
  await idp?.close();
  await rm(dir, { recursive: true, force: true });
});

const run = (stateDir: string, runId: string, ...extra: string[]) =>
  runLocalInProcess([
    '--invalid-rate',
    '0',
    '--state-dir',
    stateDir,
    '--idp-url',
    idp.url,
    '--hcm-url',
    hcm.url,
    '--run-id',
    runId,
    ...extra,
  ]);

/** The first run's source as kept in the state dir, with every third record's description changed. */
async function changedSource(stateDir: string, runId: string): Promise<string> {
  const sources = join(stateDir, 'sources');
  const name = (await readdir(sources)).find((f) => f.startsWith(runId))!;
  const lines = (await readFile(join(sources, name), 'utf8')).trim().split('\n');
  const changed = lines.map((l, i) => {
    const r = JSON.parse(l) as Record<string, unknown>;
    return JSON.stringify(i % 3 === 0 ? { ...r, description: `changed at the source ${i}` } : r);
  });
  const path = join(dir, `${runId}-changed.jsonl`);
  await writeFile(path, `${changed.join('\n')}\n`);
  return path;
}

describe('goal-sync local --write-mode hdl', () => {
  it('stores every valid goal once under lost answers and failed lines; a rerun updates in place', async () => {
    const stateDir = join(dir, 'hdl');
    hcm.setFaults({
      'hdl.uploadDropAfterStoreRate': 0.5,
      'hdl.submitDropAfterAcceptRate': 0.5,
      'hdl.lineErrorRate': 0.1,
    });
    const first = await run(stateDir, 'hdl-first', '--goals', String(GOALS), '--write-mode', 'hdl');
    expect(first.writeMode).toBe('hdl');
    expect(first.status).toBe('completed_with_failures');
    expect(first.hdl!.linesFailed).toBeGreaterThan(0);
    expect(first.hdl!.linesLoaded + first.hdl!.linesFailed).toBe(GOALS);
    expect(first.hdl!.linesUnsettled).toBe(0);
    // One data set per part, however many answers were lost; no REST write at all.
    expect(first.hdl!.submissions).toBeGreaterThanOrEqual(first.hdl!.dataSets);
    expect(first.goals).toMatchObject({ created: first.hdl!.linesLoaded, failed: first.hdl!.linesFailed });
    expect(first.hcm).toMatchObject({ duplicates: 0, writes: 0, goalsStored: first.hdl!.linesLoaded });
    // Failed lines are reported with Oracle's message, not lost.
    expect(first.failedRecords).toHaveLength(first.hdl!.linesFailed);
    for (const f of first.failedRecords) expect(f.reason).toMatch(/HDL data set \d+: Goal \(line \d+\): /);

    // The same records again with changed content, no faults: the failed lines load now, the changed
    // goals are updated by their source key, nothing is created twice.
    hcm.setFaults({
      'hdl.lineErrorRate': 0,
      'hdl.uploadDropAfterStoreRate': 0,
      'hdl.submitDropAfterAcceptRate': 0,
    });
    const source = await changedSource(stateDir, 'hdl-first');
    const second = await run(stateDir, 'hdl-second', '--source', source, '--write-mode', 'hdl');
    expect(second.status).toBe('completed');
    expect(second.goals.created).toBe(first.goals.failed);
    expect(second.goals.updated).toBeGreaterThan(0);
    expect(second.goals.created + second.goals.updated + second.goals.unchanged).toBe(GOALS);
    expect(second.hcm).toMatchObject({ duplicates: 0, writes: 0, goalsStored: GOALS });
  });

  it('auto takes HDL above --hdl-threshold records to write and REST at or below it', async () => {
    const stateDir = join(dir, 'auto');
    // Another seed: goals of their own, not the first test's (the simulators are shared).
    const rest = await run(
      stateDir,
      'auto-rest',
      '--goals',
      '40',
      '--seed',
      '24',
      '--write-mode',
      'auto',
      '--hdl-threshold',
      '40',
    );
    expect(rest.writeMode).toBe('rest');
    expect(rest.hdl).toBeUndefined();
    expect(rest.status).toBe('completed');
    expect(rest.hcm.writes).toBeGreaterThan(0);
    const source = await changedSource(stateDir, 'auto-rest');
    // 14 records to write (every third of 40 changed): above 10, the run takes the HDL branch; but REST
    // created these goals, so HCM holds no source key of ours for them and the REST Map updates them.
    const mixed = await run(
      stateDir,
      'auto-hdl',
      '--source',
      source,
      '--write-mode',
      'auto',
      '--hdl-threshold',
      '10',
    );
    expect(mixed.writeMode).toBe('hdl');
    expect(mixed.hdl).toMatchObject({ dataSets: 0, linesLoaded: 0 });
    expect(mixed.goals).toMatchObject({ updated: 14, unchanged: 26, created: 0 });
    expect(mixed.hcm.duplicates).toBe(0);
  });
});
