import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  ListExecutionsCommand,
  RedriveExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultDeps } from '../../cli/aws/cli.ts';
import { run } from '../../cli/commands/resume.ts';

const cfn = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);
const ddb = mockClient(DynamoDBDocumentClient);

const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:GoalSync';
const execArn = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:GoalSync:${name}`;
const INPUT = {
  runId: 'r1',
  source: { uri: 's3://b-1/goals.jsonl', format: 'jsonl' },
  connectionId: 'hcm-eu',
};

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
          { OutputKey: 'ConnectionTableName', OutputValue: 'connections' },
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
  for (const m of [cfn, sfn, ddb]) m.reset();
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
    // One live execution per run: the refusal names the live one with its console URL.
    expect(h.err.join('\n')).toContain(
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${execArn('r1')}`,
    );
    expect(started()).toHaveLength(0);
    expect(sfn.commandCalls(RedriveExecutionCommand)).toHaveLength(0);
  });

  it('refuses while the run continues in a new execution (<run>--<n>, issue 24): one live execution', async () => {
    givenRun(['r1--2', 'r1'], { status: 'RUNNING' });
    const h = harness();
    expect(await run(['--stack', 'prod', '--run-id', 'r1'], h.deps)).toBe(1);
    expect(h.err.join('\n')).toContain('run r1 is RUNNING');
    expect(h.err.join('\n')).toContain(execArn('r1--2'));
    expect(started()).toHaveLength(0);
  });

  it('finds a nightly run by the runbook spelling or by the fire time, as the starter named it', async () => {
    givenRun(['nightly-20261201T0230Z'], { status: 'FAILED' });
    for (const spelling of ['nightly-20261201T0230Z', 'nightly-2026-12-01T02:30:00Z']) {
      const h = harness();
      expect(await run(['--stack', 'prod', '--run-id', spelling], h.deps)).toBe(0);
      expect(started().at(-1)).toMatchObject({ name: 'nightly-20261201T0230Z-r1' });
      expect(JSON.parse(started().at(-1)!.input!)).toMatchObject({
        runId: 'nightly-20261201T0230Z',
        resume: true,
      });
    }
  });

  it('exits 3 without resuming when the run failed for re-auth and the connection still needs it', async () => {
    givenRun(['r1'], { status: 'FAILED', error: 'ReauthRequiredError', redriveStatus: 'REDRIVABLE' });
    ddb
      .on(GetCommand)
      .resolves({ Item: { connectionId: 'hcm-eu', status: 'needs_reauth', outbox: [], updatedAt: 1 } });
    const h = harness();
    expect(await run(['--stack', 'prod', '--run-id', 'r1'], h.deps)).toBe(3);
    expect(h.err.join('\n')).toContain('goal-sync connect --stack prod --connection hcm-eu');
    expect(sfn.commandCalls(RedriveExecutionCommand)).toHaveLength(0);
  });

  it('resumes a re-auth failure once the connection is active again', async () => {
    givenRun(['r1'], { status: 'FAILED', error: 'ReauthRequiredError', redriveStatus: 'REDRIVABLE' });
    ddb
      .on(GetCommand)
      .resolves({ Item: { connectionId: 'hcm-eu', status: 'active', outbox: [], updatedAt: 1 } });
    expect(await run(['--stack', 'prod', '--run-id', 'r1'], harness().deps)).toBe(0);
    expect(sfn.commandCalls(RedriveExecutionCommand)).toHaveLength(0);
    expect(started().map((s) => s.name)).toEqual(['r1-r1']);
  });

  it('--json prints one JSON document on stdout (the note goes to stderr)', async () => {
    givenRun(['r1-r1', 'r1'], { status: 'FAILED', error: 'SyncFailed' });
    const h = harness();
    expect(await run(['--stack', 'prod', '--run-id', 'r1', '--json'], h.deps)).toBe(0);
    expect(h.out).toHaveLength(1);
    expect(JSON.parse(h.out[0]!)).toEqual({
      runId: 'r1',
      executionName: 'r1-r2',
      executionArn: execArn('r1-r2'),
      consoleUrl: `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${execArn('r1-r2')}`,
      source: INPUT.source,
      connectionId: 'hcm-eu',
      previous: { executionArn: execArn('r1-r1'), status: 'FAILED', error: 'SyncFailed' },
    });
    expect(h.err.join('\n')).toContain('records they hold are waited for, not written twice');
  });

  it('--json after a SUCCEEDED run: no note, no error field; failures stay on stderr with stdout empty', async () => {
    givenRun(['r1'], { status: 'SUCCEEDED' });
    const ok = harness();
    expect(await run(['--stack', 'prod', '--run-id', 'r1', '--json'], ok.deps)).toBe(0);
    expect(ok.err).toEqual([]);
    expect(JSON.parse(ok.out[0]!)).toMatchObject({
      executionName: 'r1-r1',
      previous: { executionArn: execArn('r1'), status: 'SUCCEEDED' },
    });
    expect(JSON.parse(ok.out[0]!).previous).not.toHaveProperty('error');

    givenRun(['r1'], { status: 'RUNNING' });
    const busy = harness();
    expect(await run(['--stack', 'prod', '--run-id', 'r1', '--json'], busy.deps)).toBe(1);
    expect(busy.out).toEqual([]);
    expect(busy.err.join('\n')).toContain('run r1 is RUNNING');
  });

  it('--help exits 0 with examples, --json and the exit codes', async () => {
    const h = harness();
    expect(await run(['--help'], h.deps)).toBe(0);
    const help = h.out.join('\n');
    expect(help).toContain('--json');
    expect(help).toMatch(/examples:\n {2}goal-sync resume --stack \S+ --run-id \S+\n/);
    expect(help).toMatch(/Exit codes: 0 resumed, 1 .*, 2 bad arguments, 3 /);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
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
