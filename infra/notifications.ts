import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { EventType } from '../lambdas/core/ports.ts';
import type { StackConfig } from './stack-config.ts';

/** The events that reach a human (SNS). Publishers put the event type in DetailType. */
export const NOTIFIED_EVENTS: readonly EventType[] = [
  'connection.needs_reauth',
  'connection.reactivated',
  'sync.completed',
  'sync.failed',
  'sync.twins_found',
];

export function eventRuleId(type: EventType): string {
  return type.replace(/(^|[._])(\w)/g, (_m, _sep: string, c: string) => c.toUpperCase());
}

/**
 * The application event bus, the SNS topic that alarms and reauth/sync events go to, and the one
 * dead-letter queue for everything asynchronous (scheduler targets, broker async invokes, rule targets).
 */
export class Notifications extends Construct {
  readonly bus: events.EventBus;
  readonly topic: sns.Topic;
  readonly topicKey: kms.Key;
  readonly deadLetterQueue: sqs.Queue;
  readonly rules: Map<EventType, events.Rule>;

  constructor(scope: Construct, id: string, config: StackConfig) {
    super(scope, id);

    // A separate key: CloudWatch alarms and EventBridge must be able to use the topic's key as service
    // principals, which must not extend to the key protecting tokens.
    this.topicKey = new kms.Key(this, 'TopicKey', {
      alias: `alias/${config.namePrefix}-notifications`,
      description: `hcm-goal-sync ${config.env}: notification topic`,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    // CloudWatch alarms publish as the service principal (EventBridge's statement is added by the SnsTopic
    // target): for this account's alarms only (confused deputy). EventBridge's key statement cannot carry
    // these keys: AWS does not send them with the KMS request of an EventBridge delivery, and every
    // notification would be dropped; its topic-policy statement carries them instead (below).
    const stack = Stack.of(this);
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );

    this.topic = new sns.Topic(this, 'Topic', {
      topicName: `${config.namePrefix}-notifications`,
      displayName: `hcm-goal-sync ${config.env}`,
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    if (config.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      // SSE-SQS: Scheduler, EventBridge and Lambda can all deliver to it without key grants.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue IS the dead-letter queue (Scheduler targets, broker async invokes, event rules).',
    });

    this.bus = new events.EventBus(this, 'Bus', { eventBusName: config.namePrefix });
    this.rules = new Map();
    for (const type of NOTIFIED_EVENTS) {
      const rule = new events.Rule(this, `${eventRuleId(type)}Rule`, {
        eventBus: this.bus,
        description: `${type} -> notifications topic`,
        eventPattern: { detailType: [type] },
      });
      rule.addTarget(
        new targets.SnsTopic(this.topic, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 8,
          maxEventAge: Duration.hours(2),
        }),
      );
      this.rules.set(type, rule);
    }
    this.limitTopicPublishToTheRules();
  }

  /**
   * The SnsTopic targets let events.amazonaws.com publish with no condition: any account's rule could
   * ask. The statement is found in the resolved topic policy and limited to this account and the
   * notification rules (aws:SourceAccount, aws:SourceArn), as EventBridge documents for SNS targets.
   */
  private limitTopicPublishToTheRules(): void {
    const stack = Stack.of(this);
    const policy = this.topic.node.tryFindChild('Policy') as sns.TopicPolicy | undefined;
    if (!policy) throw new Error('the SnsTopic targets added no topic policy');
    const cfn = policy.node.defaultChild as sns.CfnTopicPolicy;
    const doc = stack.resolve(cfn.policyDocument) as { Statement: { Principal?: { Service?: unknown } }[] };
    const index = doc.Statement.findIndex((st) => st.Principal?.Service === 'events.amazonaws.com');
    if (index < 0) throw new Error('no events.amazonaws.com statement in the topic policy');
    cfn.addPropertyOverride(`PolicyDocument.Statement.${index}.Condition`, {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnEquals: { 'aws:SourceArn': [...this.rules.values()].map((r) => r.ruleArn) },
    });
  }
}
