import { Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { TOKEN_ENCRYPTION_CONTEXT } from '../lambdas/core/adapters/aws/aws-calls.ts';

/**
 * Explicit, enumerated IAM actions. The CDK grant helpers would add prefix wildcards
 * (`kms:GenerateDataKey*`, `kms:ReEncrypt*`, `s3:GetObject*`, `s3:List*`); the tests assert there are none.
 * test/infra/permission-coverage.test.ts evaluates every call in lambdas/core/adapters/aws/aws-calls.ts
 * (the inventory of what the code sends) against the statements built from these lists.
 */
export const ACTIONS = {
  connectionTable: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Scan'],
  /** The connection-admin function's connect and status of one connection: no scan. */
  connectionItem: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  /** The sweeper's Query of what is due (no scan of the fleet). */
  dueIndex: ['dynamodb:Query'],
  /** What Lambda's event source mapping reads with the broker's role: the outbox relay's stream. */
  connectionStream: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
  /** The mapping also lists streams, an action with no resource-level permission. */
  listStreams: ['dynamodb:ListStreams'],
  /** sync-chunk's: the checkpoint reads and writes, and the batched reads of its records. */
  checkpointTable: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:BatchWriteItem',
  ],
  /** plan-sync's and finish-sync's: the same without BatchGetItem (neither batch-reads records). */
  /** The HDL steps: reads and writes of run items and the ledger, never the run lease's delete. */
  checkpointTableNoDelete: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:BatchWriteItem',
  ],
  checkpointTableNoBatchGet: [
    'dynamodb:GetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:BatchWriteItem',
  ],
  /** Token envelopes: a data key per write, an unwrap per read (lambdas/core/adapters/aws/kms-key-provider.ts). */
  envelope: ['kms:GenerateDataKey', 'kms:Decrypt'],
  /**
   * What a principal needs for a table encrypted with a customer managed key (the calls DynamoDB makes
   * on the caller's behalf); ReEncrypt is never used for item access.
   */
  tableKey: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
  /** SSE-KMS object reads (with an S3 Bucket Key, one Decrypt per bucket key, not per object). */
  bucketKey: ['kms:Decrypt'],
  secretKey: ['kms:Decrypt'],
  readSecret: ['secretsmanager:GetSecretValue'],
  /** A run pins its source's VersionId (versioned bucket) and reads exactly that version. */
  readSource: ['s3:GetObject', 's3:GetObjectVersion'],
  /** plan-sync's chunk list for the Distributed Map's ItemReader (every run writes one). */
  writeManifest: ['s3:PutObject'],
  /** SSE-KMS object writes: S3 asks KMS for a data key on the writer's behalf. */
  bucketKeyWrite: ['kms:GenerateDataKey', 'kms:Decrypt'],
  refreshSchedules: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'],
  putEvents: ['events:PutEvents'],
  invoke: ['lambda:InvokeFunction'],
} as const;

const viaService = (role: iam.Role, service: string) => ({
  StringEquals: { 'kms:ViaService': `${service}.${Stack.of(role).region}.amazonaws.com` },
});

export class RolePolicy {
  constructor(private readonly role: iam.Role) {}

  add(
    sid: string,
    actions: readonly string[],
    resources: string[],
    conditions?: Record<string, unknown>,
  ): this {
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid,
        actions: [...actions],
        resources,
        conditions: conditions as Record<string, Record<string, unknown>> | undefined,
      }),
    );
    return this;
  }

  table(sid: string, table: dynamodb.ITable, actions: readonly string[], key: kms.IKey): this {
    this.add(sid, actions, [table.tableArn]);
    // The key is usable only through DynamoDB here, not for direct Encrypt/Decrypt calls.
    return this.add(`${sid}Key`, ACTIONS.tableKey, [key.keyArn], viaService(this.role, 'dynamodb'));
  }

  /** Key use through a service (S3, Secrets Manager) on the caller's behalf. */
  keyVia(sid: string, key: kms.IKey, service: string, actions: readonly string[]): this {
    return this.add(sid, actions, [key.keyArn], viaService(this.role, service));
  }
}

/** Exactly the context the broker sends: an envelope opens only for its connection and purpose. */
export function tokenEnvelopeConditions(): Record<string, unknown> {
  return {
    'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': [...TOKEN_ENCRYPTION_CONTEXT.keys] },
    Null: Object.fromEntries(
      TOKEN_ENCRYPTION_CONTEXT.keys.map((k) => [`kms:EncryptionContext:${k}`, 'false']),
    ),
    StringEquals: { 'kms:EncryptionContext:purpose': [...TOKEN_ENCRYPTION_CONTEXT.purposes] },
  };
}

export function policyOf(role: iam.Role): RolePolicy {
  return new RolePolicy(role);
}
