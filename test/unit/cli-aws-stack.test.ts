import {
  CloudFormationClient,
  DescribeStacksCommand,
  type StackStatus,
} from '@aws-sdk/client-cloudformation';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { CliUsageError } from '../../cli/aws/cli.ts';
import {
  consoleUrlFor,
  executionArnFor,
  executionsOfRun,
  generateRunId,
  validateRunId,
} from '../../cli/aws/executions.ts';
import { discoverStack, STACK_OUTPUTS } from '../../cli/aws/stack-outputs.ts';
import { ConfigError } from '../../lambdas/core/errors.ts';

const cfnMock = mockClient(CloudFormationClient);
const sfnMock = mockClient(SFNClient);
afterEach(() => {
  cfnMock.reset();
  sfnMock.reset();
});

const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:GoalSync';

function stackWith(outputs: Record<string, string>, status: StackStatus = 'UPDATE_COMPLETE') {
  cfnMock.on(DescribeStacksCommand, { StackName: 'goal-sync-prod' }).resolves({
    Stacks: [
      {
        StackName: 'goal-sync-prod',
        StackStatus: status,
        CreationTime: new Date(),
        Outputs: [
          ...Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
          { OutputKey: 'SomethingElse', OutputValue: 'ignored' },
        ],
      },
    ],
  });
}

describe('stack output discovery', () => {
  it('returns the known outputs of the named stack', async () => {
    stackWith({
      StateMachineArn: SM,
      CheckpointTableName: 'cp',
      IdpTokenUrl: 'https://idcs.example/oauth2/v1/token',
    });
    const outputs = await discoverStack(new CloudFormationClient({}), 'goal-sync-prod', [
      STACK_OUTPUTS.stateMachineArn,
      STACK_OUTPUTS.checkpointTableName,
    ]);
    expect(outputs.StateMachineArn).toBe(SM);
    expect(outputs.CheckpointTableName).toBe('cp');
    expect(outputs.IdpTokenUrl).toBe('https://idcs.example/oauth2/v1/token');
    expect(outputs).not.toHaveProperty('SomethingElse');
  });

  it('names every missing required output in one ConfigError', async () => {
    stackWith({ StateMachineArn: SM, TokenBrokerFunctionName: '' });
    const err = await discoverStack(new CloudFormationClient({}), 'goal-sync-prod', [
      STACK_OUTPUTS.stateMachineArn,
      STACK_OUTPUTS.checkpointTableName,
      STACK_OUTPUTS.tokenBrokerFunctionName,
    ]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain("stack 'goal-sync-prod' lacks the output(s)");
    expect((err as Error).message).toContain('CheckpointTableName, TokenBrokerFunctionName');
    expect((err as Error).message).not.toContain('StateMachineArn');
  });

  it('turns a missing stack into a clear ConfigError', async () => {
    const notFound = Object.assign(new Error('Stack with id nope does not exist'), {
      name: 'ValidationError',
    });
    cfnMock.on(DescribeStacksCommand).rejects(notFound);
    await expect(discoverStack(new CloudFormationClient({}), 'nope', [])).rejects.toThrow(
      /stack 'nope' does not exist .*--region/,
    );
  });

  it('refuses a stack that failed or is being deleted', async () => {
    stackWith({ StateMachineArn: SM }, 'ROLLBACK_COMPLETE');
    await expect(discoverStack(new CloudFormationClient({}), 'goal-sync-prod', [])).rejects.toThrow(
      /is ROLLBACK_COMPLETE/,
    );
  });
});

describe('run ids and execution names', () => {
  it('generates run-YYYYMMDD-HHMMSS-xxxx in UTC', () => {
    const id = generateRunId(Date.UTC(2026, 4, 1, 2, 3, 4), () => 'a1b2');
    expect(id).toBe('run-20260501-020304-a1b2');
    expect(generateRunId(Date.now())).toMatch(/^run-\d{8}-\d{6}-[0-9a-f]{4}$/);
    expect(validateRunId(id)).toBe(id);
  });

  it('rejects run ids that cannot be execution names or look like resume attempts', () => {
    for (const bad of ['', 'has space', 'a/b', 'x'.repeat(73), 'nightly-r2', '-lead']) {
      expect(() => validateRunId(bad), bad).toThrow(CliUsageError);
    }
    expect(validateRunId('nightly.2026-05-01_a')).toBe('nightly.2026-05-01_a');
  });

  it('derives execution ARNs and console links from the state machine ARN', () => {
    const arn = executionArnFor(SM, 'run-1');
    expect(arn).toBe('arn:aws:states:eu-west-1:123456789012:execution:GoalSync:run-1');
    expect(consoleUrlFor(arn)).toBe(
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${arn}`,
    );
    expect(consoleUrlFor('arn:aws-cn:states:cn-north-1:1:execution:S:r')).toMatch(
      /^https:\/\/cn-north-1\.console\.amazonaws\.cn\//,
    );
    expect(() => executionArnFor('arn:aws:lambda:eu-west-1:1:function:f', 'x')).toThrow(ConfigError);
  });

  it("finds a run's executions across ListExecutions pages, newest first", async () => {
    const item = (name: string, minute: number) => ({
      name,
      executionArn: executionArnFor(SM, name),
      stateMachineArn: SM,
      status: 'FAILED' as const,
      startDate: new Date(Date.UTC(2026, 0, 1, 0, minute)),
    });
    sfnMock
      .on(ListExecutionsCommand, { nextToken: undefined })
      .resolves({ executions: [item('other', 9), item('run.1-r2', 8), item('run.1x', 7)], nextToken: 'p2' })
      .on(ListExecutionsCommand, { nextToken: 'p2' })
      .resolves({ executions: [item('run.1-r1', 5), item('run.1', 1), item('runX1', 0)] });
    const found = await executionsOfRun(new SFNClient({}), SM, 'run.1');
    expect(found.map((e) => [e.name, e.attempt])).toEqual([
      ['run.1-r2', 2],
      ['run.1-r1', 1],
      ['run.1', 0],
    ]);
    expect(sfnMock.commandCalls(ListExecutionsCommand)).toHaveLength(2);
  });
});
