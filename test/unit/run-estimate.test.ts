import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkStore, RunStore } from '#core/checkpoint/index.ts';
import { contentHash, DEFAULT_GOAL_MAPPING } from '#core/hcm/index.ts';
import { estimateRun, finishRun, type RunEstimate } from '#core/sync/index.ts';
import type { EventType } from '../../lambdas/core/ports.ts';
import { createPlanSyncHandler } from '../../lambdas/plan-sync/handler.ts';
import { startTestDynamo, type TestDynamo } from '../support/dynalite.ts';
import { silentHandlerDeps } from '../support/handler-deps.ts';
import { ArraySource, goal, TestClock } from './sync-fakes.ts';

/**
 * The run's REST duration against its execution's time left (issue 24 item 4), and what plan-sync does
 * with it: auto takes HDL for a run that would not fit; a REST run that would not fit writes until the
 * execution's REST deadline and continues in a new execution (run-continuation.test.ts); only a run
 * whose execution has no time left at all is refused at plan time (RunWouldNotFitError).
 */
const HOUR = 3_600_000;
const SIX_HOURS = 6 * HOUR;

describe('estimateRun: records x requests per goal / (ceiling x 0.85), against timeout - elapsed - 15 min', () => {
  it('200,000 goals at 10 requests/s: 5.7 h at the raw ceiling, 6.7 h with the margin: no fit in a fresh 6 h execution', () => {
    const now = Date.parse('2026-12-06T02:00:00Z');
    const e = estimateRun(200_000, 'ledger', {
      requestsPerSecond: 10,
      executionTimeoutMs: SIX_HOURS,
      executionStartedAt: now,
      now,
    });
    // 200,000 x 1.02 / 10 = 20,400 s = 5.67 h at the raw ceiling; the Map reaches ~85-90% of it.
    expect((200_000 * e.requestsPerGoal) / e.requestsPerSecond / 3600).toBeCloseTo(5.67, 2);
    expect(e).toMatchObject({ recordsToWrite: 200_000, restSeconds: 24_000, timeLeftSeconds: 20_700 });
    expect(e.fits).toBe(false);
  });

  it('100,000 goals fit (12,000 s of 20,700 s); the same run planned 3 h into its execution does not (9,900 s left)', () => {
    const start = Date.parse('2026-12-06T02:00:00Z');
    const settings = { requestsPerSecond: 10, executionTimeoutMs: SIX_HOURS, executionStartedAt: start };
    expect(estimateRun(100_000, 'bound', { ...settings, now: start })).toMatchObject({
      restSeconds: 12_000,
      timeLeftSeconds: 20_700,
      fits: true,
    });
    expect(estimateRun(100_000, 'bound', { ...settings, now: start + 3 * HOUR })).toMatchObject({
      restSeconds: 12_000,
      timeLeftSeconds: 9_900,
      fits: false,
    });
  });

  it('a higher ceiling makes 200,000 fit (50 requests/s: 4,800 s); without a timeout nothing is decided', () => {
    const now = 0;
    expect(
      estimateRun(200_000, 'ledger', { requestsPerSecond: 50, executionTimeoutMs: SIX_HOURS, now }).fits,
    ).toBe(true);
    const open = estimateRun(200_000, 'ledger', { requestsPerSecond: 10, now });
    expect(open.restSeconds).toBe(24_000);
    expect(open.fits).toBeUndefined();
    expect(open.timeLeftSeconds).toBeUndefined();
  });

  it('an execution past its time has 0 s left, never a negative figure', () => {
    const e = estimateRun(1, 'bound', {
      requestsPerSecond: 10,
      executionTimeoutMs: SIX_HOURS,
      executionStartedAt: 0,
      now: 7 * HOUR,
    });
    expect(e).toMatchObject({ timeLeftSeconds: 0, fits: false });
  });
});

let dynamo: TestDynamo;
beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  dynamo = await startTestDynamo();
});
afterAll(async () => {
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  await dynamo.close();
});

const context = { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'r' } as unknown as Context;
const clock = new TestClock();
// 300 records at 1 request/s need 360 s (300 x 1.02 / 0.85); planned 5 h 40 min into a 6 h execution,
// 20 min - 15 min reserve = 300 s are left: it does not fit. 200 records (240 s) do.
const LATE_START = new Date(clock.now() - (5 * HOUR + 40 * 60_000)).toISOString();
const records = (n: number) => ArraySource.of(Array.from({ length: n }, (_, i) => goal(i + 1)));

function planner(source: ArraySource, hdlSourceSystemOwner?: string) {
  return createPlanSyncHandler({
    ...silentHandlerDeps(dynamo),
    openSource: () => source,
    clock,
    runBudget: { requestsPerSecond: 1, executionTimeoutMs: SIX_HOURS },
    ...(hdlSourceSystemOwner ? { hdlSourceSystemOwner } : {}),
  });
}

const planEvent = (
  runId: string,
  connectionId: string,
  extra: Record<string, unknown> = {},
  startTime = LATE_START,
) => ({
  input: { runId, connectionId, source: { uri: 's3://bucket/goals.jsonl' }, ...extra },
  execution: { id: `arn:aws:states:us-east-1:0:execution:sync:${runId}`, startTime },
});
// Planned 5 h 50 min into a 6 h execution: 10 min left, less the 15 min reserve, is nothing.
const NO_TIME_START = new Date(clock.now() - (5 * HOUR + 50 * 60_000)).toISOString();

const storedEstimate = async (runId: string) =>
  (await new RunStore(dynamo.doc, dynamo.tables.checkpoints).getRun(runId))?.estimate as
    | RunEstimate
    | undefined;

describe('plan-sync: the estimate routes, continues or refuses', () => {
  it('a run that fits goes through REST below the threshold; the estimate (from the valid records) is in the output and on the run', async () => {
    const out = await planner(records(200), 'GOALSYNC')(planEvent('fit-1', 'est-c1'), context);
    expect(out.writeMode).toBe('rest');
    expect(out.estimate).toMatchObject({
      recordsToWrite: 200,
      counted: 'bound',
      restSeconds: 240,
      timeLeftSeconds: 300,
      fits: true,
    });
    expect(await storedEstimate('fit-1')).toMatchObject({ restSeconds: 240, fits: true });
  });

  it('auto with HDL configured: a run that would not fit goes through HDL though it is under the 2,000 threshold', async () => {
    const out = await planner(records(300), 'GOALSYNC')(planEvent('late-hdl-1', 'est-c2'), context);
    expect(out.writeMode).toBe('hdl');
    expect(out.hdlThreshold).toBe(2_000);
    // The bound did not fit, so the ledger counted: every record is new.
    expect(out.recordsToWrite).toBe(300);
    expect(out.estimate).toMatchObject({
      counted: 'ledger',
      restSeconds: 360,
      timeLeftSeconds: 300,
      fits: false,
    });
  });

  it('auto without HDL: not refused, REST until the deadline (start + 6 h - 15 min), then a continuation', async () => {
    const out = await planner(records(300))(planEvent('late-cont-1', 'est-c6'), context);
    expect(out.writeMode).toBe('rest');
    expect(out.estimate).toMatchObject({ restSeconds: 360, timeLeftSeconds: 300, fits: false });
    expect(out.restDeadline).toBe(Date.parse(LATE_START) + SIX_HOURS - 15 * 60_000);
    expect(out.restDeadline).toBe(clock.now() + 300_000);
    expect(await storedEstimate('late-cont-1')).toMatchObject({ restSeconds: 360, fits: false });
  });

  it('no time left at all: refused with RunWouldNotFitError, the estimate kept on the run, the connection free at once', async () => {
    const err = (await planner(records(300))(
      planEvent('late-rest-1', 'est-c3', {}, NO_TIME_START),
      context,
    ).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('RunWouldNotFitError');
    expect(err.message).toBe(
      'run late-rest-1 would not fit in its execution: 300 records to write need about 0.1 h through REST at ' +
        '1 requests/s, and this execution has 0.0 h left: configure HDL (hdlSourceSystemOwner), ' +
        'raise hcmMaxRequestsPerSecond if the pod takes more, or split the export',
    );
    expect(await storedEstimate('late-rest-1')).toMatchObject({ restSeconds: 360, fits: false });
    // MarkFailed's finish-sync: the report and the sync.failed event carry the estimate and the error.
    const runs = new RunStore(dynamo.doc, dynamo.tables.checkpoints);
    const published: Array<{ type: EventType; detail: Record<string, unknown> }> = [];
    await finishRun(
      { runId: 'late-rest-1', outcome: 'failed', error: { Error: err.name, Cause: err.message } },
      {
        runs,
        chunks: new ChunkStore(dynamo.doc, dynamo.tables.checkpoints),
        events: { publish: async (type, detail) => void published.push({ type, detail }) },
      },
    );
    expect(published).toEqual([
      expect.objectContaining({
        type: 'sync.failed',
        detail: expect.objectContaining({
          error: 'RunWouldNotFitError',
          estimate: expect.objectContaining({ restSeconds: 360, timeLeftSeconds: 0, fits: false }),
        }),
      }),
    ]);
    expect(await runs.getReport('late-rest-1')).toMatchObject({
      status: 'failed',
      estimate: { fits: false },
    });
    // The lease was released: another run of the connection plans now instead of RunInProgressError.
    const next = await planner(records(200))(planEvent('fit-after-1', 'est-c3'), context);
    expect(next.writeMode).toBe('rest');
  });

  it('a nightly run of mostly unchanged goals is not refused: the bound does not fit, the ledger count (50 of 300) does', async () => {
    const source = records(300);
    // 250 goals the ledger says HCM holds with this content: nothing to write for them.
    for (const e of source.entries.slice(0, 250)) {
      if (!('record' in e)) continue;
      const r = e.record;
      await dynamo.doc.send(
        new PutCommand({
          TableName: dynamo.tables.checkpoints,
          Item: {
            pk: `LEDGER#est-c5#${r.externalKey}`,
            sk: 'LEDGER',
            externalKey: r.externalKey,
            connectionId: 'est-c5',
            contentHash: contentHash(r, DEFAULT_GOAL_MAPPING),
            hcmGoalId: e.line,
            performanceGoalsUniqID: `u${e.line}`,
            goalPlanId: r.goalPlanId,
            goalPath: `/goalPlans/${r.goalPlanId}/child/performanceGoals/u${e.line}`,
          },
        }),
      );
    }
    const out = await planner(source)(planEvent('nightly-1', 'est-c5'), context);
    expect(out.writeMode).toBe('rest');
    expect(out.recordsToWrite).toBe(50);
    expect(out.estimate).toMatchObject({
      recordsToWrite: 50,
      counted: 'ledger',
      restSeconds: 60,
      fits: true,
    });
  });

  it('rest asked with HDL configured: continues too; with no time left refused, naming writeMode auto or hdl', async () => {
    const cont = await planner(records(300), 'GOALSYNC')(
      planEvent('late-rest-3', 'est-c7', { writeMode: 'rest' }),
      context,
    );
    expect(cont).toMatchObject({ writeMode: 'rest', estimate: { fits: false } });
    const err = (await planner(records(300), 'GOALSYNC')(
      planEvent('late-rest-2', 'est-c4', { writeMode: 'rest' }, NO_TIME_START),
      context,
    ).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('RunWouldNotFitError');
    expect(err.message).toMatch(/: start it with writeMode auto or hdl, raise hcmMaxRequestsPerSecond/);
  });
});
