import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { CodeIdentity } from '../../bench/code-identity.ts';
import {
  busyJiffies,
  coresBetween,
  type LoadSummary,
  processJiffies,
  processTree,
  stealJiffies,
  takenCores,
} from '../../bench/cpu-load.ts';
import { cpuCell } from '../../bench/markdown.ts';
import {
  type BenchResults,
  type MeasuredRow,
  mergeResults,
  serializeResults,
  summaryLines,
  warningsFor,
} from '../../bench/results-file.ts';
import type { RunSeries } from '../../local/charts/series.ts';

/** A row's CPU summary without steal, as rows measured before steal was sampled have it. */
const otherCpu = (meanCores: number): LoadSummary => ({
  source: '/proc/stat minus this process tree',
  meanCores,
  maxCores: 1,
  samples: 9,
});

describe('bench: CPU of other processes', () => {
  it('busy jiffies are user + nice + system + irq + softirq of the aggregate line', () => {
    const stat = 'cpu  1000 50 300 9000 40 0 25 7 0 0\ncpu0 500 25 150 4500 20 0 12 3 0 0\n';
    expect(busyJiffies(stat)).toBe(1000 + 50 + 300 + 0 + 25);
    expect(stealJiffies(stat)).toBe(7);
  });

  it("a process's jiffies are utime + stime + cutime + cstime, also when its name holds spaces and parens", () => {
    const line =
      '4242 (node (worker) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 120 30 7 3 20 0 11 0 1000 1 1 18446744073709551615';
    expect(processJiffies(line)).toBe(120 + 30 + 7 + 3);
  });

  it('other cores = machine busy time minus our tree, per second of the interval', () => {
    const a = { atMs: 0, busy: 10_000, own: 2_000, steal: 500 };
    // 2 s: the machine did 300 jiffies (1.5 cores), our tree 100 (0.5 core), the host stole 40 (0.2 core).
    expect(coresBetween(a, { atMs: 2_000, busy: 10_300, own: 2_100, steal: 540 })).toEqual({
      otherCores: 1,
      ownCores: 0.5,
      stealCores: 0.2,
    });
    // Our tree can lose a reaped child's time for an instant: never below zero.
    expect(coresBetween(a, { atMs: 1_000, busy: 10_050, own: 1_900, steal: 500 })).toEqual({
      otherCores: 0.5,
      ownCores: 0,
      stealCores: 0,
    });
  });

  it('a row is loaded by other processes and steal together; rows from before steal count none', () => {
    const summary = otherCpu(0.7);
    expect(takenCores(summary)).toBe(0.7);
    expect(takenCores({ ...summary, stealMeanCores: 0.4, stealMaxCores: 0.9 })).toBeCloseTo(1.1);
    expect(takenCores(undefined)).toBe(0);
  });

  it.runIf(process.platform === 'linux')('the process tree holds this process and its children', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)'], { stdio: 'ignore' });
    try {
      await new Promise((r) => child.once('spawn', r));
      expect(processTree()).toEqual(expect.arrayContaining([process.pid, child.pid]));
    } finally {
      child.kill('SIGKILL');
    }
  });
});

const code = (over: Partial<CodeIdentity> = {}): CodeIdentity => ({
  commit: 'c1',
  lambdasTree: 'L1',
  localTree: 'O1',
  dirty: false,
  ...over,
});

const row = (id: string, mode: 'managed' | 'naive', over: Partial<MeasuredRow> = {}): MeasuredRow =>
  ({
    id,
    mode,
    name: id,
    goals: 100,
    outcome: 'completed',
    loaded: false,
    attempts: 1,
    commit: 'c1',
    ...over,
  }) as MeasuredRow;

const series = (label: string) => ({ label }) as RunSeries;

function earlier(c: CodeIdentity): BenchResults {
  return {
    generatedAt: 'then',
    code: c,
    machine: { cpus: 2, cpuModel: 'x', memoryGb: 1, node: 'v24', platform: 'linux' },
    scenarios: [row('baseline', 'managed'), row('herd', 'managed'), row('herd', 'naive')],
    checks: [
      { scenario: 'baseline', mode: 'managed', claim: 'old baseline', verdict: 'pass', detail: '' },
      { scenario: 'herd', mode: 'managed', claim: 'old herd', verdict: 'pass', detail: '' },
      { scenario: 'scale', mode: 'managed', claim: 'old scale', verdict: 'pass', detail: '' },
    ],
    notes: [],
    series: { 'baseline/managed': series('b'), 'herd/managed': series('h'), 'herd/naive': series('hn') },
  };
}

const order = ['baseline/managed', 'baseline/naive', 'herd/managed', 'herd/naive'];
const now = (c: CodeIdentity) => ({
  code: c,
  rows: [row('baseline', 'managed', { commit: 'c2' })],
  checks: [
    {
      scenario: 'baseline',
      mode: 'managed' as const,
      claim: 'new baseline',
      verdict: 'pass' as const,
      detail: '',
    },
  ],
  series: { 'baseline/managed': series('b2') },
});

describe('bench: one results file from runs in parts', () => {
  it('keeps earlier rows of the same code that were not measured again, in scenario order', () => {
    const m = mergeResults(earlier(code()), now(code({ commit: 'c2' })), order);
    expect(m.rows.map((r) => `${r.id}/${r.mode}/${r.commit}`)).toEqual([
      'baseline/managed/c2',
      'herd/managed/c1',
      'herd/naive/c1',
    ]);
    expect(m.kept).toEqual(['herd/managed', 'herd/naive']);
    expect(m.dropped).toEqual([]);
    // The re-measured row's checks and series are the new ones; scale checks are recomputed by the caller.
    expect(m.checks.map((c) => c.claim)).toEqual(['new baseline', 'old herd']);
    expect(m.series['baseline/managed']?.label).toBe('b2');
    expect(m.series['herd/naive']?.label).toBe('hn');
  });

  it('drops every earlier row when lambdas/ or local/ differ, or either run had uncommitted changes', () => {
    for (const [before, after] of [
      [code(), code({ lambdasTree: 'L2' })],
      [code(), code({ localTree: 'O2' })],
      [code({ dirty: true }), code()],
      [code(), code({ dirty: true })],
    ] as const) {
      const m = mergeResults(earlier(before), now(after), order);
      expect(m.rows.map((r) => r.id)).toEqual(['baseline']);
      expect(m.dropped).toEqual(['herd/managed', 'herd/naive']);
      expect(m.checks.map((c) => c.claim)).toEqual(['new baseline']);
    }
  });

  it('the top of the report says when rows stayed loaded, are missing, or measured uncommitted code', () => {
    const r = earlier(code({ dirty: true }));
    r.scenarios[1] = row('herd', 'managed', { loaded: true, attempts: 2 });
    const w = warningsFor(r, order);
    expect(w[0]).toMatch(
      /^NOT A QUIET MACHINE: herd\/managed ran while other processes \(with steal\) took more than 1 core/,
    );
    expect(w[1]).toBe('Not measured at this code: baseline/naive.');
    expect(w[2]).toMatch(/uncommitted changes/);
    expect(warningsFor(earlier(code()), ['baseline/managed'])).toEqual([]);
  });

  it('the summary and the table show steal where it was sampled, and say when it was not', () => {
    const cpu = otherCpu(0.1);
    const r = earlier(code());
    r.scenarios = [row('baseline', 'managed', { otherCpu: cpu })];
    expect(summaryLines(r)[2]).toMatch(/steal not sampled in these rows/);
    r.scenarios = [
      row('baseline', 'managed', { otherCpu: { ...cpu, stealMeanCores: 0.06, stealMaxCores: 0.3 } }),
      row('herd', 'managed', { otherCpu: cpu }),
    ];
    expect(summaryLines(r)[2]).toMatch(
      /CPU stolen by the host: mean 0\.06 cores, peak 0\.30 \(1 of 2 rows\)/,
    );
    expect(r.scenarios.map(cpuCell)).toEqual(['0.10 +0.06 steal', '0.10']);
    expect(cpuCell({ loaded: true, attempts: 2, otherCpu: { ...cpu, stealMeanCores: 0.9 } })).toBe(
      '0.10 +0.90 steal LOADED (rerun)',
    );
  });
});

describe('bench: latest.json text', () => {
  it('reads back as the same results, with one line per chart series', () => {
    const r = earlier(code());
    const text = serializeResults(r);
    expect(JSON.parse(text)).toEqual(r);
    expect(text.split('\n').filter((l) => l.startsWith('    "herd/'))).toHaveLength(2);
  });
});
