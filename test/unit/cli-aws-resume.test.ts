import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultDeps } from '../../local/cli/aws/cli.ts';
import { run } from '../../local/cli/commands/resume.ts';

const cfn = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);
const lambda = mockClient(LambdaClient);

const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:GoalSync';
const execArn = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:GoalSync:${name}`;
const INPUT = {
  runId: 'r1',
  source: { uri: 's3://b-1/goals.jsonl', format: 'jsonl' },
  connectionId: 'hcm-eu',
};

const payload = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)) as unknown as InvokeCommandOutput['Payload'];

function harness() {
  const out: string[] = [];
  const err: string[] = [];
  const deps = defaultDeps({ out: (l) => out.push(l), err: (l) => err.push(l) });
  return { deps, out, err, text: () => [...out, ...err].join('\n') };
}

/** The run's executions (newest first) and what DescribeExecution says about the newest. */
function givenRun(names: string[], latest: Partial<DescribeExecutionCommandOutput>) {
  sfn.on(ListExecutionsCommand).resolves({
    executions: names.map((name, i) => ({
      name,
      executionArn: execArn(name),
      stateMachineArn: SM,
      status: i === 0 ? latest.status : 'FAILED',
      startDate: new Date(Date.UTC(2026, 4, 1, 10 - i)),
    })),
  });
  sfn.on(DescribeExecutionCommand).callsFake(({ executionArn }: { executionArn: string }) => ({
    executionArn,
    name: executionArn.split(':').at(-1),
    stateMachineArn: SM,
    startDate: new Date(),
    stopDate: new Date(Date.UTC(2026, 4, 1, 11)),
    input: JSON.stringify(INPUT),
    ...latest,
  }));
}

const started = () => sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);

beforeEach(() => {
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'prod',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [
          { OutputKey: 'StateMachineArn', OutputValue: SM },
          { OutputKey: 'TokenBrokerFunctionName', OutputValue: 'broker' },
        ],
      },
    ],
  });
  sfn.on(RedriveExecutionCommand).resolves({ redriveDate: new Date() });
  sfn
    .on(StartExecutionCommand)
    .callsFake(({ name }: { name: string }) => ({ executionArn: execArn(name), startDate: new Date() }));
});
afterEach(() => {
  for (const m of [cfn, sfn, lambda]) m.reset();
});

describe('goal-sync resume', () => {
  it('starts <run>-r<n+1> with the same run id and input (resume: true), never a redrive', async () => {
    // A FAILED execution that ended in RunFailed is "redrivable", but a redrive would only replay the
    // Fail state: the resume is a new execution that plans again and retries what is not done.
    givenRun(['r1-r2', 'r1-r1', 'r1'], {
      status: 'FAILED',
      error: 'SyncFailed',
      redriveStatus: 'REDRIVABLE',
      redriveCount: 0,
    });
    const h = harness();
    expect(await run(['--stack', 'prod', '--run-id', 'r1'], h.deps)).toBe(0);
    expect(sfn.commandCalls(RedriveExecutionCommand)).toHaveLength(0);
    expect(started()).toHaveLength(1);
    expect(started()[0]).toMatchObject({ stateMachineArn: SM, name: 'r1-r3' });
    expect(JSON.parse(started()[0]?.input ?? '')).toEqual({ ...INPUT, resume: true });
    expect(h.text()).toContain('started execution r1-r3 for run r1 (previous execution FAILED)');
    expect(h.text()).toContain('records they hold are waited for, not written twice');
  });

  it('starts a new execution after a SUCCEEDED one (records left failed get retried)', async () => {
    givenRun(['r1'], { status: 'SUCCEEDED', redriveStatus: 'NOT_REDRIVABLE' });
    expect(await run(['--stack', 'prod', '--run-id', 'r1'], harness().deps)).toBe(0);
    expect(started().map((s) => s.name)).toEqual(['r1-r1']);
  });

  it('skips execution names that already exist beyond the listing window', async () => {
    givenRun(['r1'], { status: 'FAILED', redriveStatus: 'NOT_REDRIVABLE' });
    const exists = Object.assign(new Error('exists'), { name: 'ExecutionAlreadyExists' });
    sfn
      .on(StartExecutionCommand)
      .rejectsOnce(exists)
      .rejectsOnce(exists)
      .resolves({ executionArn: execArn('r1-r3'), startDate: new Date() });
    expect(await run(['--stack', 'prod', '--run-id', 'r1'], harness().deps)).toBe(0);
    expect(started().map((s) => s.name)).toEqual(['r1-r1', 'r1-r2', 'r1-r3']);
  });

  it('refuses to resume a run that is still running', async () => {
    givenRun(['r1'], { status: 'RUNNING' });
    const h = harness();
    expect(await run(['--stack', 'prod', '--run-id', 'r1'], h.deps)).toBe(1);
    expect(h.err.join('\n')).toContain('run r1 is RUNNING');
    expect(started()).toHaveLength(0);
    expect(sfn.commandCalls(RedriveExecutionCommand)).toHaveLength(0);
  });

  it('exits 3 without resuming when the run failed for re-auth and the connection still needs it', async () => {
    givenRun(['r1'], { status: 'FAILED', error: 'ReauthRequiredError', redriveStatus: 'REDRIVABLE' });
    lambda
      .on(InvokeCommand)
      .resolves({ Payload: payload({ connections: [{ connectionId: 'hcm-eu', status: 'needs_reauth' }] }) });
    const h = harness();
    expect(await run(['--stack', 'prod', '--run-id', 'r1'], h.deps)).toBe(3);
    expect(h.err.join('\n')).toContain('goal-sync connect --stack prod --connection hcm-eu');
    expect(sfn.commandCalls(RedriveExecutionCommand)).toHaveLength(0);
  });

  it('resumes a re-auth failure once the connection is active again', async () => {
    givenRun(['r1'], { status: 'FAILED', error: 'ReauthRequiredError', redriveStatus: 'REDRIVABLE' });
    lambda
      .on(InvokeCommand)
      .resolves({ Payload: payload({ connections: [{ connectionId: 'hcm-eu', status: 'active' }] }) });
    expect(await run(['--stack', 'prod', '--run-id', 'r1'], harness().deps)).toBe(0);
    expect(sfn.commandCalls(RedriveExecutionCommand)).toHaveLength(0);
    expect(started().map((s) => s.name)).toEqual(['r1-r1']);
  });

  it('exits 1 for a run without executions, and 2 without --run-id', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn
      .on(DescribeExecutionCommand)
      .rejects(Object.assign(new Error('nope'), { name: 'ExecutionDoesNotExist' }));
    const h = harness();
    expect(await run(['--stack', 'prod', '--run-id', 'ghost'], h.deps)).toBe(1);
    expect(h.err.join('\n')).toContain('run ghost has no execution');
    expect(await run(['--stack', 'prod'], harness().deps)).toBe(2);
  });
});
