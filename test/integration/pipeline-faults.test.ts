import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RunStore } from '#core/checkpoint/index.ts';
import type { HcmGoals } from '#core/hcm/index.ts';
import { validateGoalRecord } from '#core/source/index.ts';
import { writeSampleFile } from '../../local/sample/generate.ts';
import { measure, type PipelinePeers, runPipeline, startPipelinePeers } from './pipeline-harness.ts';

/**
 * Fault runs against the real peers. Each scenario gets fresh peers: the sample generator reuses
 * external keys across seeds, and the ledger would otherwise carry one scenario's goals into the next.
 */
let peers: PipelinePeers | undefined;
afterEach(async () => {
  await peers?.close();
  peers = undefined;
});

class SimulatedCrash extends Error {
  override readonly name = 'SimulatedCrash';
}

/** Kills the "process" once `after` creates have committed: that create's answer and every later call die. */
function crashAfter(after: number) {
  let committed = 0;
  let dead = false;
  const guard = () => {
    if (dead) throw new SimulatedCrash('worker killed');
  };
  const alive = <T>(call: () => Promise<T>): Promise<T> => {
    guard();
    return call();
  };
  return (hcm: HcmGoals): HcmGoals => ({
    findGoals: (plan, query) => alive(() => hcm.findGoals(plan, query)),
    listPlanAssignees: (plan, page, person) => alive(() => hcm.listPlanAssignees(plan, page, person)),
    update: (ref, patch, etag, claim) => alive(() => hcm.update(ref, patch, etag, claim)),
    create: async (plan, payload, claim) => {
      guard();
      const goal = await hcm.create(plan, payload, claim);
      committed += 1;
      if (committed >= after) dead = true;
      guard(); // committed in HCM, but the worker dies before it can write `done`
      return goal;
    },
  });
}

describe('pipeline under faults', () => {
  it('commit-then-drop on 2% of writes and 5% invalid records: no duplicate, invalid lines listed', async () => {
    peers = await startPipelinePeers({
      tokenTtlSeconds: 5,
      hcmFaults: { rateLimitPerSecond: 400, commitThenDropRate: 0.02 },
    });
    const path = join(peers.dir, 'faulty.jsonl');
    const summary = await writeSampleFile(path, { goals: 600, invalidRate: 0.05, seed: 5 });
    expect(summary.invalid).toBeGreaterThan(10);

    const run = await runPipeline(peers, {
      runId: 'it-drops',
      sourcePath: path,
      chunkSize: 50,
      concurrency: 4,
    });
    const validCount = 600 - summary.invalid;
    const stats = peers.hcm.stats();
    expect(stats.droppedAfterCommit).toBeGreaterThan(0);
    expect(stats.duplicates).toBe(0);
    expect(stats.goalsStored).toBe(validCount);
    expect(run.finish).toMatchObject({
      status: 'completed',
      goals: { total: 600, invalid: summary.invalid, failed: 0 },
    });
    const goals = run.finish!.goals;
    // A dropped create was found again by the natural-key finder, not created twice.
    expect(goals.reconciled).toBeGreaterThan(0);
    expect(goals.created + goals.reconciled + goals.updated).toBe(validCount);

    // Every invalid record is listed with its line, and that line really is invalid.
    const runs = new RunStore(peers.dynamo.doc, peers.dynamo.tables.checkpoints);
    const listed = await runs.listInvalidRecords('it-drops');
    expect(listed).toHaveLength(summary.invalid);
    const lines = (await readFile(path, 'utf8')).split('\n');
    for (const entry of listed) {
      const text = lines[entry.line - 1]!;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        continue; // a truncated line: invalid as JSON
      }
      expect(validateGoalRecord(parsed).ok).toBe(false);
      expect(entry.reason.length).toBeGreaterThan(0);
    }
    measure('commit-then-drop', {
      goals: 600,
      invalid: summary.invalid,
      dropped: stats.droppedAfterCommit,
      reconciled: goals.reconciled,
      duplicates: stats.duplicates,
      hcmRequests: stats.requests.total,
    });
  });

  it('a worker killed mid-run, resumed with the same runId, writes only the remainder', async () => {
    peers = await startPipelinePeers({ tokenTtlSeconds: 5, hcmFaults: { rateLimitPerSecond: 400 } });
    const path = join(peers.dir, 'crash.jsonl');
    await writeSampleFile(path, { goals: 500, seed: 9 });

    const first = await runPipeline(peers, {
      runId: 'it-crash',
      sourcePath: path,
      chunkSize: 50,
      concurrency: 4,
      wrapHcm: crashAfter(180),
    });
    expect(first.crashed).toBeInstanceOf(Error);
    expect(first.finish).toBeUndefined();
    const storedAfterCrash = peers.hcm.stats().goalsStored;
    const createsAfterCrash = peers.hcm.stats().creates;
    expect(storedAfterCrash).toBeGreaterThanOrEqual(180);
    expect(storedAfterCrash).toBeLessThan(500);

    const second = await runPipeline(peers, {
      runId: 'it-crash',
      sourcePath: path,
      chunkSize: 50,
      concurrency: 4,
    });
    expect(second.plan).toMatchObject({ resumed: true, attempt: 2 });
    const stats = peers.hcm.stats();
    // Only what the killed run had not committed is created now; committed-but-unrecorded goals are adopted.
    expect(stats.creates - createsAfterCrash).toBe(500 - storedAfterCrash);
    expect(stats.goalsStored).toBe(500);
    expect(stats.duplicates).toBe(0);
    expect(second.finish).toMatchObject({ status: 'completed', goals: { failed: 0, unsettled: 0 } });
    const goals = second.finish!.goals;
    expect(goals.created + goals.reconciled).toBe(500);
    expect(goals.reconciled).toBeGreaterThanOrEqual(1);
    measure('crash-resume', {
      goals: 500,
      committedBeforeCrash: storedAfterCrash,
      createdOnResume: stats.creates - createsAfterCrash,
      reconciled: goals.reconciled,
    });
  });
});
