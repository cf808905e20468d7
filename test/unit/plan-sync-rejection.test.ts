import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '#core/checkpoint/index.ts';
import { createPlanSyncHandler } from '../../lambdas/plan-sync/handler.ts';
import { startTestDynamo, type TestDynamo } from '../support/dynalite.ts';
import { silentHandlerDeps } from '../support/handler-deps.ts';
import { ArraySource, goal } from './sync-fakes.ts';

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

function planner(source: ArraySource) {
  return createPlanSyncHandler({
    ...silentHandlerDeps(dynamo),
    openSource: () => source,
    defaultConnectionId: 'hcm-default',
  });
}

const input = (runId: string, extra: Record<string, unknown> = {}) => ({
  runId,
  source: { uri: 's3://bucket/goals.jsonl' },
  ...extra,
});

describe('plan-sync rejects a source that cannot be right (invariant 9)', () => {
  it('an empty source fails with InputRejectedError', async () => {
    const err = (await planner(new ArraySource([]))(input('empty-1'), context).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err.name).toBe('InputRejectedError');
    expect(err.message).toBe('input rejected: s3://bucket/goals.jsonl holds no records');
  });

  it('a wholly invalid source fails, names the first problem, and still lists every invalid record', async () => {
    const source = new ArraySource(
      [1, 2, 3].map((line) => ({ line, invalid: { line, reason: 'status: invalid option' } })),
    );
    const err = (await planner(source)(input('all-bad-1'), context).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('InputRejectedError');
    expect(err.message).toBe(
      'input rejected: all 3 records of s3://bucket/goals.jsonl are invalid (first: line 1: status: invalid option)',
    );
    const stored = await new RunStore(dynamo.doc, dynamo.tables.checkpoints).listInvalidRecords('all-bad-1');
    expect(stored.map((r) => r.line)).toEqual([1, 2, 3]);
  });

  it('maxInvalid from the execution input: over fails, at the limit runs', async () => {
    const source = ArraySource.of([goal(1), goal(2), goal(3)], [2]);
    const over = (await planner(source)(input('over-1', { maxInvalid: 0 }), context).catch(
      (e: unknown) => e,
    )) as Error;
    expect(over.name).toBe('InputRejectedError');
    expect(over.message).toMatch(/1 of 4 records .* are invalid \(25\.0%\), more than maxInvalid 0/);
    const ok = await planner(source)(input('at-limit-1', { maxInvalid: '25%' }), context);
    expect(ok).toMatchObject({ runId: 'at-limit-1', connectionId: 'hcm-default', totals: { invalid: 1 } });
  });

  it('a verify run without HCM access for plan-sync fails with ConfigError, naming why', async () => {
    const err = (await planner(ArraySource.of([goal(1)]))(
      input('verify-1', { verify: true, connectionId: 'verify-c1' }),
      context,
    ).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('ConfigError');
    expect(err.message).toMatch(/verify needs the plan-wide read.*no HCM access configured/);
  });

  it('a rejected input with verify fails as rejected, not for verify', async () => {
    const err = (await planner(new ArraySource([]))(
      input('verify-empty', { verify: true, connectionId: 'verify-c2' }),
      context,
    ).catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('InputRejectedError');
  });

  it('a malformed input fails before any run exists, naming the field', async () => {
    const err = (await planner(ArraySource.of([goal(1)]))({ runId: 'x' }, context).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err.name).toBe('ConfigError');
    expect(err.message).toMatch(/source is required/);
    expect(await new RunStore(dynamo.doc, dynamo.tables.checkpoints).getRun('x')).toBeUndefined();
  });
});
