import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  type SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { asTransient } from '../../aws-errors.ts';
import { type Clock, type Scheduler, systemClock } from '../../ports.ts';

export interface EventBridgeSchedulerOptions {
  groupName: string;
  /** The TokenBroker Lambda's ARN; a function so the composition root can fill it in lazily. */
  targetArn: string | (() => string);
  roleArn: string;
  clock?: Clock;
  /** EventBridge rejects `at()` in the past; a late schedule fires this soon instead. Default 5 s. */
  minLeadMs?: number;
}

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC, whole seconds (EventBridge Scheduler's one-time format). */
export function atExpression(at: Date): string {
  return `at(${at.toISOString().slice(0, 19)})`;
}

/**
 * One-time EventBridge Scheduler schedules for proactive refreshes: created per connection, replaced on
 * every refresh (ConflictException -> UpdateSchedule), deleted by Scheduler after it fired.
 */
export class EventBridgeScheduler implements Scheduler {
  private readonly clock: Clock;

  constructor(
    private readonly client: SchedulerClient,
    private readonly options: EventBridgeSchedulerOptions,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async scheduleOnce(name: string, at: Date, payload: Record<string, unknown>): Promise<void> {
    const earliest = this.clock.now() + (this.options.minLeadMs ?? 5_000);
    const when = new Date(Math.max(at.getTime(), earliest));
    const targetArn =
      typeof this.options.targetArn === 'function' ? this.options.targetArn() : this.options.targetArn;
    const input: CreateScheduleCommandInput = {
      Name: name,
      GroupName: this.options.groupName,
      ScheduleExpression: atExpression(when),
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      Target: {
        Arn: targetArn,
        RoleArn: this.options.roleArn,
        Input: JSON.stringify(payload),
        // The rate(5 minutes) sweeper is the backstop; a stale proactive fire is useless.
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 120 },
      },
    };
    try {
      await this.client.send(new CreateScheduleCommand(input));
    } catch (err) {
      if ((err as Error).name !== 'ConflictException') throw asTransient(err, 'Scheduler CreateSchedule');
      try {
        await this.client.send(new UpdateScheduleCommand(input));
      } catch (updateErr) {
        throw asTransient(updateErr, 'Scheduler UpdateSchedule');
      }
    }
  }

  async cancel(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: name, GroupName: this.options.groupName }));
    } catch (err) {
      if ((err as Error).name !== 'ResourceNotFoundException')
        throw asTransient(err, 'Scheduler DeleteSchedule');
    }
  }
}
