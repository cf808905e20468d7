import { Duration, RemovalPolicy, Stack, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StackConfig } from './stack-config.ts';

/**
 * Name prefix of the broker's per-connection one-time refresh schedules, created at run time
 * (lambdas/core/token/schedule.ts proactiveScheduleName; a test keeps the two in step).
 */
export const REFRESH_SCHEDULE_PREFIX = 'token-refresh-';

/** Payloads the broker accepts from Scheduler. */
export const SWEEP_PAYLOAD = { action: 'sweep' } as const;

/**
 * A Scheduler target that grants nothing by itself: the stack states each permission explicitly (the
 * L2 targets would add `function:*` qualifier wildcards and a role per target).
 */
class ExplicitTarget implements scheduler.IScheduleTarget {
  constructor(private readonly config: scheduler.ScheduleTargetConfig) {}
  bind(): scheduler.ScheduleTargetConfig {
    return this.config;
  }
}

export interface SchedulingProps {
  config: StackConfig;
  /** ARN built from the broker's fixed name. */
  brokerFunctionArn: string;
  deadLetterQueue: sqs.IQueue;
  sourceBucketName: string;
}

/**
 * The schedule group holding the broker's run-time refresh schedules and the sweeper, the role those
 * schedules run as, and (when a cron is configured) the nightly sync schedule.
 */
export class Scheduling extends Construct {
  readonly group: scheduler.ScheduleGroup;
  /** Passed by the broker to CreateSchedule for its one-time schedules; also runs the sweeper. */
  readonly brokerTargetRole: iam.Role;
  readonly sweeper: scheduler.Schedule;
  nightlySync?: scheduler.Schedule;
  weeklyVerify?: scheduler.Schedule;
  nightlySyncRole?: iam.Role;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: SchedulingProps,
  ) {
    super(scope, id);
    const { config } = props;

    // A fixed name: kept on update or delete (its schedules are live), removed when a first create fails.
    this.group = new scheduler.ScheduleGroup(this, 'Group', {
      scheduleGroupName: config.namePrefix,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });

    this.brokerTargetRole = this.schedulerRole('BrokerTargetRole', 'invokes the token broker');
    this.brokerTargetRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [props.brokerFunctionArn] }),
    );
    this.allowDeadLetter(this.brokerTargetRole);

    // Backstop for a missed one-time schedule; a failed sweep is simply superseded by the next one.
    this.sweeper = new scheduler.Schedule(this, 'Sweeper', {
      scheduleGroup: this.group,
      description: 'Token broker sweep: refreshes connections whose proactive schedule did not fire',
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(5)),
      target: new ExplicitTarget({
        arn: props.brokerFunctionArn,
        role: this.brokerTargetRole,
        input: scheduler.ScheduleTargetInput.fromObject(SWEEP_PAYLOAD),
        retryPolicy: { maximumRetryAttempts: 0, maximumEventAgeInSeconds: 60 },
        deadLetterConfig: { arn: props.deadLetterQueue.queueArn },
      }),
    });
  }

  /**
   * Starts the state machine on the configured cron through the schedule starter (lambdas/schedule-starter),
   * which names the execution after the run, `nightly-YYYYMMDDTHHMMZ` from the scheduled time (invariant 11):
   * Scheduler cannot build a legal execution name itself, and an unnamed execution makes a redelivered
   * trigger a second, parallel execution of the same run. The role may invoke the starter only.
   */
  addNightlySync(starter: lambda.IFunction): void {
    const sync = this.props.config.sync;
    if (!sync) return;
    this.nightlySyncRole = this.schedulerRole('NightlySyncRole', 'starts the nightly goal sync');
    this.nightlySyncRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [starter.functionArn] }),
    );
    this.allowDeadLetter(this.nightlySyncRole);
    const role = this.nightlySyncRole;
    // Both schedules invoke the same starter, as the same role, on the sync's time zone.
    const startsSync = (id: string, description: string, cron: string, input: object) =>
      new scheduler.Schedule(this, id, {
        scheduleGroup: this.group,
        description,
        schedule: scheduler.ScheduleExpression.expression(cron, TimeZone.of(sync.timezone)),
        target: new ExplicitTarget({
          arn: starter.functionArn,
          role,
          input: scheduler.ScheduleTargetInput.fromObject(input),
          // A retried delivery carries the same scheduled time, hence the same execution name: the
          // starter finds it taken and ends normally, so a redelivery never starts a second execution.
          retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
          deadLetterConfig: { arn: this.props.deadLetterQueue.queueArn },
        }),
      });
    this.nightlySync = startsSync(
      'NightlySync',
      `Nightly goal sync of connection ${sync.connectionId}`,
      sync.schedule,
      nightlySyncInput(this.props, sync),
    );
    if (sync.verifySchedule) {
      // Goals deleted or edited in HCM by hand: the ledger calls them written, only a verify run looks.
      this.weeklyVerify = startsSync(
        'VerifySync',
        `Verify run (drift check) of connection ${sync.connectionId}`,
        sync.verifySchedule,
        verifySyncInput(this.props, sync),
      );
    }
  }

  private schedulerRole(id: string, purpose: string): iam.Role {
    const stack = Stack.of(this);
    return new iam.Role(this, id, {
      description: `EventBridge Scheduler (${this.props.config.env}): ${purpose}`,
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnEquals: { 'aws:SourceArn': this.group.scheduleGroupArn },
        },
      }),
    });
  }

  private allowDeadLetter(role: iam.Role): void {
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['sqs:SendMessage'],
        resources: [this.props.deadLetterQueue.queueArn],
      }),
    );
  }
}

/**
 * What the nightly schedule sends the starter: the kind, the fire time, and the execution input without
 * a run id (the starter derives `nightly-YYYYMMDDTHHMMZ` from the fire time and names the execution so).
 */
export function nightlySyncInput(
  props: Pick<SchedulingProps, 'sourceBucketName'>,
  sync: NonNullable<StackConfig['sync']>,
): Record<string, unknown> {
  return {
    kind: 'nightly',
    scheduledTime: scheduler.ContextAttribute.scheduledTime,
    input: {
      connectionId: sync.connectionId,
      // A nightly trigger while another run of the connection is still going is a no-op, never a parallel run.
      ifRunning: 'skip',
      source: {
        uri: `s3://${props.sourceBucketName}/${sync.sourceKey}`,
        format: sync.sourceKey.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl',
      },
    },
  };
}

/** The verify run's: the nightly export, run id `verify-YYYYMMDDTHHMMZ`, and `verify` (issue 15). */
export function verifySyncInput(
  props: Pick<SchedulingProps, 'sourceBucketName'>,
  sync: NonNullable<StackConfig['sync']>,
): Record<string, unknown> {
  return { ...nightlySyncInput(props, sync), kind: 'verify' };
}
