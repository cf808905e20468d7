import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { scheduledRunId, startScheduledRun } from '#core/sync/index.ts';
import { canonicalRunIdArg } from '../../cli/aws/executions.ts';
import { SfnExecutionStarter } from '../../lambdas/core/adapters/aws/execution-starter.ts';
import { ConfigError } from '../../lambdas/core/errors.ts';

/**
 * The schedule starter (invariant 11): one execution per scheduled run, named `nightly-YYYYMMDDTHHMMZ`
 * from the fire time; a redelivered trigger is a StartExecution of the same name, recognised as done.
 * Step Functions has no local peer for execution names, so SFN is aws-sdk-client-mock.
 */
const sfn = mockClient(SFNClient);
const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:GoalSync';
const starter = new SfnExecutionStarter(new SFNClient({ region: 'eu-west-1' }), SM);
const event = {
  kind: 'nightly' as const,
  scheduledTime: '2026-12-02T02:00:00Z',
  input: { connectionId: 'acme', ifRunning: 'skip', source: { uri: 's3://b/nightly/goals.jsonl' } },
};
const alreadyExists = () =>
  Object.assign(new Error('Execution Already Exists'), { name: 'ExecutionAlreadyExists' });

afterEach(() => sfn.reset());

describe('scheduled run ids', () => {
  it('derive nightly-YYYYMMDDTHHMMZ from the scheduled time (UTC, to the minute)', () => {
    expect(scheduledRunId('nightly', '2026-12-02T02:00:00Z')).toBe('nightly-20261202T0200Z');
    expect(scheduledRunId('verify', '2026-12-06T04:30:00.000Z')).toBe('verify-20261206T0430Z');
    expect(scheduledRunId('nightly', '2026-12-02T02:00:00+00:00')).toBe('nightly-20261202T0200Z');
    expect(() => scheduledRunId('nightly', '<aws.scheduler.scheduled-time>')).toThrow(ConfigError);
    expect(() => scheduledRunId('nightly', '2026-12-02T02:00:00+01:00')).toThrow(/UTC/);
  });

  it('the CLI takes the fire time as Scheduler shows it, and the old help spelling, as the same run', () => {
    for (const spelling of [
      'nightly-20261201T0230Z',
      'nightly-2026-12-01T02:30:00Z',
      'nightly-2026-12-01T02-30-00Z',
    ])
      expect(canonicalRunIdArg(spelling)).toBe('nightly-20261201T0230Z');
    expect(canonicalRunIdArg('run-20261201-093000-1a2b')).toBe('run-20261201-093000-1a2b');
  });
});

describe('startScheduledRun (the starter Lambda) with SFN mocked', () => {
  it('starts the execution named after the run, with that run id in its input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: `${SM}:nightly-20261202T0200Z` });
    const out = await startScheduledRun(event, starter);
    expect(out).toEqual({
      runId: 'nightly-20261202T0200Z',
      started: true,
      executionArn: `${SM}:nightly-20261202T0200Z`,
    });
    const call = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(call.name).toBe('nightly-20261202T0200Z');
    expect(call.stateMachineArn).toBe(SM);
    expect(JSON.parse(call.input!)).toEqual({ ...event.input, runId: 'nightly-20261202T0200Z' });
  });

  it('a redelivery after the execution closed (ExecutionAlreadyExists) is done, not an error for the DLQ', async () => {
    sfn.on(StartExecutionCommand).rejects(alreadyExists());
    await expect(startScheduledRun(event, starter)).resolves.toEqual({
      runId: 'nightly-20261202T0200Z',
      started: false,
    });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('two deliveries of one fire time name one execution; any other failure is thrown for Scheduler to retry', async () => {
    const names: string[] = [];
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => {
      if (names.includes(input.name)) throw alreadyExists();
      names.push(input.name);
      return { executionArn: `${SM}:${input.name}` };
    });
    const first = await startScheduledRun(event, starter);
    const again = await startScheduledRun(event, starter);
    expect([first.started, again.started]).toEqual([true, false]);
    expect(names).toEqual(['nightly-20261202T0200Z']);

    sfn.reset();
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('rate'), { name: 'ThrottlingException' }));
    await expect(startScheduledRun(event, starter)).rejects.toThrow('rate');
  });

  it('a verify schedule starts verify-YYYYMMDDTHHMMZ with verify: true', async () => {
    sfn.on(StartExecutionCommand).resolves({});
    const out = await startScheduledRun(
      { ...event, kind: 'verify', scheduledTime: '2026-12-06T04:00:00Z' },
      starter,
    );
    expect(out.runId).toBe('verify-20261206T0400Z');
    const input = JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!);
    expect(input).toMatchObject({ runId: 'verify-20261206T0400Z', verify: true });
  });
});
