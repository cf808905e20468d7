import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '../../lambdas/core/adapters/aws/event-publisher.ts';
import { LambdaBrokerTransport } from '../../lambdas/core/adapters/aws/lambda-broker-transport.ts';
import { atExpression, EventBridgeScheduler } from '../../lambdas/core/adapters/aws/scheduler.ts';
import {
  ConfigError,
  ConnectionNotFoundError,
  LeaseTimeoutError,
  ReauthRequiredError,
  TokenCommitError,
  TransientError,
} from '../../lambdas/core/errors.ts';

const region = 'us-east-1';
const scheduler = mockClient(SchedulerClient);
const events = mockClient(EventBridgeClient);
const lambda = mockClient(LambdaClient);
beforeEach(() => {
  scheduler.reset();
  events.reset();
  lambda.reset();
});

describe('EventBridgeScheduler', () => {
  const now = Date.UTC(2030, 4, 6, 7, 8, 9, 500);
  const make = () =>
    new EventBridgeScheduler(new SchedulerClient({ region, maxAttempts: 1 }), {
      groupName: 'goal-sync',
      targetArn: 'arn:aws:lambda:us-east-1:1:function:broker',
      roleArn: 'arn:aws:iam::1:role/scheduler',
      clock: { now: () => now },
    });

  it('creates a one-time UTC at() schedule that deletes itself, targeting the broker', async () => {
    scheduler.on(CreateScheduleCommand).resolves({});
    await make().scheduleOnce('token-refresh-c1', new Date(now + 600_000), {
      action: 'proactive',
      connectionId: 'c1',
    });
    const input = scheduler.commandCalls(CreateScheduleCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      Name: 'token-refresh-c1',
      GroupName: 'goal-sync',
      ScheduleExpression: 'at(2030-05-06T07:18:09)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      Target: { Arn: 'arn:aws:lambda:us-east-1:1:function:broker', RoleArn: 'arn:aws:iam::1:role/scheduler' },
    });
    expect(JSON.parse(input.Target!.Input!)).toEqual({ action: 'proactive', connectionId: 'c1' });
    expect(scheduler.commandCalls(UpdateScheduleCommand)).toHaveLength(0);
  });

  it('updates the schedule when it already exists (ConflictException)', async () => {
    scheduler
      .on(CreateScheduleCommand)
      .rejects(Object.assign(new Error('exists'), { name: 'ConflictException' }));
    scheduler.on(UpdateScheduleCommand).resolves({});
    await make().scheduleOnce('token-refresh-c1', new Date(now + 60_000), {
      action: 'proactive',
      connectionId: 'c1',
    });
    expect(scheduler.commandCalls(CreateScheduleCommand)).toHaveLength(1);
    const update = scheduler.commandCalls(UpdateScheduleCommand)[0]!.args[0].input;
    expect(update).toMatchObject({
      Name: 'token-refresh-c1',
      ScheduleExpression: 'at(2030-05-06T07:09:09)',
      ActionAfterCompletion: 'DELETE',
    });
  });

  it('never schedules in the past (moves a late fire a few seconds ahead)', async () => {
    scheduler.on(CreateScheduleCommand).resolves({});
    await make().scheduleOnce('n', new Date(now - 60_000), {});
    expect(scheduler.commandCalls(CreateScheduleCommand)[0]!.args[0].input.ScheduleExpression).toBe(
      atExpression(new Date(now + 5_000)),
    );
  });

  it('maps throttling to TransientError and ignores deleting a schedule that already fired', async () => {
    scheduler
      .on(CreateScheduleCommand)
      .rejects(Object.assign(new Error('slow'), { name: 'ThrottlingException' }));
    await expect(make().scheduleOnce('n', new Date(now + 60_000), {})).rejects.toBeInstanceOf(TransientError);
    scheduler
      .on(DeleteScheduleCommand)
      .rejects(Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' }));
    await expect(make().cancel('n')).resolves.toBeUndefined();
  });
});

describe('EventBridgePublisher', () => {
  const publisher = () =>
    new EventBridgePublisher(new EventBridgeClient({ region, maxAttempts: 1 }), { eventBusName: 'bus' });

  it('puts one entry with the type as detail-type and a redacted detail', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: '1' }] });
    const leaked = `eyJhbGciOiJSUzI1NiJ9.${'x'.repeat(50)}.${'y'.repeat(50)}`;
    await publisher().publish('connection.needs_reauth', {
      connectionId: 'c1',
      reason: `invalid_grant ${leaked}`,
      accessToken: leaked,
    });
    const entry = events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    expect(entry).toMatchObject({
      EventBusName: 'bus',
      Source: 'hcm-goal-sync',
      DetailType: 'connection.needs_reauth',
    });
    expect(entry.Detail).not.toContain(leaked);
    expect(JSON.parse(entry.Detail!).connectionId).toBe('c1');
  });

  it('treats a failed entry as TransientError', async () => {
    events
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException' }] });
    await expect(
      publisher().publish('connection.reactivated', { connectionId: 'c1' }),
    ).rejects.toBeInstanceOf(TransientError);
  });
});

describe('LambdaBrokerTransport', () => {
  const transport = () =>
    new LambdaBrokerTransport(new LambdaClient({ region, maxAttempts: 1 }), 'broker-fn');
  const payload = (v: unknown) =>
    new Uint8Array(Buffer.from(JSON.stringify(v))) as InvokeCommandOutput['Payload'];

  it('invokes synchronously with the JSON request and returns the answer', async () => {
    lambda
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, Payload: payload({ accessToken: 'at', expiresAt: 1, version: 3 }) });
    const token = await transport().call<{ version: number }>({
      action: 'get',
      connectionId: 'c1',
      minVersion: 3,
    });
    expect(token.version).toBe(3);
    const input = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ FunctionName: 'broker-fn', InvocationType: 'RequestResponse' });
    expect(JSON.parse(Buffer.from(input.Payload as Uint8Array).toString())).toEqual({
      action: 'get',
      connectionId: 'c1',
      minVersion: 3,
    });
  });

  it.each([
    ['ReauthRequiredError', 'connection c1 needs re-authentication: invalid_grant', ReauthRequiredError],
    ['TransientError', 'token endpoint answered 503', TransientError],
    ['LeaseTimeoutError', 'gave up waiting 35000 ms for the refresh of connection c1', LeaseTimeoutError],
    ['ConnectionNotFoundError', 'connection c1 does not exist', ConnectionNotFoundError],
    ['TokenCommitError', 'could not persist', TokenCommitError],
    ['ConfigError', 'invalid token broker request (action)', ConfigError],
    ['Sandbox.Timedout', 'Task timed out after 60.00 seconds', TransientError],
  ])('rethrows a %s function error as its typed error', async (errorType, errorMessage, cls) => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: payload({ errorType, errorMessage }),
    });
    const err = (await transport()
      .call({ action: 'get', connectionId: 'c1' })
      .catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(cls);
    expect(err.message).toContain(errorMessage);
    if (err instanceof ReauthRequiredError) {
      expect(err.connectionId).toBe('c1');
      expect(err.reason).toBe('invalid_grant');
      expect(err.message).toBe(errorMessage);
    }
  });

  it('keeps an unknown error type as the error name', async () => {
    lambda.on(InvokeCommand).resolves({
      FunctionError: 'Unhandled',
      Payload: payload({ errorType: 'TypeError', errorMessage: 'x is undefined' }),
    });
    const err = (await transport()
      .call({ action: 'status' })
      .catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('TypeError');
  });

  it('maps Lambda throttling of the invoke itself to TransientError', async () => {
    lambda
      .on(InvokeCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));
    await expect(transport().call({ action: 'sweep' })).rejects.toBeInstanceOf(TransientError);
  });
});
