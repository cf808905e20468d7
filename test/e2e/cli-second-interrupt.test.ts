import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HcmSim } from '../../local/hcm/index.ts';
import type { IdpSim } from '../../local/idp/index.ts';
import { goalSync } from '../support/goal-sync-cli.ts';
import { startSimPair } from '../support/sim-pair.ts';

/**
 * The advice Ctrl-C prints works (issue 28). A second Ctrl-C exits at once and prints the command that
 * resumes the run; without --state-dir there is nothing to resume, and it says so. No timing is
 * assumed: the HCM simulator holds every request for a long time, the test sends the first SIGINT
 * once a request is in flight (so the first one cannot finish stopping), the second once the runner
 * said it is stopping; then it runs the printed command and the run completes.
 */
const CLI = join(import.meta.dirname, '..', '..', 'bin', 'goal-sync.js');
// Far longer than the test waits for anything; a held request ends with its socket when the child dies.
const HELD_MS = 120_000;

let dir: string;
let idp: IdpSim;
let hcm: HcmSim;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'goal-sync-second-int-'));
  ({ idp, hcm } = await startSimPair());
});
afterAll(async () => {
  await hcm?.close();
  await idp?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Resolves once `check` is true, checking after each output chunk and each simulator request. */
function until(check: () => boolean, poke: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const wake = () => {
      if (check()) resolve();
    };
    poke(wake);
    wake();
  });
}

describe('goal-sync local: Ctrl-C advice', { timeout: 180_000 }, () => {
  it('exits 130 at once and prints the resume command, which then finishes the run', async () => {
    const stateDir = join(dir, 'run');
    hcm.setFaults({ latencyMs: HELD_MS });
    const args = ['--goals', '30', '--state-dir', stateDir, '--progress', 'none'];
    const child = spawn(
      process.execPath,
      [CLI, 'local', ...args, '--idp-url', idp.url, '--hcm-url', hcm.url],
      {
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    let stderr = '';
    let stdout = '';
    const wakers: (() => void)[] = [];
    const wakeAll = () => {
      for (const w of wakers) w();
    };
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      wakeAll();
    });
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      wakeAll();
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // The simulator counts a request when it arrives, before holding it: poll its counter.
    const poll = setInterval(wakeAll, 20);
    try {
      await until(
        () => hcm.stats().requests.total > 0,
        (w) => wakers.push(w),
      );
      child.kill('SIGINT');
      await until(
        () => stderr.includes('stopping after the requests in flight'),
        (w) => wakers.push(w),
      );
      child.kill('SIGINT');
      expect(await closed, stderr).toBe(130);
    } finally {
      clearInterval(poll);
      child.kill('SIGKILL');
    }
    const printed = /resume with: npm start -- (.+)$/m.exec(stderr);
    expect(printed, stderr).not.toBeNull();
    expect(stdout).toBe('');
    const resumeArgs = printed![1]!.split(' ');
    expect(resumeArgs).toEqual(expect.arrayContaining(['--state-dir', stateDir, '--resume']));

    hcm.setFaults({ latencyMs: 0 });
    const resumed = await goalSync(['local', ...resumeArgs, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const report = JSON.parse(resumed.stdout) as { status: string; goals: { failed: number } };
    expect(report).toMatchObject({ status: 'completed', goals: { failed: 0 } });
  });

  it('without --state-dir, Ctrl-C says there is nothing to resume instead of printing a resume that fails', async () => {
    // Requests take a while, so the run is still going when the first one arrives and the signal is sent.
    hcm.setFaults({ latencyMs: 500 });
    const before = hcm.stats().requests.total;
    const reportFile = join(dir, 'no-state.json');
    const args = ['--goals', '200', '--progress', 'none', '--report', reportFile];
    const child = spawn(
      process.execPath,
      [CLI, 'local', ...args, '--idp-url', idp.url, '--hcm-url', hcm.url],
      {
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const wakers: (() => void)[] = [];
    const poll = setInterval(() => {
      for (const w of wakers) w();
    }, 20);
    try {
      await until(
        () => hcm.stats().requests.total > before,
        (w) => wakers.push(w),
      );
      child.kill('SIGINT');
      expect(await closed, stderr).toBe(130);
    } finally {
      clearInterval(poll);
      child.kill('SIGKILL');
      hcm.setFaults({ latencyMs: 0 });
    }
    expect(stdout).toContain('next: this run kept no state (no --state-dir): run again with --state-dir DIR');
    expect(stdout + stderr).not.toContain('--resume');
    // The temporary directory held nothing a resume could use, and is gone.
    const report = JSON.parse(await readFile(reportFile, 'utf8')) as {
      stateDir: string;
      interrupted: string;
    };
    expect(report.interrupted).toBe('SIGINT');
    expect(existsSync(report.stateDir)).toBe(false);
  });
});
