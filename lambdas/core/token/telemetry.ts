import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { maskSecrets } from '../mask.ts';
import type { EventPublisher, RefreshTrigger } from '../ports.ts';

/** Metric names the dashboard and alarms use. */
export const BROKER_METRICS = {
  refreshed: 'TokenRefreshed',
  refreshFailed: 'TokenRefreshFailed',
  leaseContention: 'LeaseContention',
  reauthRequired: 'ReauthRequired',
  invocations: 'BrokerInvocations',
  sweepOverdue: 'SweepOverdue',
} as const;

/** Logs, metrics and events of the broker in one place; every message is masked before it leaves. */
export class BrokerTelemetry {
  constructor(
    readonly logger: Logger,
    readonly metrics: Metrics,
    private readonly events: EventPublisher,
  ) {}

  refreshed(connectionId: string, trigger: RefreshTrigger, version: number, expiresAt: number): void {
    // Trigger is a per-metric dimension: a single-metric flush keeps it off the invocation's other metrics.
    const single = this.metrics.singleMetric();
    single.addDimension('Trigger', trigger);
    single.addMetric(BROKER_METRICS.refreshed, MetricUnit.Count, 1);
    this.logger.info('token refreshed', {
      connectionId,
      trigger,
      version,
      expiresAt: new Date(expiresAt).toISOString(),
    });
  }

  refreshFailed(connectionId: string, trigger: RefreshTrigger, err: unknown): void {
    this.metrics.addMetric(BROKER_METRICS.refreshFailed, MetricUnit.Count, 1);
    this.logger.warn('token refresh failed', { connectionId, trigger, error: describe(err) });
  }

  async refreshFailedEvent(connectionId: string, trigger: RefreshTrigger, err: unknown): Promise<void> {
    await this.publish('connection.refresh_failed', { connectionId, trigger, error: describe(err) });
  }

  contention(connectionId: string): void {
    this.metrics.addMetric(BROKER_METRICS.leaseContention, MetricUnit.Count, 1);
    this.logger.debug('refresh lease taken, waiting', { connectionId });
  }

  sweepDone(result: { checked: number; refreshed: number; overdue: number; failed: number }): void {
    // Always emitted (also 0) so the alarm on missed proactive schedules has data points.
    this.metrics.addMetric(BROKER_METRICS.sweepOverdue, MetricUnit.Count, result.overdue);
    this.logger.info('sweep done', { ...result });
  }

  /** Log and metric only: the transition's event travels through the connection's outbox (outbox.ts). */
  needsReauth(connectionId: string, reason: string, trigger: RefreshTrigger): void {
    this.metrics.addMetric(BROKER_METRICS.reauthRequired, MetricUnit.Count, 1);
    this.logger.error('connection needs re-authentication', {
      connectionId,
      trigger,
      reason: maskSecrets(reason),
    });
  }

  reactivated(connectionId: string, version: number): void {
    this.logger.info('connection reactivated', { connectionId, version });
  }

  /** Not a transition, so no outbox: a notification whose loss costs nothing. */
  private async publish(type: 'connection.refresh_failed', detail: Record<string, unknown>): Promise<void> {
    try {
      await this.events.publish(type, { ...detail, at: new Date().toISOString() });
    } catch (err) {
      this.logger.error('event publish failed', { type, error: describe(err) });
    }
  }
}

export function describe(err: unknown): { name: string; message: string } {
  if (err instanceof Error) return { name: err.name, message: maskSecrets(err.message) };
  return { name: 'Unknown', message: maskSecrets(String(err)) };
}
