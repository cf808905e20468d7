import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SERVICE_NAMESPACE } from '../lambdas/core/observability.ts';
import type { RefreshTrigger } from '../lambdas/core/ports.ts';

/**
 * The custom-metric contract between the handlers and the alarms/dashboard.
 *
 * CloudWatch identifies a metric by namespace + name + the FULL dimension set, so an alarm on
 * {service} never sees a datapoint emitted with {service, Trigger}. Powertools EMF always adds the
 * `service` dimension (the serviceName given to createMetrics, or POWERTOOLS_SERVICE_NAME, which the
 * stack sets to the values below). Handlers must therefore:
 *   - call createMetrics(SERVICE_NAMES.x) (or rely on POWERTOOLS_SERVICE_NAME) in the Lambda listed here;
 *   - add no dimensions other than the ones listed (TokenRefreshed carries `Trigger`, nothing else does).
 */
export const SERVICE_NAMES = {
  tokenBroker: 'token-broker',
  connectionAdmin: 'connection-admin',
  planSync: 'plan-sync',
  syncChunk: 'sync-chunk',
  finishSync: 'finish-sync',
  hdlLoad: 'hdl-load',
  preflight: 'preflight',
  scheduleStarter: 'schedule-starter',
} as const;

export type MetricName =
  | 'TokenRefreshed'
  | 'TokenRefreshFailed'
  | 'LeaseContention'
  | 'ReauthRequired'
  | 'SweepOverdue'
  | 'GoalsSynced'
  | 'GoalsFailed'
  | 'SyncDurationMs'
  | 'GoalsUnsettled'
  | 'GoalsFoundMissing'
  | 'GoalsFoundDrifted'
  | 'GoalsRepaired'
  | 'HcmUnauthorized'
  | 'HcmThrottled'
  | 'HcmServerErrors';

/** Which Lambda emits which metric, and with which extra dimensions (besides `service`). */
export const METRIC_CONTRACT: Record<MetricName, { service: string; dimensions: string[] }> = {
  TokenRefreshed: { service: SERVICE_NAMES.tokenBroker, dimensions: ['Trigger'] },
  TokenRefreshFailed: { service: SERVICE_NAMES.tokenBroker, dimensions: [] },
  LeaseContention: { service: SERVICE_NAMES.tokenBroker, dimensions: [] },
  ReauthRequired: { service: SERVICE_NAMES.tokenBroker, dimensions: [] },
  SweepOverdue: { service: SERVICE_NAMES.tokenBroker, dimensions: [] },
  GoalsSynced: { service: SERVICE_NAMES.syncChunk, dimensions: [] },
  GoalsFailed: { service: SERVICE_NAMES.syncChunk, dimensions: [] },
  HcmUnauthorized: { service: SERVICE_NAMES.syncChunk, dimensions: [] },
  HcmThrottled: { service: SERVICE_NAMES.syncChunk, dimensions: [] },
  HcmServerErrors: { service: SERVICE_NAMES.syncChunk, dimensions: [] },
  SyncDurationMs: { service: SERVICE_NAMES.finishSync, dimensions: [] },
  // Per run: records whose write may have reached HCM with no read showing it (the next run settles them).
  GoalsUnsettled: { service: SERVICE_NAMES.finishSync, dimensions: [] },
  // Verify runs only (finish-sync): goals deleted or edited by hand in HCM, and how many were written back.
  GoalsFoundMissing: { service: SERVICE_NAMES.finishSync, dimensions: [] },
  GoalsFoundDrifted: { service: SERVICE_NAMES.finishSync, dimensions: [] },
  GoalsRepaired: { service: SERVICE_NAMES.finishSync, dimensions: [] },
};

export const REFRESH_TRIGGERS: readonly RefreshTrigger[] = [
  'proactive',
  'jit',
  'afterUnauthorized',
  'sweep',
  'connect',
];

export interface AppMetricOptions {
  statistic?: string;
  period?: Duration;
  label?: string;
  /** Required for (and only allowed on) metrics whose contract lists a `Trigger` dimension. */
  trigger?: RefreshTrigger;
}

/** A custom metric exactly as the contract says it is emitted. */
export function appMetric(name: MetricName, options: AppMetricOptions = {}): cloudwatch.Metric {
  const contract = METRIC_CONTRACT[name];
  const dimensionsMap: Record<string, string> = { service: contract.service };
  if (contract.dimensions.includes('Trigger')) {
    if (!options.trigger) throw new Error(`metric ${name} needs a Trigger dimension`);
    dimensionsMap.Trigger = options.trigger;
  } else if (options.trigger) {
    throw new Error(`metric ${name} has no Trigger dimension`);
  }
  return new cloudwatch.Metric({
    namespace: SERVICE_NAMESPACE,
    metricName: name,
    dimensionsMap,
    statistic: options.statistic ?? cloudwatch.Stats.SUM,
    period: options.period ?? Duration.minutes(5),
    label: options.label,
  });
}
