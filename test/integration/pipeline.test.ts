import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GoalRecord } from '#core/source/index.ts';
import { openGoalSource } from '#core/source/index.ts';
import { writeSampleFile } from '../../local/sample/generate.ts';
import { measure, type PipelinePeers, runPipeline, startPipelinePeers } from './pipeline-harness.ts';

/**
 * The 2,000-goal run of issue 4 against real peers over HTTP: access tokens live 5 s, HCM allows
 * 50 requests/s per client. Then the same source again (nothing to write), then a changed export.
 */
const GOALS = 2_000;
const RATE_LIMIT = 50;
const CHUNK_SIZE = 100;

/** Distinct workers per plan per chunk of CHUNK_SIZE records (the source has no invalid lines here). */
function findersPerChunk(records: readonly GoalRecord[], chunkSize: number): number {
  let finders = 0;
  for (let i = 0; i < records.length; i += chunkSize)
    finders += new Set(records.slice(i, i + chunkSize).map((r) => `${r.personNumber}|${r.goalPlanId}`)).size;
  return finders;
}

let peers: PipelinePeers;
let sourcePath: string;
const valid: GoalRecord[] = [];

beforeAll(async () => {
  peers = await startPipelinePeers({
    tokenTtlSeconds: 5,
    hcmFaults: { rateLimitPerSecond: RATE_LIMIT, latencyMs: 5, jitterMs: 10 },
  });
  sourcePath = join(peers.dir, 'goals.jsonl');
  await writeSampleFile(sourcePath, { goals: GOALS, seed: 11 });
  const source = openGoalSource({ uri: sourcePath, format: 'jsonl' });
  const plan = await source.plan(GOALS);
  for await (const entry of source.readChunk(plan.chunks[0]!))
    if ('record' in entry) valid.push(entry.record);
  expect(valid).toHaveLength(GOALS);
});

afterAll(async () => {
  await peers?.close();
});

const naturalKey = (personNumber: string, goalPlanId: number, goalName: string) =>
  `${personNumber}|${goalPlanId}|${goalName}`;

describe('pipeline over dynalite + IdP + HCM simulator', () => {
  it(`syncs ${GOALS} goals with 5 s tokens at ${RATE_LIMIT} req/s: each goal exactly once, no unrecovered 401`, async () => {
    const idpBefore = peers.idp.stats();
    const run = await runPipeline(peers, {
      runId: 'it-full',
      sourcePath,
      chunkSize: CHUNK_SIZE,
      concurrency: 5,
    });
    expect(run.crashed).toBeUndefined();
    expect(run.finish).toMatchObject({
      status: 'completed',
      aggregation: 'chunks',
      goals: { total: GOALS, created: GOALS, failed: 0, invalid: 0, unsettled: 0 },
    });
    expect(run.events).toEqual(['sync.completed']);

    const stats = peers.hcm.stats();
    expect(stats.goalsStored).toBe(GOALS);
    expect(stats.duplicates).toBe(0);
    expect(stats.creates).toBe(GOALS);
    const stored = new Set(
      peers.hcm.goals().map((g) => naturalKey(g.PersonNumber, g.GoalPlanId, g.GoalName)),
    );
    for (const r of valid)
      expect(stored.has(naturalKey(r.personNumber, r.goalPlanId, r.goalName))).toBe(true);

    // Per worker and plan in a chunk: one finder on the plan's child collection and one
    // goalPlanAssignees query (the worker's PersonId and assignment), no more.
    const finders = findersPerChunk(valid, CHUNK_SIZE);
    expect(stats.reads).toBe(2 * finders);
    // The pacer keeps 429s rare (the concurrency limiter it replaced drew ~30%).
    expect(stats.throttled).toBeLessThan(stats.requests.total * 0.05);

    const idp = peers.idp.stats();
    const tokenCalls = idp.tokenRequests - idpBefore.tokenRequests;
    const seconds = run.wallMs / 1000;
    // docs/hcm-client.md "Throughput": minimal = (writes + one finder per distinct person) / goals.
    const persons = new Set(valid.map((r) => r.personNumber)).size;
    const ceilingGoalsPerSec = RATE_LIMIT / ((GOALS + persons) / GOALS);
    // Tokens expired about every 5 s during the run: the broker must have refreshed them, more than once.
    expect(idp.refreshes - idpBefore.refreshes).toBeGreaterThan(2);
    expect(idp.reuseDetections).toBe(0);
    measure('full-run', {
      goals: GOALS,
      wallMs: run.wallMs,
      goalsPerSec: +(GOALS / seconds).toFixed(1),
      ceilingGoalsPerSec: +ceilingGoalsPerSec.toFixed(1),
      ceilingRatio: +(GOALS / seconds / ceilingGoalsPerSec).toFixed(2),
      finders,
      persons,
      hcmRequests: stats.requests.total,
      hcmRequestsPerGoal: +(stats.requests.total / GOALS).toFixed(2),
      byMethod: stats.requests.byMethod,
      unauthorized: stats.unauthorized,
      throttled: stats.throttled,
      tokenEndpointCalls: tokenCalls,
      refreshes: idp.refreshes - idpBefore.refreshes,
      brokerRequests: run.brokerRequests,
      chunkPasses: run.passes,
    });
  });

  it('a second run of the unchanged source settles every goal as unchanged without any HCM request', async () => {
    const before = peers.hcm.stats();
    const run = await runPipeline(peers, { runId: 'it-again', sourcePath, chunkSize: 100, concurrency: 5 });
    expect(run.finish).toMatchObject({
      status: 'completed',
      goals: { unchanged: GOALS, created: 0, updated: 0 },
    });
    const after = peers.hcm.stats();
    expect(after.requests.total - before.requests.total).toBe(0);
    expect(after.goalsStored).toBe(GOALS);
    measure('unchanged-run', {
      goals: GOALS,
      wallMs: run.wallMs,
      hcmRequests: after.requests.total - before.requests.total,
    });
  });

  it('a changed export PATCHes exactly the changed goals by their ledger ids', async () => {
    const changedPath = join(peers.dir, 'goals-changed.jsonl');
    const summary = await writeSampleFile(changedPath, {
      goals: GOALS,
      seed: 11,
      changes: { rate: 0.05, seed: 3 },
    });
    expect(summary.changed).toBeGreaterThan(0);
    const before = peers.hcm.stats();
    const run = await runPipeline(peers, {
      runId: 'it-changed',
      sourcePath: changedPath,
      chunkSize: 100,
      concurrency: 5,
    });
    expect(run.finish).toMatchObject({
      status: 'completed',
      goals: { updated: summary.changed, unchanged: GOALS - summary.changed, created: 0 },
    });
    const after = peers.hcm.stats();
    expect(after.updates - before.updates).toBe(summary.changed);
    expect(after.creates - before.creates).toBe(0);
    // No finder either: the ledger knew every goal's id.
    expect(after.reads - before.reads).toBe(0);
    expect(after.goalsStored).toBe(GOALS);
  });
});
