import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBenchHtml } from '../../bench/html.ts';
import type { BenchResults, MeasuredRow } from '../../bench/results-file.ts';
import { runSeries } from '../../local/charts/series.ts';
import type { RunReport } from '../../local/runner/report.ts';
import { ARTIFACTS, CHROMIUM, chromiumAvailable, openInChromium } from '../support/chromium.ts';
import { goalSync } from '../support/goal-sync-cli.ts';

const inCi = Boolean(process.env.CI);

if (!chromiumAvailable() && !inCi) {
  console.warn(
    `report-html: skipped, no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH); CI runs it`,
  );
}

describe('goal-sync local --naive --report-html', { timeout: 180_000 }, () => {
  it('draws the naive job too: its tokens and HCM answers, no broker refreshes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'goal-sync-html-naive-'));
    try {
      const file = join(dir, 'naive.html');
      const r = await goalSync([
        'local',
        '--naive',
        '--goals',
        '200',
        '--token-ttl',
        '3',
        '--json',
        '--report-html',
        file,
      ]);
      const report = JSON.parse(r.stdout) as RunReport;
      expect(report.mode).toBe('naive');
      expect(report.tokenRefreshes).toBeUndefined();
      const html = await readFile(file, 'utf8');
      expect(html).toContain('data-chart="run/naive"');
      // Its token bars and its HCM answers are drawn (Vega's SVG groups of marks).
      expect(html).toMatch(/class="mark-rule role-mark concat_0_layer_0_marks"[^>]*>\s*<line/);
      expect(html).toMatch(/class="mark-rect role-mark concat_1_layer_0_marks"[^>]*>\s*<path/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('goal-sync local --report-html', { timeout: 180_000 }, () => {
  it.runIf(inCi && !chromiumAvailable())('CI has Chromium to open the report in', () => {
    expect.fail(`CI is set but there is no Chromium at ${CHROMIUM}: .ci/run installs Debian's chromium`);
  });

  describe.runIf(chromiumAvailable())('opened in headless Chromium', () => {
    let dir: string;
    let report: RunReport;
    let html: string;
    const file = () => join(dir, 'run.html');

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'goal-sync-html-'));
      // 3 s tokens and a 2 s token age limit: proactive refreshes and a few 401s to draw.
      const r = await goalSync([
        'local',
        '--goals',
        '300',
        '--token-ttl',
        '3',
        '--rate-limit',
        '60',
        '--faults',
        'hcm.tokenMaxAgeSeconds=2',
        '--json',
        '--report-html',
        file(),
      ]);
      expect(r.code, r.stderr).toBe(0);
      report = JSON.parse(r.stdout) as RunReport;
      html = await readFile(file(), 'utf8');
    }, 180_000);
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('is static: no script, nothing loaded from elsewhere', () => {
      expect(html).not.toMatch(/<script|<link|@import|https?:\/\/(?!www\.w3\.org\/)/i);
    });

    it('draws every panel with marks, logs no error, and leaves a screenshot', async () => {
      const check = await openInChromium(file(), join(ARTIFACTS, 'report-html-local.png'));
      expect(check.errors).toEqual([]);
      expect(check.requests).toEqual([]);
      expect(check.charts).toHaveLength(1);
      const [chart] = check.charts;
      expect(chart!.chart).toBe('run/managed');
      // Token bars, HCM answers, goals written: three panels, each with something drawn.
      expect(chart!.marksPerPanel).toHaveLength(3);
      for (const marks of chart!.marksPerPanel) expect(marks).toBeGreaterThan(0);
    });

    it('marks each of the broker refreshes of the run report on the token chart', () => {
      const refreshes = report.tokenRefreshes ?? [];
      expect(refreshes.length).toBe(report.tokens.refreshes + 1); // + connect's first token
      expect(new Set(refreshes.map((r) => r.trigger))).toContain('proactive');
      expect(html).toContain('HCM answers per second');
      expect(html).toContain(report.runId);
    });
  });
});

/** A bench result of two rows (managed and naive of one scenario), the second still loaded after its rerun. */
function benchFixture(): BenchResults {
  const start = Date.UTC(2026, 11, 5, 12, 0, 0);
  const s0 = start / 1000;
  const seconds = Array.from({ length: 40 }, (_, i) => s0 + i);
  const series = (label: string, unauthorizedFrom: number) =>
    runSeries({
      label,
      startMs: start,
      endMs: start + 40_000,
      rateLimit: 50,
      hcm: {
        requests: seconds.flatMap((second, i) => [
          { second, route: 'POST goals', status: 201, tokenIat: s0, n: 45 },
          ...(i >= unauthorizedFrom
            ? [{ second, route: 'POST goals', status: 401, tokenIat: s0, n: 5 }]
            : []),
          ...(i % 7 === 0 ? [{ second, route: 'POST goals', status: 429, tokenIat: s0, n: 3 }] : []),
        ]),
        writes: seconds.map((second) => ({ second, n: 45 })),
        droppedSeconds: 0,
      },
      idp: {
        tokens: [0, 10, 20, 30].map((t) => ({
          atMs: start + t * 1000,
          iat: s0 + t,
          exp: s0 + t + 15,
          grant: 'refresh_token',
        })),
        droppedTokens: 0,
        requests: [],
        droppedSeconds: 0,
      },
      refreshes:
        label === 'managed'
          ? [
              { atMs: start + 10_020, trigger: 'proactive' },
              { atMs: start + 20_020, trigger: 'jit' },
              { atMs: start + 30_020, trigger: 'afterUnauthorized' },
            ]
          : [],
      steps: label === 'naive' ? [{ atMs: start + 20_000, label: 'restart' }] : [],
    });
  const row = (mode: 'managed' | 'naive', loaded: boolean): MeasuredRow => ({
    id: 'baseline',
    name: 'baseline',
    mode,
    goals: 2000,
    goalsPerSec: 45,
    ceilingRatio: 0.9,
    formulaCeilingRatio: 1.05,
    hcmRequestsPerGoal: 1.02,
    tokenEndpointCalls: 4,
    refreshes: { proactive: 1, jit: 1, afterUnauthorized: 1 },
    unauthorized: mode === 'naive' ? 100 : 5,
    reuseDetected: 0,
    grantRevocations: 0,
    duplicates: 0,
    lost: 0,
    peakRssMb: 400,
    simulatorsPeakRssMb: 200,
    wallMs: 40_000,
    outcome: 'completed',
    measuredAt: new Date(start).toISOString(),
    commit: 'c'.repeat(40),
    otherCpu: {
      source: '/proc/stat minus this process tree',
      meanCores: loaded ? 1.4 : 0.2,
      maxCores: 1.9,
      samples: 40,
    },
    loaded,
    attempts: loaded ? 2 : 1,
  });
  return {
    generatedAt: new Date(start).toISOString(),
    code: { commit: 'c'.repeat(40), lambdasTree: 'a'.repeat(40), localTree: 'b'.repeat(40), dirty: false },
    machine: { cpus: 2, cpuModel: 'test', memoryGb: 8, node: 'v24.0.0', platform: 'linux x64' },
    scenarios: [row('managed', false), row('naive', true)],
    checks: [
      { scenario: 'baseline', mode: 'managed', claim: 'zero duplicates', verdict: 'pass', detail: '0' },
    ],
    notes: [],
    series: { 'baseline/managed': series('managed', 35), 'baseline/naive': series('naive', 12) },
  };
}

describe('bench latest.html', () => {
  describe.runIf(chromiumAvailable())('opened in headless Chromium', () => {
    it('warns first, then the table, then managed beside naive with marks in every panel', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'bench-html-'));
      try {
        const html = await renderBenchHtml(benchFixture(), new Set(['baseline']), [
          'baseline/managed',
          'baseline/naive',
        ]);
        const file = join(dir, 'latest.html');
        await writeFile(file, html);
        expect(html.indexOf('NOT A QUIET MACHINE: baseline/naive')).toBeGreaterThan(0);
        expect(html.indexOf('NOT A QUIET MACHINE')).toBeLessThan(html.indexOf('<table>'));
        expect(html.indexOf('<table>')).toBeLessThan(html.indexOf('<figure'));
        const check = await openInChromium(file, join(ARTIFACTS, 'report-html-bench.png'));
        expect(check.errors).toEqual([]);
        expect(check.requests).toEqual([]);
        expect(check.charts.map((c) => c.chart)).toEqual(['baseline/managed', 'baseline/naive']);
        for (const c of check.charts) {
          expect(c.marksPerPanel).toHaveLength(3);
          for (const marks of c.marksPerPanel) expect(marks).toBeGreaterThan(0);
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
