import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';

/** Debian's `chromium` package (.ci/run installs it); CHROMIUM_PATH overrides. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const chromiumAvailable = (): boolean => existsSync(CHROMIUM);

/** Where tests leave screenshots for a human to look at (gitignored). */
export const ARTIFACTS = resolve(import.meta.dirname, '..', '..', 'test-artifacts');

/** Headless, no sandbox (root in CI containers), nothing that phones home, a fresh profile. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface PageCheck {
  /** Console errors, page errors and failed requests, in order. */
  errors: string[];
  /** Every URL the page asked for besides itself. */
  requests: string[];
  /** Per figure.chart (its data-chart): panels drawn, and mark elements in each panel. */
  charts: Array<{ chart: string; marksPerPanel: number[] }>;
}

/** Opens a local HTML file in headless Chromium, checks what it drew and saves a full-page screenshot. */
export async function openInChromium(file: string, screenshot: string): Promise<PageCheck> {
  const profile = await mkdtemp(join(tmpdir(), 'chromium-profile-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...FLAGS, `--user-data-dir=${profile}`],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    const own = pathToFileURL(file).href;
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page: ${e instanceof Error ? e.message : String(e)}`));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));
    page.on('request', (r) => {
      if (r.url() !== own) requests.push(r.url());
    });
    await page.setViewport({ width: 1400, height: 900 });
    await page.goto(own, { waitUntil: 'load' });
    const charts = await page.$$eval('figure.chart', (figures) =>
      figures.map((f) => {
        // Vega names each concat cell's data layer concat_<n>_marks or concat_<n>_layer_0_marks.
        const panels = f.querySelectorAll('svg g.mark-group.role-scope[class*="concat_"]');
        return {
          chart: f.getAttribute('data-chart') ?? '?',
          marksPerPanel: [...panels].map((_, n) => {
            const layer = f.querySelector(
              `g.role-mark.concat_${n}_marks, g.role-mark.concat_${n}_layer_0_marks`,
            );
            return layer ? layer.querySelectorAll(':scope > path, :scope > line').length : 0;
          }),
        };
      }),
    );
    await mkdir(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot as `${string}.png`, fullPage: true });
    return { errors, requests, charts };
  } finally {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
  }
}
