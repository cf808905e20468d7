import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import {
  CfnResource,
  type IPolicyValidationContextBeta1,
  type IPolicyValidationPluginBeta1,
  type PolicyValidationPluginReportBeta1,
  Validations,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { IConstruct } from 'constructs';

/**
 * The second rule set on the template: AWS Control Tower proactive controls (cfn-guard rules shipped by
 * @cdklabs/cdk-validator-cfnguard, run on every synth beside cdk-nag; infra/build.ts).
 *
 * A finding that is not fixed is suppressed on the one resource it concerns, twice:
 * - `Validations.acknowledge` with id `cdk-validator-cfnguard::<rule>`: what the CDK plugin honours;
 * - `Metadata.guard.SuppressedRules` in the template: what Guard rule sets that read it honour. The
 *   Control Tower rules in cfn-guard 3.1.1 do not (tested: the rule still fails with the metadata), so
 *   the metadata documents the decision in the template itself; the acknowledgement is what gates synth.
 * Every reason is listed in docs/deploy.md ("Rule suppressions"); test/infra/nag.test.ts keeps both equal.
 */
export const GUARD_PLUGIN_NAME = 'cdk-validator-cfnguard';

export const GUARD_SUPPRESSIONS = {
  lambdaOutsideVpc: {
    control: 'CT.LAMBDA.PR.3',
    rule: 'lambda_inside_vpc_check',
    reason:
      'The functions reach only AWS APIs and two public SaaS endpoints (Oracle IDCS, Oracle HCM) over TLS; a ' +
      'VPC would add NAT gateways (cost, a new failure point) and VPC endpoints for six services without ' +
      'protecting anything those endpoints do not already require (OAuth, IAM).',
  },
  sourceEventNotifications: {
    control: 'CT.S3.PR.4',
    rule: 's3_event_notifications_enabled_check',
    reason:
      'Nothing reacts to uploads: runs start on a schedule or by `goal-sync start` with an explicit key, and ' +
      'the source version is pinned at plan time. A notification target would be an unused resource.',
  },
  objectLock: {
    control: 'CT.S3.PR.9',
    rule: 's3_bucket_object_lock_enabled_check',
    reason:
      'Inputs, run manifests and access logs expire by lifecycle rules (30 days / 1 year); object lock would ' +
      'keep them past that. Versioning plus the run ledger in DynamoDB (PITR) are the record of what ran.',
  },
  deadLetterQueueRedrive: {
    control: 'CT.SQS.PR.1',
    rule: 'sqs_dlq_check',
    reason:
      'This queue is itself the dead-letter queue of the Scheduler targets, the broker async invocations and ' +
      'the event rules; a dead-letter queue of a dead-letter queue has nothing to add (it alarms on depth).',
  },
  accessLogsBucketLogging: {
    control: 'CT.S3.PR.2',
    rule: 's3_bucket_logging_enabled_check',
    reason:
      'This is the server access log bucket of the source bucket: logging it to itself would log its own ' +
      'log deliveries without end, and to a third bucket would only move the finding.',
  },
  accessLogsBucketKms: {
    control: 'CT.S3.PR.10',
    rule: 's3_bucket_default_encryption_kms_check',
    reason:
      'S3 server access log delivery supports only SSE-S3 on the target bucket (SSE-KMS targets are not ' +
      'delivered to); the logs hold request metadata, never object contents.',
  },
  shortLogRetention: {
    control: 'CT.CLOUDWATCH.PR.2',
    rule: 'cloudwatch_log_group_retention_period_check',
    reason:
      'The operator chose a retention under one year with the context key logRetentionDays (default 365); ' +
      'the logs hold no records (payloads are never logged), only run diagnostics.',
  },
} as const satisfies Record<string, { control: string; rule: string; reason: string }>;

export type GuardSuppression = keyof typeof GUARD_SUPPRESSIONS;

/**
 * The Control Tower plugin, with one fix: it reports violations without a severity. aws-cdk-lib 2.276
 * recomputes a report's success from the severities as soon as one finding is acknowledged, so one
 * suppression anywhere made every other Guard finding pass synth (found while testing the gate).
 * Every unlabelled violation is an error here, as cfn-guard itself treats it.
 */
export class ControlTowerGuard implements IPolicyValidationPluginBeta1 {
  private readonly inner = new CfnGuardValidator();
  readonly name = this.inner.name;
  readonly version = this.inner.version;
  readonly ruleIds = this.inner.ruleIds;

  validate(context: IPolicyValidationContextBeta1): PolicyValidationPluginReportBeta1 {
    const report = this.inner.validate(context);
    return {
      ...report,
      violations: report.violations.map((v) => ({ ...v, severity: v.severity ?? 'error' })),
    };
  }
}

/** Suppresses one Control Tower rule on one resource (its L1), with its reason, both ways (see above). */
export function suppressGuardRule(scope: IConstruct, which: GuardSuppression, reasonSuffix = ''): void {
  const { rule, reason } = GUARD_SUPPRESSIONS[which];
  const resource = scope instanceof CfnResource ? scope : scope.node.defaultChild;
  if (!(resource instanceof CfnResource)) {
    throw new Error(`${scope.node.path} has no CloudFormation resource to suppress ${rule} on`);
  }
  const full = reasonSuffix ? `${reason} ${reasonSuffix}` : reason;
  Validations.of(resource).acknowledge({ id: `${GUARD_PLUGIN_NAME}::${rule}`, reason: full });
  const existing = (resource.getMetadata('guard') ?? {}) as { SuppressedRules?: string[] };
  const rules = new Set(existing.SuppressedRules ?? []);
  rules.add(rule);
  resource.addMetadata('guard', { ...existing, SuppressedRules: [...rules] });
}

/**
 * CT.KMS.PR.3: nobody may create a grant on the key unless it is for an AWS service acting on a resource
 * (DynamoDB, Secrets Manager, Step Functions create their own). The root statement's `kms:*` stays for
 * administration; this Deny removes grants as a way around the key policy.
 */
export function limitGrantsToAwsServices(key: kms.Key): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'DenyGrantsNotForAwsResources',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: {
        BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
      },
    }),
  );
}
