import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { UPLOAD_PREFIX } from '../lambdas/core/adapters/aws/aws-calls.ts';
import { CHECKPOINT_TABLE, CONNECTION_DUE_INDEX, CONNECTION_TABLE } from '../lambdas/core/tables.ts';
import { limitGrantsToAwsServices, suppressGuardRule } from './guard.ts';
import type { StackConfig } from './stack-config.ts';

/** Secrets Manager name of a connection's client credentials; the broker derives it the same way. */
export function connectionSecretName(config: StackConfig, connectionId: string): string {
  return `${connectionSecretPrefix(config)}${connectionId}`;
}
export function connectionSecretPrefix(config: StackConfig): string {
  return `hcm-goal-sync/${config.env}/connections/`;
}

/**
 * The placeholder a fresh secret holds: the documented JSON shape (lambdas/core/ports.ts
 * ConnectionSecret) with non-secret fields filled in. Secrets Manager generates `clientSecret` at deploy
 * time, so no secret value is ever in the template; an operator replaces clientId/clientSecret (and
 * bootstrapRefreshToken for a refresh_token connection) before running `goal-sync connect`.
 */
export function secretTemplate(config: StackConfig): Record<string, string> {
  return {
    tokenUrl: config.idpTokenUrl,
    clientId: 'REPLACE_WITH_IDCS_CLIENT_ID',
  };
}

/** Everything stateful: the keys, both tables, one secret per connection and the source bucket. */
export class DataLayer extends Construct {
  readonly key: kms.Key;
  /** CloudWatch Logs only: the logs service may use it, which must not extend to the token key. */
  readonly logKey: kms.Key;
  /** Server access logs of the source bucket (SSE-S3: log delivery supports no SSE-KMS target). */
  readonly accessLogsBucket: s3.Bucket;
  readonly connectionTable: dynamodb.Table;
  /** The outbox relay's source (KEYS_ONLY). */
  readonly connectionStreamArn: string;
  readonly checkpointTable: dynamodb.Table;
  readonly secrets: Map<string, secretsmanager.Secret>;
  readonly sourceBucket: s3.Bucket;

  constructor(scope: Construct, id: string, config: StackConfig) {
    super(scope, id);

    // One customer managed key for token envelopes, both tables, the secrets, the source bucket and the
    // state machine: one audit trail in CloudTrail, one place to revoke.
    this.key = new kms.Key(this, 'Key', {
      alias: `alias/${config.namePrefix}`,
      description: `hcm-goal-sync ${config.env}: token envelopes, tables, secrets, state machine`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    limitGrantsToAwsServices(this.key);

    this.logKey = new kms.Key(this, 'LogKey', {
      alias: `alias/${config.namePrefix}-logs`,
      description: `hcm-goal-sync ${config.env}: CloudWatch log groups`,
      enableKeyRotation: true,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    const stack = Stack.of(this);
    // CloudWatch Logs encrypts as the regional service principal; the context names the log group, so
    // the key serves this account's log groups only.
    this.logKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogsOfThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: [
          'kms:Encrypt',
          'kms:Decrypt',
          'kms:ReEncryptFrom',
          'kms:ReEncryptTo',
          'kms:GenerateDataKey',
          'kms:GenerateDataKeyWithoutPlaintext',
          'kms:DescribeKey',
        ],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    limitGrantsToAwsServices(this.logKey);

    // Tokens and leases: losing this table means every connection must be re-authorized by a human.
    this.connectionTable = new dynamodb.Table(this, 'ConnectionTable', {
      partitionKey: { name: CONNECTION_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The outbox relay (lambdas/core/token/connection/outbox-stream.ts): keys only, no envelope leaves the table.
      stream: dynamodb.StreamViewType.KEYS_ONLY,
      // Retain even on a failed create: deletion protection would stop a rollback from deleting it. The
      // name is generated, so a kept empty table never blocks the retry (docs/deploy.md: clean up).
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const streamArn = this.connectionTable.tableStreamArn;
    if (!streamArn) throw new Error('the connection table has no stream');
    this.connectionStreamArn = streamArn;
    // The sweeper queries what is due instead of scanning (lambdas/core/tables.ts CONNECTION_DUE_INDEX).
    this.connectionTable.addGlobalSecondaryIndex({
      indexName: CONNECTION_DUE_INDEX.name,
      partitionKey: { name: CONNECTION_DUE_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: CONNECTION_DUE_INDEX.sortKey, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.ALL,
    });

    // Runs, records and the ledger (external key -> HCM goal id) that prevents duplicates across runs.
    this.checkpointTable = new dynamodb.Table(this, 'CheckpointTable', {
      partitionKey: { name: CHECKPOINT_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: CHECKPOINT_TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: CHECKPOINT_TABLE.ttlAttribute,
      // Retained like the connection table (deletion protection, generated name).
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.secrets = new Map();
    for (const connectionId of config.connectionIds) {
      const secret = new secretsmanager.Secret(this, `ConnectionSecret-${connectionId}`, {
        secretName: connectionSecretName(config, connectionId),
        description: `IDCS client credentials of HCM connection ${connectionId} (shape: README "Deploying on AWS")`,
        encryptionKey: this.key,
        generateSecretString: {
          secretStringTemplate: JSON.stringify(secretTemplate(config)),
          generateStringKey: 'clientSecret',
          passwordLength: 32,
          excludePunctuation: true,
        },
        removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The value is an IDCS confidential-app client secret: only an IDCS administrator can issue a new one, ' +
          'so a rotation Lambda has nothing to call. Rotation is a documented manual step (README).',
      });
      this.secrets.set(connectionId, secret);
    }

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(1) }],
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket is the server access log target of the source bucket; logging a log bucket would log ' +
        'its own log deliveries without end.',
    });
    for (const which of [
      'accessLogsBucketLogging',
      'accessLogsBucketKms',
      'objectLock',
      'sourceEventNotifications',
    ] as const) {
      suppressGuardRule(this.accessLogsBucket, which);
    }

    // Nightly source files (JSONL/CSV), `goal-sync start --upload` files under uploads/ and, for the
    // Distributed Map, the per-run chunk lists under runs/. Inputs are not records: overwritten uploads,
    // per-run uploads and run manifests expire after 30 days (the checkpoints' retention).
    this.sourceBucket = new s3.Bucket(this, 'SourceBucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      // One data key per bucket instead of one KMS call per object read.
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        { prefix: 'runs/', expiration: Duration.days(30) },
        { prefix: UPLOAD_PREFIX, expiration: Duration.days(30) },
      ],
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'source/',
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    suppressGuardRule(this.sourceBucket, 'sourceEventNotifications');
    suppressGuardRule(this.sourceBucket, 'objectLock');
  }
}
