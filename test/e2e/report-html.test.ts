import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunReport } from '../../local/runner/report.ts';
import { ARTIFACTS, CHROMIUM, chromiumAvailable, openInChromium } from '../support/chromium.ts';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'goal-sync.js');
const inCi = Boolean(process.env.CI);

function goalSync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { timeout: 150_000, maxBuffer: 8 * 1024 * 1024 },
      (err, stdout, stderr) =>
        done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

if (!chromiumAvailable() && !inCi) {
  console.warn(
    `report-html: skipped, no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH); CI runs it`,
  );
}

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
