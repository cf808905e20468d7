import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteHcmGoal, type HcmSim } from '../../local/hcm/index.ts';
import type { IdpSim } from '../../local/idp/index.ts';
import { LOCK_FILE } from '../../local/runner/state-lock.ts';
import { goalSync } from '../support/goal-sync-cli.ts';
import { startSimPair } from '../support/sim-pair.ts';

/**
 * The conventions a person who has used the AWS CLI, gh and terraform expects (issue 28), and the
 * checks that must come before anything starts. Every case spawns the CLI as a shell would.
 */
const CLI = join(import.meta.dirname, '..', '..', 'bin', 'goal-sync.js');
// A directory nobody can create files in, root included (this suite may run as root, for whom
// chmod 0555 is no obstacle): sysfs refuses new files to everyone.
const UNWRITABLE = '/sys';

let dir: string;
let idp: IdpSim;
let hcm: HcmSim;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'goal-sync-conventions-'));
  ({ idp, hcm } = await startSimPair());
});
afterAll(async () => {
  await hcm?.close();
  await idp?.close();
  await rm(dir, { recursive: true, force: true });
});

const sims = () => ['--idp-url', idp.url, '--hcm-url', hcm.url];

describe('help and version exit 0 at every level', () => {
  it.each([
    [['--help']],
    [['-h']],
    [['help']],
    [['help', 'local']],
    [['local', 'help']],
    ...[
      'local',
      'sim',
      'sample',
      'validate',
      'preflight',
      'start',
      'status',
      'resume',
      'connect',
      'twins',
    ].flatMap((c) => [[[c, '--help']], [[c, '-h']]]),
  ])('goal-sync %j', async (args) => {
    const r = await goalSync(args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^goal-sync/);
    expect(r.stderr).toBe('');
  });

  it('--version prints the version from package.json', async () => {
    const { version } = JSON.parse(await readFile(join(CLI, '..', '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    for (const flag of ['--version', '-V']) {
      const r = await goalSync([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`goal-sync ${version}\n`);
    }
  });

  it('a bare goal-sync is a command line without a command: the overview on stderr, exit 2', async () => {
    const r = await goalSync([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/goal-sync local/);
  });
});

describe('errors', () => {
  it('a missing file is one line without the --help hint; a bad flag gets it', async () => {
    for (const args of [
      ['validate', join(dir, 'nope.csv')],
      ['local', '--source', join(dir, 'nope.csv')],
    ]) {
      const r = await goalSync(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/nope\.csv: no such file\n$/);
      expect(r.stderr).not.toContain('--help');
    }
    const bad = await goalSync(['validate', 'x.csv', '--delimeter', ';']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /unknown flag --delimeter \(did you mean --delimiter\?\).*--help shows every flag/,
    );
  });

  it('validate ... | head ends quietly (EPIPE), with validate its own exit code', async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ externalKey: `K-${i}` }));
    const file = join(dir, 'broken.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);
    const r = spawnSync(
      'bash',
      [
        '-c',
        `"${process.execPath}" "${CLI}" validate "${file}" --max-invalid 100% | head -1; echo "rc=\${PIPESTATUS[0]}" >&2`,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stdout).toMatch(/broken\.jsonl \(jsonl\): 20000 records, 0 valid, 20000 invalid\n$/);
    // All 20,000 invalid: the verdict is "input rejected" (4), not a crash (1) and no stack trace.
    expect(r.stderr).toBe('rc=4\n');
  });
});

describe('enum values accept - and _', () => {
  it('--grant Client-Credentials runs the client credentials grant', async () => {
    const r = await goalSync([
      'local',
      '--grant',
      'Client-Credentials',
      '--goals',
      '20',
      '--invalid-rate',
      '0',
      '--no-progress',
      '--json',
      ...sims(),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'completed', goals: { created: 20 } });
  });
});

describe('checked before anything starts (exit 2, nothing written to HCM)', () => {
  it.each([
    [
      ['--report', `${UNWRITABLE}/report.json`],
      /--report \/sys\/report\.json: cannot be written \(E[A-Z]+\)/,
    ],
    [['--state-dir', `${UNWRITABLE}/run1`], /--state-dir \/sys\/run1: cannot write there \(E[A-Z]+\)/],
  ])('%j', async (args, message) => {
    const before = hcm.goals().length;
    const r = await goalSync(['local', '--goals', '20', '--no-progress', ...sims(), ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
    expect(hcm.goals()).toHaveLength(before);
  });

  it('a state dir in use by a live process is refused naming its pid; a dead holder is taken over', async () => {
    const stateDir = join(dir, 'locked');
    await mkdir(stateDir);
    const holder = spawn('sleep', ['60']);
    try {
      await writeFile(
        join(stateDir, LOCK_FILE),
        JSON.stringify({ pid: holder.pid, startedAt: '2026-12-05T18:00:00.000Z', token: 'other' }),
      );
      const before = hcm.goals().length;
      const refused = await goalSync(['local', '--goals', '20', '--state-dir', stateDir, ...sims()]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(
        new RegExp(`is in use by process ${holder.pid} \\(since 2026-12-05T18:00:00.000Z\\)`),
      );
      expect(refused.stdout).toBe('');
      expect(hcm.goals()).toHaveLength(before);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    // The holder is gone (kill -9 leaves its lock behind): the next run takes over, says so, and ends.
    const r = await goalSync([
      'local',
      '--goals',
      '20',
      '--invalid-rate',
      '0',
      '--no-progress',
      '--state-dir',
      stateDir,
      ...sims(),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`taking over the lock of process ${holder.pid}, which is gone`);
    // Released at the end: the dir is free for the resume or the next run.
    expect(existsSync(join(stateDir, LOCK_FILE))).toBe(false);
  });
});

describe('verify of an existing state dir', () => {
  it("checks the goals of the dir's latest run, from that run's source (not a new generated file)", async () => {
    const stateDir = join(dir, 'run1');
    // A seed of its own: goals no other case of this file wrote, so the last one stored is this run's.
    const common = [
      '--no-progress',
      '--invalid-rate',
      '0',
      '--index-min-records',
      '0',
      '--seed',
      '2828',
      ...sims(),
    ];
    const first = await goalSync([
      'local',
      '--goals',
      '30',
      '--state-dir',
      stateDir,
      '--run-id',
      'first',
      ...common,
    ]);
    expect(first.code, first.stderr).toBe(0);
    const gone = hcm
      .goals()
      .sort((a, b) => a.GoalId - b.GoalId)
      .at(-1)!;
    await deleteHcmGoal(hcm.url, gone.planChildKey);
    const r = await goalSync(['local', '--state-dir', stateDir, '--verify', '--json', ...common]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /verify: checking the goals of run first, from its source .*sources\/first\.jsonl/,
    );
    expect(r.stderr).not.toContain('generated');
    const report = JSON.parse(r.stdout) as {
      goals: { total: number };
      verify: { missing: number; repaired: number };
    };
    expect(report.goals.total).toBe(30);
    expect(report.verify).toMatchObject({ missing: 1, repaired: 1 });
  });
});
