import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { ProjectAlarm } from './alarms.ts';
import type { FunctionKey, ProjectFunction } from './functions.ts';
import { appMetric, REFRESH_TRIGGERS } from './metrics.ts';
import type { StackConfig } from './stack-config.ts';

export interface DashboardInputs {
  config: StackConfig;
  functions: Record<FunctionKey, ProjectFunction>;
  stateMachine: sfn.StateMachine;
  deadLetterQueue: sqs.IQueue;
  alarms: ProjectAlarm[];
}

const HOUR = Duration.hours(1);
const DAY = Duration.days(1);
const FIVE_MIN = Duration.minutes(5);
const WIDE = 12;
const HEIGHT = 6;

/** One page for the on-call: is the nightly sync healthy, are tokens refreshed ahead of expiry, is HCM pushing back. */
export function createDashboard(scope: Construct, inputs: DashboardInputs): cloudwatch.Dashboard {
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    dashboardName: `${inputs.config.namePrefix}`,
    defaultInterval: Duration.days(7),
  });
  const sm = inputs.stateMachine;
  const fns = Object.values(inputs.functions);

  dashboard.addWidgets(
    new cloudwatch.AlarmStatusWidget({
      title: 'Alarms',
      alarms: inputs.alarms.map((a) => a.alarm),
      width: 24,
      height: 4,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Goals synced / failed / unsettled (per hour)',
      left: [
        appMetric('GoalsSynced', { period: HOUR, label: 'synced' }),
        appMetric('GoalsFailed', { period: HOUR, label: 'failed' }),
        appMetric('GoalsUnsettled', { period: HOUR, label: 'unsettled' }),
      ],
      width: WIDE,
      height: HEIGHT,
    }),
    new cloudwatch.GraphWidget({
      title: 'Sync duration (ms)',
      left: [
        appMetric('SyncDurationMs', { statistic: cloudwatch.Stats.MAXIMUM, period: HOUR, label: 'max' }),
        appMetric('SyncDurationMs', { statistic: cloudwatch.Stats.AVERAGE, period: HOUR, label: 'avg' }),
      ],
      width: WIDE,
      height: HEIGHT,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Verify runs: goals found missing / drifted in HCM, repaired (per day)',
      left: [
        appMetric('GoalsFoundMissing', { period: DAY, label: 'missing' }),
        appMetric('GoalsFoundDrifted', { period: DAY, label: 'drifted' }),
        appMetric('GoalsRepaired', { period: DAY, label: 'repaired' }),
      ],
      width: WIDE,
      height: HEIGHT,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Token refreshes by trigger (proactive should dominate)',
      left: REFRESH_TRIGGERS.map((trigger) => appMetric('TokenRefreshed', { trigger, label: trigger })),
      stacked: true,
      width: WIDE,
      height: HEIGHT,
    }),
    new cloudwatch.GraphWidget({
      title: 'Refresh failures, reauth, lease contention, overdue sweeps',
      left: [
        appMetric('TokenRefreshFailed', { label: 'refresh failed' }),
        appMetric('ReauthRequired', { label: 'reauth required' }),
        appMetric('SweepOverdue', { label: 'sweep found overdue' }),
      ],
      right: [appMetric('LeaseContention', { label: 'lease contention' })],
      width: WIDE,
      height: HEIGHT,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'HCM pushback: 401 / 429 / 5xx',
      left: [
        appMetric('HcmUnauthorized', { label: '401' }),
        appMetric('HcmThrottled', { label: '429' }),
        appMetric('HcmServerErrors', { label: '5xx' }),
      ],
      width: WIDE,
      height: HEIGHT,
    }),
    new cloudwatch.GraphWidget({
      title: 'Sync executions',
      left: [
        sm.metricStarted({ period: HOUR, label: 'started' }),
        sm.metricSucceeded({ period: HOUR, label: 'succeeded' }),
        sm.metricFailed({ period: HOUR, label: 'failed' }),
        sm.metricTimedOut({ period: HOUR, label: 'timed out' }),
        sm.metricAborted({ period: HOUR, label: 'aborted' }),
      ],
      width: WIDE,
      height: HEIGHT,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Lambda errors and throttles',
      left: fns.map((pf) => pf.fn.metricErrors({ period: FIVE_MIN, label: `${pf.fn.node.id} errors` })),
      right: fns.map((pf) =>
        pf.fn.metricThrottles({ period: FIVE_MIN, label: `${pf.fn.node.id} throttles` }),
      ),
      width: WIDE,
      height: HEIGHT,
    }),
    new cloudwatch.GraphWidget({
      title: 'Lambda duration p99 (ms) and dead letters',
      left: fns.map((pf) =>
        pf.fn.metricDuration({ period: FIVE_MIN, statistic: cloudwatch.Stats.p(99), label: pf.fn.node.id }),
      ),
      right: [
        inputs.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: FIVE_MIN,
          statistic: cloudwatch.Stats.MAXIMUM,
          label: 'DLQ depth',
        }),
      ],
      width: WIDE,
      height: HEIGHT,
    }),
  );
  return dashboard;
}
