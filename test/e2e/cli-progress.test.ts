import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HcmSim } from '../../local/hcm/index.ts';
import type { IdpSim } from '../../local/idp/index.ts';
import { writeSampleFile } from '../../local/sample/generate.ts';
import { goalSync } from '../support/goal-sync-cli.ts';
import { startSimPair } from '../support/sim-pair.ts';

/**
 * The progress display as people see it (issue 28): in a terminal (a pseudo-terminal from util-linux
 * `script`, since native pty modules do not build here) and in a log without one. The source holds 300
 * records while --goals says 5,000: the total must be the file's.
 */
const CLI = join(import.meta.dirname, '..', '..', 'bin', 'goal-sync.js');
const RECORDS = 300;
const ESC = String.fromCharCode(27);

let dir: string;
let source: string;
let idp: IdpSim;
let hcm: HcmSim;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'goal-sync-progress-'));
  source = join(dir, 'goals.jsonl');
  await writeSampleFile(source, { goals: RECORDS, invalidRate: 0, seed: 28 });
  ({ idp, hcm } = await startSimPair());
});
afterAll(async () => {
  await hcm?.close();
  await idp?.close();
  await rm(dir, { recursive: true, force: true });
});

const args = (runId: string) => [
  'local',
  '--source',
  source,
  '--goals',
  '5000',
  '--run-id',
  runId,
  '--idp-url',
  idp.url,
  '--hcm-url',
  hcm.url,
];

/** Runs the CLI in a pseudo-terminal `columns` wide; resolves with everything the terminal received. */
function inTerminal(cliArgs: string[], columns: number): Promise<{ code: number; output: string }> {
  const quoted = [process.execPath, CLI, ...cliArgs].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  return new Promise((resolve, reject) => {
    // Async: the simulators answer from this process, which must not block on the child.
    const child = spawn('script', ['-qec', `stty cols ${columns} rows 24; ${quoted}`, '/dev/null'], {
      env: { ...process.env, TERM: 'xterm', NO_COLOR: '1' },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** The bar's frames: what was drawn between carriage returns, the clear-to-end-of-line removed. */
const frames = (output: string) =>
  output
    .split(/[\r\n]+/)
    .map((f) => f.replaceAll(`${ESC}[K`, ''))
    .filter((f) => /^\d[\d,]*(\/[\d,]+)? goals/.test(f));

describe('in a terminal', () => {
  it.each([
    [100, true],
    [40, false],
  ])(
    '%i columns: the total is the file, the numbers fit, the bar only where there is room',
    async (columns, bar) => {
      const r = await inTerminal(args(`tty-${columns}`), columns);
      expect(r.code, r.output).toBe(0);
      const drawn = frames(r.output);
      expect(drawn.length).toBeGreaterThan(0);
      expect(drawn.every((f) => f.length < columns)).toBe(true);
      expect(drawn.every((f) => /^\d[\d,]* goals \(counting records\)|^\d[\d,]*\/300 goals/.test(f))).toBe(
        true,
      );
      expect(r.output).not.toContain('5,000');
      expect(drawn.at(-1)).toMatch(/^300\/300 goals \| 100%/);
      expect(drawn.some((f) => f.includes('['))).toBe(bar);
      // The first frames have no pace to estimate from: no "ETA 3h0m" from one sample.
      expect(drawn[0]).toMatch(/ETA --|^\d+\/300 goals \| \d+% \| [\d.]+\/s$|counting records/);
      // No colour, ever (NO_COLOR holds by construction): no SGR sequence anywhere.
      expect(r.output).not.toMatch(new RegExp(`${ESC}\\[[\\d;]*m`));
    },
  );
});

describe('without a terminal (cron, CI logs)', () => {
  it('a line every --progress-every seconds and a last one, in plain text', async () => {
    const r = await goalSync([...args('plain'), '--progress-every', '1']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('progress '));
    expect(lines.length).toBeGreaterThan(1);
    expect(
      lines.every((l) => /^progress \d+(m\d\d)?s: (\d+ goals \(counting records\)|\d+\/300 goals)/.test(l)),
    ).toBe(true);
    expect(lines.at(-1)).toMatch(/: 300\/300 goals \| 100%/);
    expect(r.stderr).not.toContain('\r');
  });

  it('--progress none and --json print no progress', async () => {
    for (const extra of [['--progress', 'none'], ['--json']]) {
      const r = await goalSync([...args(`none-${extra.length}`), ...extra]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/^progress /m);
    }
  });
});
