import { beforeAll, describe, expect, it } from 'vitest';
import { STACK_OUTPUTS } from '../../cli/aws/stack-outputs.ts';
import { METRIC_CONTRACT, REFRESH_TRIGGERS } from '../../infra/metrics.ts';
import { NOTIFIED_EVENTS } from '../../infra/notifications.ts';
import { SERVICE_NAMESPACE } from '../../lambdas/core/observability.ts';
import { FULL_CONTEXT, flatten, resourcesOfType, type Synthesized, synthesize } from './support.ts';

let s: Synthesized;
beforeAll(() => {
  s = synthesize({ context: FULL_CONTEXT });
});

const ref = (logicalId: string) => ({ Ref: logicalId });
const arnOf = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const idOf = (c: { node: { defaultChild?: unknown } } | unknown) =>
  s.stack.getLogicalId(((c as { node: { defaultChild: unknown } }).node.defaultChild ?? c) as never);

describe('events and notifications', () => {
  it('finishes executions that end outside the Catch: a default-bus rule on this state machine to finish-sync', () => {
    const [rule] = resourcesOfType(s.json, 'AWS::Events::Rule').filter(([, p]) => !p.EventBusName);
    expect(rule).toBeDefined();
    const [, p] = rule!;
    expect(p.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        stateMachineArn: [ref(idOf(s.stack.stateMachine))],
        status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
      },
    });
    expect(p.Targets).toEqual([
      expect.objectContaining({
        Arn: arnOf(idOf(s.stack.functions.finishSync.fn)),
        DeadLetterConfig: { Arn: arnOf(idOf(s.stack.notifications.deadLetterQueue)) },
      }),
    ]);
  });

  it('routes the four application events from the bus to the encrypted topic', () => {
    s.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'hcm-goal-sync-test' });
    // The project bus's rules; the execution-status rule on the default bus is checked below.
    const rules = resourcesOfType(s.json, 'AWS::Events::Rule').filter(([, p]) => p.EventBusName);
    const detailTypes = rules.map(([, p]) => (p.EventPattern as { 'detail-type': string[] })['detail-type']);
    expect(detailTypes.flat().sort()).toEqual([...NOTIFIED_EVENTS].sort());
    for (const [, p] of rules) {
      expect(p.EventBusName).toEqual(ref(idOf(s.stack.notifications.bus)));
      expect(p.Targets).toEqual([
        expect.objectContaining({
          Arn: ref(idOf(s.stack.notifications.topic)),
          DeadLetterConfig: { Arn: arnOf(idOf(s.stack.notifications.deadLetterQueue)) },
        }),
      ]);
    }
    s.template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: arnOf(idOf(s.stack.notifications.topicKey)),
    });
    s.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: FULL_CONTEXT.alarmEmail,
    });
    s.template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });
});

describe('alarms and dashboard', () => {
  const alarmProps = () =>
    resourcesOfType(s.json, 'AWS::CloudWatch::Alarm').map(([, p]) => p as Record<string, unknown>);

  it('alarms on executions, every function, the custom metrics and the DLQ, all to the topic', () => {
    const ids = s.stack.alarms.map((a) => a.id).sort();
    expect(ids).toEqual(
      [
        'ExecutionsFailed',
        'ExecutionsTimedOut',
        'ExecutionsAborted',
        'ReauthRequired',
        'GoalsUnsettled',
        'TokenRefreshFailed',
        'SweepOverdue',
        'DeadLetters',
        ...[
          'TokenBroker',
          'ConnectionAdmin',
          'PlanSync',
          'SyncChunk',
          'FinishSync',
          'HdlLoad',
          'Preflight',
          'ScheduleStarter',
        ].flatMap((f) => [`${f}Errors`, `${f}Throttles`]),
      ].sort(),
    );
    const topic = ref(idOf(s.stack.notifications.topic));
    for (const p of alarmProps()) {
      expect(p.AlarmActions).toEqual([topic]);
      expect(p.OKActions).toEqual([topic]);
      expect(p.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
      expect(p.TreatMissingData).toBe('notBreaching');
      expect(p.AlarmDescription).toEqual(expect.stringMatching(/>= \d+ in \d+ min: .{20,}/));
    }
  });

  it('watches the custom metrics with exactly the dimensions the handlers emit', () => {
    const byName = (name: string) =>
      alarmProps().find((p) => p.MetricName === name && p.Namespace === SERVICE_NAMESPACE);
    for (const [name, period] of [
      ['ReauthRequired', 300],
      ['GoalsUnsettled', 300],
      ['TokenRefreshFailed', 900],
      ['SweepOverdue', 300],
    ] as const) {
      const alarm = byName(name);
      expect(alarm, name).toBeDefined();
      expect(alarm).toMatchObject({
        Threshold: 1,
        Period: period,
        Statistic: 'Sum',
        Dimensions: [{ Name: 'service', Value: METRIC_CONTRACT[name].service }],
      });
    }
  });

  it('alarms on state machine failures, timeouts and aborts at the first occurrence', () => {
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) {
      expect(alarmProps().find((p) => p.MetricName === metric)).toMatchObject({
        Namespace: 'AWS/States',
        Threshold: 1,
        Dimensions: [{ Name: 'StateMachineArn', Value: ref(idOf(s.stack.stateMachine)) }],
      });
    }
  });

  it('has a dashboard with goals, duration, refreshes by trigger, contention and HCM 401/429/5xx', () => {
    const [, dash] = resourcesOfType(s.json, 'AWS::CloudWatch::Dashboard')[0]!;
    const body = flatten(dash.DashboardBody);
    for (const name of Object.keys(METRIC_CONTRACT)) expect(body).toContain(`"${name}"`);
    for (const trigger of REFRESH_TRIGGERS) expect(body).toContain(`"Trigger","${trigger}"`);
    expect(body).toContain('"HcmGoalSync","TokenRefreshed","Trigger","proactive","service","token-broker"');
  });
});

describe('outputs', () => {
  it('exports every key the AWS-mode CLI reads, under the same ids', () => {
    const outputs = Object.keys(s.json.Outputs ?? {});
    for (const key of Object.values(STACK_OUTPUTS)) expect(outputs).toContain(key);
    const value = (id: string) => s.json.Outputs![id]!.Value;
    expect(value(STACK_OUTPUTS.connectionSecretPrefix)).toBe('hcm-goal-sync/test/connections/');
    expect(value('ConnectionSecretNames')).toBe(
      'hcm-goal-sync/test/connections/acme,hcm-goal-sync/test/connections/globex',
    );
    expect(value(STACK_OUTPUTS.idpTokenUrl)).toBe(FULL_CONTEXT.idpTokenUrl);
    expect(value(STACK_OUTPUTS.defaultConnectionId)).toBe(FULL_CONTEXT.syncConnectionId);
    expect(value(STACK_OUTPUTS.tokenBrokerFunctionName)).toEqual(ref(s.logicalIdOf('tokenBroker')));
  });
});
