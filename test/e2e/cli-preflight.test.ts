import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDeps } from '../../cli/aws/cli.ts';
import { run } from '../../cli/commands/preflight.ts';
import type { HcmSim } from '../../local/hcm/index.ts';
import type { IdpSim } from '../../local/idp/index.ts';
import { startSimPair } from '../support/sim-pair.ts';

/**
 * `goal-sync preflight --idp-url --hcm-url` against the IdP and HCM simulators over HTTP, in process:
 * the exit code, the one line per check and the --json shape the issue asks for.
 */
let idp: IdpSim;
let hcm: HcmSim;
let dir: string;
let source: string;

const PLAN = 300000009990001;
const record = (i: number, plan = PLAN, more: Record<string, unknown> = {}) =>
  JSON.stringify({
    externalKey: `PF-${i}`,
    personNumber: `E${String(i).padStart(6, '0')}`,
    goalName: `Preflight goal ${i}`,
    startDate: '2026-01-01',
    targetCompletionDate: '2026-12-31',
    status: 'NOT_STARTED',
    goalPlanId: plan,
    priority: 'HIGH',
    ...more,
  });

async function preflight(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(args, defaultDeps({ out: (l) => out.push(l), err: (l) => err.push(l) }));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const sims = () => ['--idp-url', idp.url, '--hcm-url', hcm.url, '--hcm-max-rps', '200'];
type Json = { ok: boolean; checks: Array<{ name: string; status: string; detail: string; fix?: string }> };
const check = (json: Json, name: string) => json.checks.find((c) => c.name === name)!;

beforeAll(async () => {
  ({ idp, hcm } = await startSimPair());
  dir = await mkdtemp(join(tmpdir(), 'preflight-e2e-'));
  source = join(dir, 'goals.jsonl');
  await writeFile(source, `${[1, 2, 3].map((i) => record(i)).join('\n')}\n`);
});

afterAll(async () => {
  await hcm?.close();
  await idp?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('goal-sync preflight against the simulators', () => {
  it('--json: one entry per check with name, status, ok, detail; the token check names the grant', async () => {
    const r = await preflight([...sims(), '--source', source, '--json']);
    const json = JSON.parse(r.out) as Json;
    expect(json.checks.map((c) => c.name)).toEqual([
      'token',
      'request-ceiling',
      'goal-plans',
      'plan-child-read',
      'top-level-read',
      'describe-plan-child',
      'describe-top-level',
      'plan-assignments',
      'page-size',
      'keyset-paging',
      'write-test',
      'lookup-codes',
    ]);
    expect(check(json, 'token')).toMatchObject({ status: 'pass' });
    expect(check(json, 'token').detail).toContain('grant refresh_token');
    expect(check(json, 'goal-plans')).toMatchObject({ status: 'pass' });
    expect(check(json, 'plan-child-read')).toMatchObject({ status: 'pass' });
    expect(check(json, 'request-ceiling').detail).toContain('200 HCM requests per second');
    expect(check(json, 'write-test')).toMatchObject({ status: 'skip' });
    // The strict simulator is built from Oracle's pages: the client's mapping fits it, so all pass.
    expect(json.checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(json.ok).toBe(true);
    expect(r.code).toBe(0);
  });

  it('--write-test: one goal created, read, patched, its codes tried and deleted; nothing is left', async () => {
    const before = hcm.goals().length;
    const r = await preflight([...sims(), '--source', source, '--write-test', 'E000001', '--json']);
    const json = JSON.parse(r.out) as Json;
    expect(check(json, 'write-test')).toMatchObject({
      status: 'pass',
      detail: expect.stringMatching(/created, read, patched, \d+ codes tried, deleted/),
    });
    expect(check(json, 'lookup-codes').status).toBe('pass');
    expect(r.code).toBe(0);
    expect(hcm.goals().length).toBe(before);
  });

  it('--write-test without the delete privilege: fails and names the goal it left', async () => {
    hcm.setFaults({ forbidden: ['DELETE planGoals'] });
    try {
      const r = await preflight([...sims(), '--source', source, '--write-test', 'E000002', '--json']);
      const json = JSON.parse(r.out) as Json;
      expect(r.code).toBe(1);
      expect(check(json, 'write-test')).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(
          /DELETE of the test goal: HTTP 403.*the goal "goal-sync preflight .*" of E000002 is left/,
        ),
        fix: expect.stringContaining('delete'),
      });
    } finally {
      hcm.setFaults({ forbidden: [] });
      for (const g of hcm.goals().filter((x) => x.GoalName.startsWith('goal-sync preflight')))
        hcm.deleteGoal(g.planChildKey);
    }
  });

  it('no top-level read privilege is a warning (the pipeline never reads it); exit 0', async () => {
    hcm.setFaults({ forbidden: ['performanceGoals'] });
    try {
      const r = await preflight([...sims(), '--source', source, '--json']);
      const json = JSON.parse(r.out) as Json;
      expect(check(json, 'top-level-read')).toMatchObject({
        status: 'warn',
        detail: expect.stringContaining('HTTP 403'),
      });
      expect(check(json, 'describe-top-level').status).toBe('warn');
      expect(r.code).toBe(0);
    } finally {
      hcm.setFaults({ forbidden: [] });
    }
  });

  it('no plan child read privilege fails, naming the privilege', async () => {
    hcm.setFaults({ forbidden: ['GET planGoals'] });
    try {
      const r = await preflight([...sims(), '--source', source, '--json']);
      expect(r.code).toBe(1);
      expect(check(JSON.parse(r.out) as Json, 'plan-child-read')).toMatchObject({
        status: 'fail',
        fix: expect.stringContaining('Manage Performance Goal by HR'),
      });
    } finally {
      hcm.setFaults({ forbidden: [] });
    }
  });

  it('workers with two assignments on the plan, or none, fail the assignment check, each named', async () => {
    const awkward = join(dir, 'awkward.jsonl');
    // The simulator seeds E000040 with two assignments on every plan and E000053 with no plan.
    await writeFile(awkward, `${[1, 40, 53].map((i) => record(i)).join('\n')}\n`);
    const r = await preflight([...sims(), '--source', awkward, '--json']);
    const c = check(JSON.parse(r.out) as Json, 'plan-assignments');
    expect(r.code).toBe(1);
    expect(c.status).toBe('fail');
    expect(c.detail).toContain(`not assigned to the plan: E000053 in plan ${PLAN}`);
    expect(c.detail).toMatch(new RegExp(`several assignments on the plan: E000040 in plan ${PLAN} \\(`));
  });

  it('a status the mapping has no code for fails lookup-codes naming the setting; --status-map fixes it', async () => {
    const held = join(dir, 'on-hold.jsonl');
    await writeFile(held, `${record(1, PLAN, { status: 'ON_HOLD' })}\n`);
    const r = await preflight([...sims(), '--source', held, '--json']);
    expect(r.code).toBe(1);
    expect(check(JSON.parse(r.out) as Json, 'lookup-codes')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining("status 'ON_HOLD' has no HCM code"),
    });
    const mapped = await preflight([
      ...sims(),
      '--source',
      held,
      '--status-map',
      'ON_HOLD=IN_PROGRESS',
      '--json',
    ]);
    expect(check(JSON.parse(mapped.out) as Json, 'lookup-codes').status).not.toBe('fail');
  });

  it('a goal plan the source names that does not exist: exit 1, the plan named', async () => {
    const bad = join(dir, 'unknown-plan.jsonl');
    await writeFile(bad, `${record(1)}\n${record(2, 424242)}\n`);
    const r = await preflight([...sims(), '--source', bad]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^FAIL {2}goal-plans +goal plan 424242 named in the source does not exist/m);
    expect(r.out).toContain('fix: fix goalPlanId in the export');
    expect(r.out).toMatch(/preflight FAILED/);
  });

  it.each([
    ['client-credentials', 'client_credentials'],
    ['jwt-bearer', 'jwt_bearer'],
  ])('--grant %s: the simulator client takes that grant', async (flag, grant) => {
    const r = await preflight([...sims(), '--source', source, '--grant', flag, '--json']);
    expect(check(JSON.parse(r.out) as Json, 'token')).toMatchObject({
      status: 'pass',
      detail: expect.stringContaining(`grant ${grant}`),
    });
  });

  it('--secret FILE: credentials from the file; a wrong client secret fails the token check and skips the rest', async () => {
    const client = idp.clients[0]!;
    const good = join(dir, 'secret.json');
    await writeFile(good, JSON.stringify({ clientId: client.clientId, clientSecret: client.clientSecret }));
    const ok = await preflight([...sims(), '--source', source, '--secret', good, '--json']);
    expect(check(JSON.parse(ok.out) as Json, 'token')).toMatchObject({
      status: 'pass',
      detail: expect.stringContaining('grant client_credentials'),
    });

    const wrong = join(dir, 'wrong.json');
    await writeFile(wrong, JSON.stringify({ clientId: client.clientId, clientSecret: 'not-the-secret' }));
    const r = await preflight([...sims(), '--source', source, '--secret', wrong, '--json']);
    const json = JSON.parse(r.out) as Json;
    expect(r.code).toBe(1);
    expect(check(json, 'token')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('client id and secret'),
    });
    expect(check(json, 'goal-plans')).toMatchObject({ status: 'skip' });
    expect(r.out).not.toContain('not-the-secret');
  });

  it('--secret with --grant refresh-token is refused: IDCS refresh tokens are single-use', async () => {
    const file = join(dir, 'rt.json');
    await writeFile(file, JSON.stringify({ clientId: 'x', clientSecret: 'y' }));
    const r = await preflight([...sims(), '--source', source, '--secret', file, '--grant', 'refresh-token']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('single-use');
  });

  it('an HCM URL nobody answers: every HCM check fails with "no answer", no crash', async () => {
    const r = await preflight([
      '--idp-url',
      idp.url,
      '--hcm-url',
      'http://127.0.0.1:9',
      '--source',
      source,
      '--json',
    ]);
    const json = JSON.parse(r.out) as Json;
    expect(r.code).toBe(1);
    expect(check(json, 'goal-plans')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('no answer'),
    });
  });

  it('bad command lines exit 2 with one line', async () => {
    expect((await preflight([...sims()])).code).toBe(2);
    expect((await preflight(['--idp-url', idp.url, '--source', source])).code).toBe(2);
    expect((await preflight(['--stack', 'S', ...sims(), '--source', source])).code).toBe(2);
    const help = await preflight(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('goal-sync preflight');
  });
});
