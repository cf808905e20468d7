import fc from 'fast-check';
import { ChunkStore, RunLease, RunStore } from '#core/checkpoint/index.ts';
import { type ExecutionStarter, finishRun, startScheduledRun } from '#core/sync/index.ts';
import { checkpointTableSpec } from '../../lambdas/core/tables.ts';
import type { Verdict } from './broker-scenario.ts';
import { DynamoModel } from './model/dynamo-model.ts';
import { modelDocClient } from './model/peers.ts';
import { World } from './model/world.ts';

/**
 * Window O11, a redelivered trigger (issue 25, invariant 11): EventBridge Scheduler delivers one nightly
 * fire time two or three times (a delivery it did not see acknowledged), each delivery invokes the
 * schedule starter, and each start of an execution plans the run (the run lease lets the same run id
 * back in: a resume) and finishes it, completed or aborted. Properties: never two executions of one run
 * running at once, and a run an execution completed does not end `failed`.
 */
const TABLE = 'checkpoints';
const CONNECTION = 'conn-1';
const SCHEDULED = '2026-12-02T02:30:00Z';

export interface RedeliveryPlan {
  /** Virtual ms after the fire time at which each delivery invokes the starter. */
  deliveries: number[];
  /** How long each execution works between plan-sync and finish-sync (by start order, cycling). */
  workMs: number[];
  /** How each execution ends (by start order, cycling): finish-sync's own path, or an abort's status rule. */
  outcomes: Array<'completed' | 'aborted'>;
}

export const redeliveryPlanArb: fc.Arbitrary<RedeliveryPlan> = fc.record({
  deliveries: fc.array(fc.constantFrom(0, 10, 200, 5_000, 60_000), { minLength: 2, maxLength: 3 }),
  workMs: fc.array(fc.constantFrom(50, 3_000, 30_000), { minLength: 1, maxLength: 3 }),
  outcomes: fc.array(fc.constantFrom<'completed' | 'aborted'>('completed', 'completed', 'aborted'), {
    minLength: 1,
    maxLength: 3,
  }),
});

interface Execution {
  name: string;
  runId: string;
  running: boolean;
  outcome: 'completed' | 'aborted';
}

export async function runRedeliveryScenario(s: fc.Scheduler, plan: RedeliveryPlan): Promise<Verdict> {
  const world = new World(s);
  const db = new DynamoModel([checkpointTableSpec(TABLE)]);
  const executions = new Map<string, Execution>();
  const violations: string[] = [];
  const errors: string[] = [];

  /** One execution of the state machine: plan-sync (start or resume the run, take the lease), work, finish. */
  const execute = async (e: Execution, index: number) => {
    const actor = world.actor(`execution ${e.name}`);
    const doc = modelDocClient(world, actor, db);
    const clock = world.clock(actor);
    const runs = new RunStore(doc, TABLE, { clock });
    const lease = new RunLease(doc, TABLE, { clock });
    const arn = `arn:exec:${e.name}`;
    try {
      await runs.startRun({
        runId: e.runId,
        source: { uri: 's3://b/nightly/goals.jsonl', format: 'jsonl' },
        connectionId: CONNECTION,
        chunkSize: 100,
        executionArn: arn,
      });
      await lease.acquire(CONNECTION, e.runId);
      await runs.markPlanned(e.runId, 0, { totalRecords: 0, validRecords: 0, invalid: 0, bytes: 0 });
      await clock.sleep(plan.workMs[index % plan.workMs.length]!);
      await finishRun(
        e.outcome === 'completed'
          ? { runId: e.runId }
          : { runId: e.runId, outcome: 'failed', executionArn: arn, error: { Error: 'States.Aborted' } },
        {
          runs,
          chunks: new ChunkStore(doc, TABLE, { clock }),
          events: { publish: async () => {} },
          lease,
          clock,
        },
      );
    } finally {
      e.running = false;
    }
  };

  const starter: ExecutionStarter = {
    async start(name, input) {
      const actor = world.actor(`StartExecution ${name}`);
      return world.step(actor, `StartExecution ${name}`, 20, () => {
        const existing = executions.get(name);
        // Step Functions: an identical start of a running execution answers it; a closed one is refused.
        if (existing) return { executionArn: `arn:exec:${name}`, alreadyExists: !existing.running };
        const runId = (JSON.parse(input) as { runId: string }).runId;
        const index = executions.size;
        const e: Execution = {
          name,
          runId,
          running: true,
          outcome: plan.outcomes[index % plan.outcomes.length]!,
        };
        const live = [...executions.values()].filter((x) => x.running && x.runId === runId);
        if (live.length > 0)
          violations.push(`two executions of ${runId} running at once (${live[0]!.name}, ${name})`);
        executions.set(name, e);
        void execute(e, index).catch((err: unknown) => errors.push(`${name}: ${(err as Error).message}`));
        return { executionArn: `arn:exec:${name}`, alreadyExists: false };
      });
    },
  };

  for (const [i, at] of plan.deliveries.entries()) {
    const delivery = world.actor(`delivery ${i + 1}`);
    void (async () => {
      await world.clock(delivery).sleep(Math.max(1, at));
      await startScheduledRun(
        { kind: 'nightly', scheduledTime: SCHEDULED, input: { connectionId: CONNECTION } },
        starter,
      );
    })().catch((err: unknown) => errors.push(`delivery ${i + 1}: ${(err as Error).message}`));
  }
  const done = await world.run(5_000);
  if (done.exhausted) violations.push('livelock: the step budget ran out');

  const runIds = new Set([...executions.values()].map((e) => e.runId));
  for (const runId of runIds) {
    const reader = world.actor('check');
    const reading = new RunStore(modelDocClient(world, reader, db), TABLE).getRun(runId);
    await world.run(100);
    const run = await reading;
    const completedOnce = [...executions.values()].some(
      (e) => e.runId === runId && e.outcome === 'completed',
    );
    if (completedOnce && run?.status === 'failed')
      violations.push(`run ${runId}: an execution completed it, and it ended failed`);
  }
  return { violations: [...violations, ...errors.map((e) => `unexpected error: ${e}`)], story: world.story };
}
