import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunReport } from '../local/runner/report.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CLI = join(ROOT, 'bin', 'goal-sync.js');
const PROBE = join(ROOT, 'bench', 'rss-probe.mjs');

/** One `goal-sync local` process as the bench saw it from outside. */
export interface ChildRun {
  args: string[];
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The JSON run report (`--json`), absent when the process died before printing it (a crash). */
  report?: RunReport;
  /** Spawn to exit, process start-up included. */
  wallMs: number;
  /** Epoch ms of the spawn and of the exit: where the run sits on the simulators' timelines. */
  startedAtMs: number;
  endedAtMs: number;
  /** Peak resident set size of the child, from its own ru_maxrss at exit; undefined if it could not tell. */
  maxRssKb?: number;
  /** Last lines of stderr (runner notes, a stack), for the log when a run goes wrong. */
  stderrTail: string;
}

/**
 * How long a child may run before it counts as hung: 15 minutes, or BENCH_CHILD_TIMEOUT_S on a
 * machine shared with other work (the scale-50k row took over 15 minutes on 2 busy cores).
 */
const CHILD_TIMEOUT_MS = Number(process.env.BENCH_CHILD_TIMEOUT_S ?? 15 * 60) * 1000;

/**
 * Runs `goal-sync local <args> --json --no-progress` as a child process with the RSS probe preloaded.
 * A hung child is killed (by its pid) after `timeoutMs` and reported with that signal.
 */
export async function runGoalSync(args: string[], timeoutMs = CHILD_TIMEOUT_MS): Promise<ChildRun> {
  const probeDir = await mkdtemp(join(tmpdir(), 'bench-rss-'));
  const rssFile = join(probeDir, 'maxrss');
  const fullArgs = ['local', ...args, '--json', '--no-progress'];
  const started = performance.now();
  const startedAtMs = Date.now();
  const child = spawn(process.execPath, ['--import', PROBE, CLI, ...fullArgs], {
    cwd: ROOT,
    env: { ...process.env, BENCH_RSS_FILE: rssFile, POWERTOOLS_METRICS_DISABLED: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => {
    // Only the tail matters; keep memory flat on long runs.
    err = (err + b.toString('utf8')).slice(-16_000);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done, fail) => {
    child.once('error', fail);
    child.once('close', (code, sig) => done([code, sig]));
  }).finally(() => clearTimeout(timer));
  const wallMs = performance.now() - started;
  const maxRss = await readFile(rssFile, 'utf8').catch(() => '');
  await rm(probeDir, { recursive: true, force: true });
  const stdout = Buffer.concat(out).toString('utf8').trim();
  let report: RunReport | undefined;
  if (stdout.startsWith('{')) {
    try {
      report = JSON.parse(stdout) as RunReport;
    } catch {
      report = undefined;
    }
  }
  return {
    args: fullArgs,
    exitCode,
    signal,
    ...(report ? { report } : {}),
    wallMs: Math.round(wallMs),
    startedAtMs,
    endedAtMs: Date.now(),
    ...(maxRss && Number.isFinite(Number(maxRss)) ? { maxRssKb: Number(maxRss) } : {}),
    stderrTail: err
      .split('\n')
      .filter((l) => l.trim() && !l.includes('NodeDeprecationWarning') && !l.includes('a.co/'))
      .slice(-40)
      .join('\n'),
  };
}
