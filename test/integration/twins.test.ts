import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkStore, GoalLedger, type WriteTiming } from '#core/checkpoint/index.ts';
import type { ChunkRef, GoalRecord } from '#core/source/index.ts';
import { openGoalSource } from '#core/source/index.ts';
import { buildGoalIndex, listTwins, loadSnapshot, removeYounger } from '#core/sync/index.ts';
import { defaultDeps } from '../../cli/aws/cli.ts';
import type { AwsClients } from '../../cli/aws/clients.ts';
import { run as twinsCommand } from '../../cli/commands/twins.ts';
import { memoryIndexStore, passUntilComplete, sampleChunk, simClient, totalCounts } from './index-harness.ts';
import { CONNECTION_ID, type PipelinePeers, startPipelinePeers } from './pipeline-harness.ts';

/**
 * Twins (issue 25) against dynalite and the HCM simulator over HTTP. Run A's POSTs are answered 504
 * and committed 12 s later; past a short settle horizon run B POSTs them again (the settle horizon's
 * promise ends there); the late commits then land. Run C, with the plan-wide read, reports every key
 * as twins because the ledger counts two POSTs of ours; a person's removal deletes the younger goal
 * with the ETag it was listed with, and one edited since is refused.
 */
const TIMING: WriteTiming = {
  claimTtlMs: 3_000,
  requestTimeoutMs: 2_000,
  visibilityMs: 300,
  marginMs: 200,
  settleHorizonMs: 4_000,
};
const LATE_MS = 12_000;
const GOALS = 6;

let peers: PipelinePeers;
let dir: string;
let sourcePath: string;
let chunk: ChunkRef;
let goalPlanIds: number[];
let records: GoalRecord[];
const connectionId = `${CONNECTION_ID}-twins`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  peers = await startPipelinePeers({ tokenTtlSeconds: 300, hcmFaults: { rateLimitPerSecond: 0 } });
  dir = await mkdtemp(join(tmpdir(), 'twins-'));
  sourcePath = join(dir, 'goals.jsonl');
  ({ chunk, goalPlanIds, records } = await sampleChunk(sourcePath, GOALS, { invalidRate: 0, seed: 25 }));
});
afterAll(async () => {
  await peers.close();
  await rm(dir, { recursive: true, force: true });
});

const passes = (runId: string, extra: Partial<Parameters<typeof passUntilComplete>[0]> = {}) =>
  passUntilComplete({
    peers,
    runId,
    connectionId,
    attempt: 1,
    chunk,
    sourcePath,
    timing: TIMING,
    workerPrefix: `${runId}-w`,
    ...extra,
  });

const goalsByKey = () => {
  const byKey = new Map<string, number[]>();
  for (const g of peers.hcm.goals()) {
    if (!records.some((r) => r.goalName === g.GoalName)) continue;
    const k = `${g.PersonNumber}|${g.GoalPlanId}|${g.GoalName}`;
    byKey.set(k, [...(byKey.get(k) ?? []), g.GoalId]);
  }
  return byKey;
};

describe('twins: two goals of one key that two POSTs of ours made', () => {
  it('are reported by the next run with the listing, and only a person removes the younger', async () => {
    await peers.hcm.setFaults({ lateCommitRate: 1, lateCommitDelayMs: LATE_MS, latencyMs: 0, jitterMs: 0 });
    const a = totalCounts(await passes('twins-a'));
    expect(a.unsettled).toBe(GOALS);
    // Past the (short) settle horizon of every POST of run A, before Oracle commits them.
    await sleep(TIMING.settleHorizonMs! + 200);
    await peers.hcm.setFaults({ lateCommitRate: 0 });
    const b = totalCounts(await passes('twins-b'));
    expect(b.created).toBe(GOALS);
    for (let i = 0; i < 200 && peers.hcm.stats().lateCommitsPending > 0; i++) await sleep(100);
    expect(peers.hcm.stats().lateCommitsPending).toBe(0);
    expect([...goalsByKey().values()].every((ids) => ids.length === 2)).toBe(true);

    const ledger = new GoalLedger(peers.dynamo.doc, peers.dynamo.tables.checkpoints, {
      runId: 'x',
      connectionId,
    });
    for (const r of records) expect((await ledger.get(r.externalKey))?.postsSent).toBe(2);

    // Run C: the plan-wide read lists both goals of every key; the run reports, it deletes nothing.
    const store = memoryIndexStore();
    await buildGoalIndex(
      { runId: 'twins-c', attempt: 1, chunks: [chunk], goalPlanIds, validRecords: GOALS, verify: false },
      {
        hcm: simClient(peers, TIMING),
        source: openGoalSource({ uri: sourcePath, format: 'jsonl' }),
        store,
        now: Date.now,
      },
      { minRecords: 0 },
    );
    const snapshot = (await loadSnapshot(store, 'twins-c', 1, chunk.index))!;
    const chunks = new ChunkStore(peers.dynamo.doc, peers.dynamo.tables.checkpoints);
    await passes('twins-c', { snapshot, chunks });
    const [summary] = await chunks.listChunkSummaries('twins-c');
    expect(summary?.twins).toBe(GOALS);
    expect([...goalsByKey().values()].every((ids) => ids.length === 2)).toBe(true);

    const twins = await listTwins(chunks, 'twins-c');
    expect(twins).toHaveLength(GOALS);
    for (const t of twins) {
      expect(t.postsSent).toBe(2);
      expect(t.younger.every((y) => y.goalId > t.keep.goalId)).toBe(true);
    }

    // A person edits one younger goal after the run listed it: its removal is refused (412), not done.
    const edited = twins[0]!.younger[0]!;
    peers.hcm.editGoal(edited.ref.uniqId, { Description: 'edited by hand' });
    const removed = await removeYounger(simClient(peers, TIMING), twins);
    expect(removed.filter((r) => r.outcome === 'deleted')).toHaveLength(GOALS - 1);
    expect(removed.find((r) => r.goalId === edited.goalId)?.outcome).toBe('refused');
    const left = goalsByKey();
    for (const t of twins)
      expect(left.get([...left.keys()].find((k) => left.get(k)!.includes(t.keep.goalId))!)).toContain(
        t.keep.goalId,
      );
    expect([...left.values()].filter((ids) => ids.length === 1)).toHaveLength(GOALS - 1);

    // A removal repeated is harmless: the goal already gone answers 404.
    const again = await removeYounger(simClient(peers, TIMING), twins.slice(1));
    expect(again.every((r) => r.outcome === 'gone')).toBe(true);
  });

  it('a second goal a person made (one POST of ours) is no twin of ours', async () => {
    const store = memoryIndexStore();
    // Every key still has the goal run B committed; key 0 still has its twin too (the refused removal).
    await buildGoalIndex(
      { runId: 'twins-d', attempt: 1, chunks: [chunk], goalPlanIds, validRecords: GOALS, verify: false },
      {
        hcm: simClient(peers, TIMING),
        source: openGoalSource({ uri: sourcePath, format: 'jsonl' }),
        store,
        now: Date.now,
      },
      { minRecords: 0 },
    );
    const snapshot = (await loadSnapshot(store, 'twins-d', 1, chunk.index))!;
    const { findTwins } = await import('#core/sync/index.ts');
    const ledger = new GoalLedger(peers.dynamo.doc, peers.dynamo.tables.checkpoints, {
      runId: 'x',
      connectionId,
    });
    const items = new Map(
      await Promise.all(records.map(async (r) => [r.externalKey, await ledger.get(r.externalKey)] as const)),
    );
    expect(findTwins(records, (k) => items.get(k), snapshot)).toHaveLength(1);
    // The same listing with a ledger that saw one POST per record: nobody's twins but a person's.
    expect(findTwins(records, (k) => ({ ...items.get(k)!, postsSent: 1 }), snapshot)).toEqual([]);
  });

  it('goal-sync twins lists them from the checkpoint table and --remove deletes on the pod over HTTP', async () => {
    // CloudFormation has no local peer: its answer is mocked; the table is dynalite, the pod the simulator.
    const cfn = mockClient(CloudFormationClient);
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'it',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: [{ OutputKey: 'CheckpointTableName', OutputValue: peers.dynamo.tables.checkpoints }],
        },
      ],
    });
    const out: string[] = [];
    const deps = defaultDeps({
      out: (l) => out.push(l),
      err: (l) => out.push(l),
      clients: () =>
        ({ cloudFormation: new CloudFormationClient({}), dynamo: peers.dynamo.doc }) as AwsClients,
    });
    try {
      expect(await twinsCommand(['--stack', 'it', '--run-id', 'twins-c'], deps)).toBe(0);
      expect(out.join('\n')).toMatch(new RegExp(`${GOALS} natural key\\(s\\) with twins`));
      expect(out.join('\n')).toMatch(/remove the younger with --remove/);
      out.length = 0;
      expect(await twinsCommand(['--stack', 'it', '--run-id', 'twins-c', '--remove'], deps)).toBe(2);
      out.length = 0;
      const remove = ['--remove', '--hcm-url', peers.hcm.url, '--idp-url', peers.idp.url, '--json'];
      // Five were removed by the first test (gone now); the one edited by hand is refused again: exit 1.
      expect(await twinsCommand(['--stack', 'it', '--run-id', 'twins-c', ...remove], deps)).toBe(1);
      const report = JSON.parse(out.join('\n')) as { removed: Array<{ outcome: string }> };
      expect(report.removed.map((r) => r.outcome).sort()).toEqual([
        ...Array(GOALS - 1).fill('gone'),
        'refused',
      ]);
      out.length = 0;
      expect(await twinsCommand(['--stack', 'it', '--run-id', 'nope'], deps)).toBe(1);
      expect(out.join('\n')).toMatch(/run nope has no chunk summaries/);
    } finally {
      cfn.restore();
    }
  });
});
