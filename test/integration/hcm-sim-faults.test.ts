import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevTokenIssuer, startDevTokenIssuer } from '../../local/hcm/dev-tokens.ts';
import {
  fetchHcmStats,
  GOAL_PLANS,
  type HcmSim,
  type HcmSimOptions,
  postHcmFaults,
  type SimGoal,
  startHcmSim,
} from '../../local/hcm/index.ts';
import { JOURNAL_FILE_NAME, STATE_FILE_NAME } from '../../local/hcm/persist.ts';
import { personId, planGoals, topGoals } from '../support/hcm-sim-http.ts';

const FY26 = GOAL_PLANS[0]!;
let idp: DevTokenIssuer;
let token: string;
const open: HcmSim[] = [];
const dirs: string[] = [];

async function sim(options: Partial<HcmSimOptions> = {}): Promise<HcmSim> {
  const s = await startHcmSim({ jwksUrl: idp.jwksUrl, persons: 50, ...options });
  open.push(s);
  return s;
}

const goal = (n: number) => ({
  GoalName: `Fault goal ${n}`,
  PersonId: personId(0),
  StartDate: '2026-01-10',
  TargetCompletionDate: '2026-12-01',
  StatusCode: 'IN_PROGRESS',
});

function post(s: HcmSim, body: unknown): Promise<Response> {
  return fetch(s.url + planGoals(FY26.GoalPlanId), {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function list(s: HcmSim): Promise<number> {
  const res = await fetch(`${s.url}${topGoals}?limit=1`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  await res.arrayBuffer();
  return res.status;
}

beforeAll(async () => {
  idp = await startDevTokenIssuer();
  token = await idp.mint();
});

afterAll(async () => {
  for (const s of open) await s.close();
  await idp?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('HCM simulator: faults', () => {
  it('POST /__sim/faults merges, validates and returns the current faults', async () => {
    const s = await sim();
    const after = await postHcmFaults(s.url, { latencyMs: 5, errorStatus: 500 });
    expect(after).toMatchObject({ latencyMs: 5, errorStatus: 500, rateLimitPerSecond: 50, errorRate: 0 });
    expect(s.faults()).toEqual(after);
    await expect(postHcmFaults(s.url, { errorRate: 2 })).rejects.toThrow(/400/);
    await expect(postHcmFaults(s.url, { nope: 1 } as never)).rejects.toThrow(/Unknown fault/);
    expect(s.faults()).toEqual(after);
  });

  it('latency fault delays every API request', async () => {
    const s = await sim({ faults: { latencyMs: 150, jitterMs: 50 } });
    const started = performance.now();
    expect(await list(s)).toBe(200);
    const slowMs = performance.now() - started;
    expect(slowMs).toBeGreaterThanOrEqual(145);
    s.setFaults({ latencyMs: 0, jitterMs: 0 });
    const quick = performance.now();
    await list(s);
    // Compared with the delayed request, not with a fixed bound: both pay the same machine's overhead.
    expect(performance.now() - quick).toBeLessThan(slowMs);
  });

  it('a lognormal latency is set over POST /__sim/faults and delays requests', async () => {
    const s = await sim();
    const set = await postHcmFaults(s.url, {
      latencyDistribution: 'lognormal',
      latencyMs: 40,
      latencyP99Ms: 120,
    });
    expect(set).toMatchObject({ latencyDistribution: 'lognormal', latencyMs: 40, latencyP99Ms: 120 });
    await expect(postHcmFaults(s.url, { latencyP99Ms: 10 })).rejects.toThrow(/400/);
    const started = performance.now();
    for (let i = 0; i < 5; i++) expect(await list(s)).toBe(200);
    // Five draws of median 40 ms: their sum is far above what an undelayed simulator needs (~5 ms).
    expect(performance.now() - started).toBeGreaterThan(60);
  });

  it('errorRate injects the configured 5xx, reproducibly for a given seed', async () => {
    const run = async (seed: number) => {
      const s = await sim({ seed, faults: { errorRate: 0.5, rateLimitPerSecond: 0 } });
      const statuses: number[] = [];
      for (let i = 0; i < 24; i++) statuses.push(await list(s));
      return { statuses, stats: await fetchHcmStats(s.url) };
    };
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(a.statuses).toEqual(b.statuses);
    expect(a.statuses).not.toEqual(c.statuses);
    expect(new Set(a.statuses)).toEqual(new Set([200, 503]));
    expect(a.stats.serverErrors).toBe(a.statuses.filter((x) => x === 503).length);
    expect(a.stats.goalsStored).toBe(0);
  });

  it('commit-then-drop: the goal is stored but the client sees a socket error', async () => {
    const s = await sim({ faults: { commitThenDropRate: 1 } });
    await expect(post(s, goal(1))).rejects.toThrow();
    const stats = s.stats();
    expect(stats).toMatchObject({ creates: 1, goalsStored: 1, droppedAfterCommit: 1 });
    expect(s.goals()[0]?.GoalName).toBe('Fault goal 1');
    // The naive retry is exactly the duplicate-goal trap.
    s.setFaults({ commitThenDropRate: 0 });
    expect((await post(s, goal(1))).status).toBe(201);
    expect(s.stats()).toMatchObject({ duplicates: 1, duplicateKeys: 1 });
    // Reads are never dropped.
    s.setFaults({ commitThenDropRate: 1 });
    expect(await list(s)).toBe(200);
  });
});

describe('HCM simulator: stateDir persistence', () => {
  it('a second instance continues with the goals and the GoalId sequence of the first', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hcm-sim-'));
    dirs.push(dir);
    const first = await sim({ stateDir: dir, persistDebounceMs: 20 });
    const made: SimGoal[] = [];
    for (let i = 0; i < 3; i++) made.push((await (await post(first, goal(i))).json()) as SimGoal);
    await first.close();

    const second = await sim({ stateDir: dir });
    expect(second.goals().map((g) => g.GoalId)).toEqual(made.map((g) => g.GoalId));
    const next = (await (await post(second, goal(9))).json()) as SimGoal;
    expect(next.GoalId).toBe(made[2]!.GoalId + 1);
    // flush() without close, as a process would before it is killed: the file has the fourth goal.
    await second.flush();
    const third = await sim({ stateDir: dir });
    expect(third.goals()).toHaveLength(4);
    expect(third.stats().goalsStored).toBe(4);
  });

  it('every acknowledged write is on disk before the response: no flush, no close, torn tail ignored', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hcm-sim-'));
    dirs.push(dir);
    const first = await sim({ stateDir: dir });
    for (let i = 0; i < 5; i++) expect((await post(first, goal(i))).status).toBe(201);
    // A process killed mid-append leaves half a line: that write was never acknowledged.
    await appendFile(join(dir, JOURNAL_FILE_NAME), '{"u":"HALF');
    // `first` is neither flushed nor closed, as after SIGKILL: a new instance reads the journal.
    const second = await sim({ stateDir: dir });
    expect(second.goals().map((g) => g.GoalName)).toEqual([0, 1, 2, 3, 4].map((i) => `Fault goal ${i}`));
    expect(((await (await post(second, goal(9))).json()) as SimGoal).GoalId).toBe(
      Math.max(
        ...second
          .goals()
          .slice(0, 5)
          .map((g) => g.GoalId),
      ) + 1,
    );
  });

  it('refuses a state directory of the simulator before Oracle names (schema 1) and says what to do', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hcm-sim-'));
    dirs.push(dir);
    await writeFile(join(dir, STATE_FILE_NAME), JSON.stringify({ schema: 1, nextGoalId: 5, goals: [] }));
    await expect(sim({ stateDir: dir })).rejects.toThrow(/schema 1 .*delete the state directory/s);
  });
});
