import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { CHECKPOINT_TABLE, CONNECTION_DUE_INDEX, CONNECTION_TABLE } from '../lambdas/core/tables.ts';
import type { StackConfig } from './config.ts';

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

/** Everything stateful: the key, both tables, one secret per connection and the source bucket. */
export class DataLayer extends Construct {
  readonly key: kms.Key;
  readonly connectionTable: dynamodb.Table;
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
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Tokens and leases: losing this table means every connection must be re-authorized by a human.
    this.connectionTable = new dynamodb.Table(this, 'ConnectionTable', {
      partitionKey: { name: CONNECTION_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
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
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The value is an IDCS confidential-app client secret: only an IDCS administrator can issue a new one, ' +
          'so a rotation Lambda has nothing to call. Rotation is a documented manual step (README).',
      });
      this.secrets.set(connectionId, secret);
    }

    // Nightly source files (JSONL/CSV) and, for the Distributed Map, the per-run chunk lists under runs/.
    // Inputs are not records: overwritten uploads and run manifests expire after 30 days.
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
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.sourceBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Holds only short-lived sync input files written by the integration; reads are by the sync Lambdas ' +
        'whose every run is recorded in the checkpoint table. CloudTrail S3 data events are the audit option.',
    });
  }
}
