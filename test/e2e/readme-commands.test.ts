import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Every command in README.md's `sh` code blocks is executed or checked here, in README order, in one
 * scratch directory (issue 28). The rules, so a new README command cannot slip past:
 * - `npm start -- ARGS` runs as `goal-sync local ARGS` on this test's Node (what `npm start` runs),
 *   with `--goals` capped at GOALS_CAP (the default 5,000 too) so the file runs in CI in minutes, except
 *   where the command's point needs its size (NEEDS_FULL_SIZE), and with `--chunk-size 5` where its point
 *   is a number of chunks (SMALL_CHUNKS);
 *   `--progress none --report FILE` are added so the test reads what the run did.
 * - `npx goal-sync CMD` with `--stack` needs AWS: `CMD --help` must exit 0 and name every flag the README
 *   command uses. Other `npx goal-sync` commands run as written.
 * - Not run: installing (`npm ci`), the test suite itself (`npm test`), the AWS and CDK tools (`npx cdk`,
 *   `aws`, writing and removing connection.json: their context keys and policies have tests of their own).
 * - Placeholders: RUN_ID is the id of the run the previous command made in the same state dir.
 * - Files a command reads are made first, as a user would (`sample` for goals.jsonl and goals.csv, an
 *   Excel-style Windows-1252 CSV for export.csv).
 * Unless EXPECT says otherwise a command must exit 0, as the README's exit code table says.
 */
const CLI = join(import.meta.dirname, '..', '..', 'bin', 'goal-sync.js');
const README = join(import.meta.dirname, '..', '..', 'README.md');
const GOALS_CAP = 40;
/** The naive job fails only once tokens expire mid-run. */
const NEEDS_FULL_SIZE = [/--naive/];
/** Capped, a run is one chunk of 100: chunks of 5 keep "more chunks than --map-threshold" true. */
const SMALL_CHUNKS = [/--map-threshold/];

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  report?: Record<string, unknown>;
}
/** What the README promises beyond exit 0, keyed by a piece of the command. */
const EXPECT: Array<[RegExp, (o: Outcome, cwd: string) => void]> = [
  [/--help/, (o) => expect(o.stdout).toMatch(/^goal-sync/)],
  // "the original job on the same simulators: watch it fail"
  [/--naive/, (o) => expect(o.code).toBe(1)],
  [/--report-html run\.html/, (_o, cwd) => expect(existsSync(join(cwd, 'run.html'))).toBe(true)],
  [/--map-threshold/, (o) => expect(o.report?.map).toBe('distributed')],
  [/--verify/, (o) => expect(o.report?.verify).toBeDefined()],
  [/--resume/, (o) => expect(o.report?.status).toBe('completed')],
  [
    /sample --goals 100 --out goals\.jsonl/,
    (_o, cwd) => expect(existsSync(join(cwd, 'goals.jsonl'))).toBe(true),
  ],
];
const EXIT_NOT_ZERO = [/--naive/];

type Step =
  | { kind: 'local'; line: string; args: string[] }
  | { kind: 'cli'; line: string; args: string[] }
  | { kind: 'aws-help'; line: string; command: string; flags: string[] }
  | { kind: 'skipped'; line: string; why: string };

/** The README's shell commands: `sh` blocks, continuations joined, comments and heredoc bodies dropped. */
function readmeCommands(markdown: string): string[] {
  const commands: string[] = [];
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const lines = (block[1] ?? '').replace(/\\\n\s*/g, ' ').split('\n');
    let heredoc: string | undefined;
    for (const raw of lines) {
      if (heredoc) {
        if (raw.trim() === heredoc) heredoc = undefined;
        continue;
      }
      const line = raw.replace(/\s+#\s.*$/, '').trim();
      if (!line) continue;
      heredoc = /<<'?(\w+)'?/.exec(line)?.[1];
      commands.push(...line.split('&&').map((c) => c.trim()));
    }
  }
  return commands;
}

function classify(line: string): Step {
  const words = line.split(/\s+/);
  if (line === 'npm ci') return { kind: 'skipped', line, why: 'installs' };
  if (line === 'npm test') return { kind: 'skipped', line, why: 'the test suite itself' };
  if (/^(npx cdk|aws|cat|rm) /.test(line)) return { kind: 'skipped', line, why: 'AWS/CDK tooling' };
  if (line === 'npm start' || line.startsWith('npm start -- '))
    return { kind: 'local', line, args: words.slice(3) };
  const cli = /^(?:npx goal-sync|node bin\/goal-sync\.js) (.*)$/.exec(line);
  if (cli) {
    const args = cli[1]!.split(/\s+/);
    if (args.includes('--stack')) {
      return { kind: 'aws-help', line, command: args[0]!, flags: args.filter((a) => a.startsWith('--')) };
    }
    return { kind: 'cli', line, args };
  }
  throw new Error(`README command with no rule in readme-commands.test.ts: ${line}`);
}

function localArgs(args: string[], reportFile: string, full: boolean, smallChunks: boolean): string[] {
  const out = smallChunks ? [...args, '--chunk-size', '5'] : [...args];
  const goals = out.indexOf('--goals');
  const named = out.includes('--source') || out.includes('--resume') || out.includes('--verify');
  if (!full && goals >= 0) out[goals + 1] = String(Math.min(Number(out[goals + 1]), GOALS_CAP));
  else if (!full && !named && !out.includes('--help')) out.push('--goals', String(GOALS_CAP));
  return out.includes('--help') ? out : [...out, '--progress', 'none', '--report', reportFile];
}

function run(args: string[], cwd: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

let cwd: string;
const steps = readmeCommands(await readFile(README, 'utf8')).map(classify);

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'goal-sync-readme-'));
  // What the README's commands read, made the way a user would.
  expect((await run(['sample', '--goals', '100', '--out', 'goals.jsonl'], cwd)).code).toBe(0);
  expect((await run(['sample', '--goals', String(GOALS_CAP), '--out', 'goals.csv'], cwd)).code).toBe(0);
  const csv = await readFile(join(cwd, 'goals.csv'), 'utf8');
  const [header, first, ...rest] = csv.split('\n');
  const name = header!.split(',').indexOf('goalName');
  const cells = first!.split(',');
  cells[name] = 'Zoë Ångström';
  // Excel's "CSV (Comma delimited)": Windows-1252, no byte order mark.
  await writeFile(
    join(cwd, 'export.csv'),
    Buffer.from([header, cells.join(','), ...rest].join('\n'), 'latin1'),
  );
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('README.md commands', { timeout: 240_000 }, () => {
  it('every command has a rule, and the offline ones are the ones users start with', () => {
    expect(steps.filter((s) => s.kind === 'local').length).toBeGreaterThanOrEqual(10);
    expect(steps.map((s) => s.kind)).toContain('aws-help');
  });

  let lastRunId: string | undefined;
  it.each(steps.map((s, i) => [i + 1, s.line, s] as const))('%i: %s', async (_n, _line, step) => {
    if (step.kind === 'skipped') return;
    if (step.kind === 'aws-help') {
      const help = await run([step.command, '--help'], cwd);
      expect(help.code, help.stderr).toBe(0);
      for (const flag of step.flags) expect(help.stdout).toContain(flag);
      return;
    }
    const reportFile = join(cwd, 'report.json');
    await rm(reportFile, { force: true });
    const args = step.args.map((a) => (a === 'RUN_ID' ? (lastRunId ?? 'RUN_ID') : a));
    const full = NEEDS_FULL_SIZE.some((re) => re.test(step.line));
    const small = SMALL_CHUNKS.some((re) => re.test(step.line));
    const outcome = await run(
      step.kind === 'local' ? ['local', ...localArgs(args, reportFile, full, small)] : args,
      cwd,
    );
    if (existsSync(reportFile)) outcome.report = JSON.parse(await readFile(reportFile, 'utf8'));
    if (typeof outcome.report?.runId === 'string') lastRunId = outcome.report.runId;
    if (!EXIT_NOT_ZERO.some((re) => re.test(step.line))) expect(outcome.code, outcome.stderr).toBe(0);
    for (const [re, check] of EXPECT) if (re.test(step.line)) check(outcome, cwd);
  });
});
