import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { FunctionKey, ProjectFunction } from './functions.ts';
import { appMetric } from './metrics.ts';

export interface ProjectAlarm {
  id: string;
  alarm: cloudwatch.Alarm;
  /** Human-readable rule, e.g. "Sum >= 1 over 5 min". */
  threshold: string;
  why: string;
}

export interface AlarmInputs {
  functions: Record<FunctionKey, ProjectFunction>;
  stateMachine: sfn.StateMachine;
  deadLetterQueue: sqs.IQueue;
  topic: sns.ITopic;
}

interface AlarmSpec {
  id: string;
  metric: cloudwatch.IMetric;
  threshold: number;
  evaluationPeriods?: number;
  why: string;
}

const FIVE_MIN = Duration.minutes(5);

/**
 * Per-function Errors thresholds (Sum over 5 min). The broker and the chunk worker have callers that
 * retry transient failures (workers retry broker calls; the state machine retries chunks), so a single
 * error there is expected under faults; a sustained rate is not. plan/finish run once per sync: any
 * error is a failed step.
 */
const ERROR_THRESHOLDS: Record<FunctionKey, { threshold: number; why: string }> = {
  tokenBroker: {
    threshold: 3,
    why: 'callers retry a transient broker failure; 3+ in 5 min means the IdP, KMS or DynamoDB path is broken',
  },
  connectionAdmin: {
    threshold: 1,
    why: 'a person is connecting: any error (refused code, bad secret) means the connection is not connected',
  },
  planSync: { threshold: 1, why: 'runs once per sync; any error means the run could not be planned' },
  syncChunk: {
    threshold: 5,
    why: 'the state machine retries a failed chunk with backoff; 5+ in 5 min outruns those retries',
  },
  finishSync: { threshold: 1, why: 'runs once per sync; any error means no report and no sync.* event' },
  hdlLoad: {
    threshold: 3,
    why: 'the state machine retries an HDL step with backoff; 3+ in 5 min means the load is not progressing',
  },
  preflight: {
    threshold: 1,
    why: 'a person runs preflight before a first run: an error (not a failed check) means it could not check',
  },
  scheduleStarter: {
    threshold: 1,
    why: "a schedule fires once: an error means tonight's run may not start (Scheduler retries, then the DLQ)",
  },
};

export function createAlarms(scope: Construct, inputs: AlarmInputs): ProjectAlarm[] {
  const sm = inputs.stateMachine;
  const specs: AlarmSpec[] = [
    {
      id: 'ExecutionsFailed',
      metric: sm.metricFailed({ period: FIVE_MIN, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      why: 'a sync run failed (including needs_reauth): goals were not synced tonight',
    },
    {
      id: 'ExecutionsTimedOut',
      metric: sm.metricTimedOut({ period: FIVE_MIN, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      why: 'a run exceeded the state machine timeout: stuck chunks or a throttled HCM',
    },
    {
      id: 'ExecutionsAborted',
      metric: sm.metricAborted({ period: FIVE_MIN, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      why: 'someone or something stopped a run; resume it with the same runId',
    },
    {
      id: 'ReauthRequired',
      metric: appMetric('ReauthRequired'),
      threshold: 1,
      why: 'the IdP refused the grant (invalid_grant/invalid_client): only a human can reconnect',
    },
    {
      id: 'GoalsUnsettled',
      metric: appMetric('GoalsUnsettled'),
      threshold: 1,
      why: 'a run ended with records whose write may have reached HCM unseen; the next run settles them, check it did',
    },
    {
      id: 'TokenRefreshFailed',
      metric: appMetric('TokenRefreshFailed', { period: Duration.minutes(15) }),
      threshold: 1,
      why: 'a refresh failed after all retries; the next failure may lock workers out before expiry',
    },
    {
      id: 'SweepOverdue',
      metric: appMetric('SweepOverdue'),
      threshold: 1,
      why: 'a proactive refresh schedule did not fire in time; the sweeper covered, but Scheduler or the broker misbehaves',
    },
    {
      id: 'DeadLetters',
      metric: inputs.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: FIVE_MIN,
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: 1,
      why: 'a schedule, broker async invoke or event delivery was dropped after its retries',
    },
  ];
  for (const [key, pf] of Object.entries(inputs.functions) as [FunctionKey, ProjectFunction][]) {
    const name = key.charAt(0).toUpperCase() + key.slice(1);
    specs.push({
      id: `${name}Errors`,
      metric: pf.fn.metricErrors({ period: FIVE_MIN, statistic: cloudwatch.Stats.SUM }),
      threshold: ERROR_THRESHOLDS[key].threshold,
      why: ERROR_THRESHOLDS[key].why,
    });
    specs.push({
      id: `${name}Throttles`,
      metric: pf.fn.metricThrottles({ period: FIVE_MIN, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      why:
        key === 'tokenBroker'
          ? 'reserved concurrency too low for the workers; Lambda.TooManyRequestsException is not retried by default'
          : 'account concurrency exhausted; chunks stall and the run slows or fails',
    });
  }

  const action = new actions.SnsAction(inputs.topic);
  return specs.map((spec) => {
    const periodMin = spec.metric.toMetricConfig().metricStat?.period.toMinutes() ?? 5;
    const threshold = `>= ${spec.threshold} in ${periodMin} min`;
    const alarm = new cloudwatch.Alarm(scope, `${spec.id}Alarm`, {
      metric: spec.metric,
      threshold: spec.threshold,
      evaluationPeriods: spec.evaluationPeriods ?? 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No datapoint means nothing happened (no runs, no refresh failures): not an alarm.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${spec.id} ${threshold}: ${spec.why}`,
    });
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    return { id: spec.id, alarm, threshold, why: spec.why };
  });
}
