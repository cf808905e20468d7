import { CONNECTION_PUBLIC_ATTRIBUTES } from '#core/token/index.ts';
import type { AwsCall } from '../../lambdas/core/adapters/aws/aws-calls.ts';

/**
 * Every AWS call the operator CLI makes (data only): `preflight`, `start`, `status`, `resume` under the RUN OPERATOR
 * policy, `connect` (and putting the client credentials) under the CONNECTION ADMIN policy
 * (infra/operator.ts); test/infra/permission-coverage evaluates each against its policy and the key
 * policy, and that every action the policy grants is one of these.
 *
 * The state machine is encrypted with the stack's customer managed key: starting an execution encrypts
 * its input, and reading an execution's input/output/error decrypts it, with the caller's rights and the
 * context aws:states:stateMachineArn. `start --wait` polls with includedData=METADATA_ONLY (status only).
 */
const states = (action: 'kms:GenerateDataKey' | 'kms:Decrypt', sdk: string, file: string): AwsCall => ({
  action,
  resource: 'dataKey',
  context: { 'kms:EncryptionContext:aws:states:stateMachineArn': '{stateMachineArn}' },
  sdk: `${sdk} (Step Functions on the caller's behalf)`,
  file,
});
const secretsKey = (action: 'kms:GenerateDataKey' | 'kms:Decrypt'): AwsCall => ({
  action,
  resource: 'dataKey',
  context: {
    'kms:ViaService': 'secretsmanager.{region}.amazonaws.com',
    'kms:EncryptionContext:SecretARN': '{secretArn}',
  },
  sdk: "aws secretsmanager put-secret-value (Secrets Manager on the caller's behalf)",
  file: 'docs/deploy.md (step 10)',
});

export type RunOperatorCommand = 'preflight' | 'start' | 'status' | 'resume';

const tableKey = (table: 'checkpointTable' | 'connectionTable', file: string): AwsCall => ({
  action: 'kms:Decrypt',
  resource: 'dataKey',
  context: {
    'kms:ViaService': 'dynamodb.{region}.amazonaws.com',
    'kms:EncryptionContext:aws:dynamodb:tableName': `{${table}}`,
  },
  sdk: "GetCommand / QueryCommand (DynamoDB on the caller's behalf)",
  file,
});

const describeStacks: AwsCall = {
  action: 'cloudformation:DescribeStacks',
  resource: 'stack',
  sdk: 'DescribeStacksCommand',
  file: 'cli/aws/stack-outputs.ts',
};

/** The RUN OPERATOR policy: runs only; the connection's state from its non-secret attributes. */
export const RUN_OPERATOR_CALLS: (AwsCall & { commands: RunOperatorCommand[] })[] = [
  { ...describeStacks, commands: ['preflight', 'start', 'status', 'resume'] },
  {
    action: 'lambda:InvokeFunction',
    resource: 'preflight',
    sdk: 'InvokeCommand (check results only; the token stays in the function)',
    file: 'cli/preflight/aws-form.ts',
    commands: ['preflight'],
  },
  {
    action: 'states:StartExecution',
    resource: 'stateMachine',
    sdk: 'StartExecutionCommand',
    file: 'cli/commands/start.ts',
    commands: ['start', 'resume'],
  },
  {
    ...states('kms:GenerateDataKey', 'StartExecutionCommand', 'cli/commands/start.ts'),
    commands: ['start', 'resume'],
  },
  {
    action: 'states:ListExecutions',
    resource: 'stateMachine',
    sdk: 'ListExecutionsCommand',
    file: 'cli/aws/executions.ts',
    commands: ['status', 'resume'],
  },
  {
    action: 'states:DescribeExecution',
    resource: 'execution',
    sdk: 'DescribeExecutionCommand',
    file: 'cli/aws/executions.ts',
    commands: ['start', 'status', 'resume'],
  },
  // status and resume read the execution's input (run id, source, connection): that needs the key.
  {
    ...states('kms:Decrypt', 'DescribeExecutionCommand', 'cli/aws/executions.ts'),
    commands: ['start', 'status', 'resume'],
  },
  ...(['dynamodb:GetItem', 'dynamodb:Query'] as const).map((action) => ({
    action,
    resource: 'checkpointTable' as const,
    sdk: `${action.split(':')[1]}Command (lib-dynamodb)`,
    file: 'cli/aws/run-status.ts',
    commands: ['start', 'status'] as RunOperatorCommand[],
  })),
  { ...tableKey('checkpointTable', 'cli/aws/run-status.ts'), commands: ['start', 'status'] },
  // The connection's state: a GetItem projecting exactly the non-secret attributes.
  {
    action: 'dynamodb:GetItem',
    resource: 'connectionTable',
    context: {
      'dynamodb:Attributes': [...CONNECTION_PUBLIC_ATTRIBUTES],
      'dynamodb:Select': 'SPECIFIC_ATTRIBUTES',
    },
    sdk: 'GetCommand with ProjectionExpression (lib-dynamodb)',
    file: 'cli/aws/connection-state.ts',
    commands: ['start', 'status', 'resume'],
  },
  { ...tableKey('connectionTable', 'cli/aws/connection-state.ts'), commands: ['start', 'status', 'resume'] },
  // start --upload: one PutObject under uploads/ (buffered, never multipart, so no kms:Decrypt).
  {
    action: 's3:PutObject',
    resource: 'uploadObject',
    sdk: 'PutObjectCommand',
    file: 'cli/aws/upload.ts',
    commands: ['start'],
  },
  {
    action: 'kms:GenerateDataKey',
    resource: 'dataKey',
    context: {
      'kms:ViaService': 's3.{region}.amazonaws.com',
      'kms:EncryptionContext:aws:s3:arn': '{bucketArn}',
    },
    sdk: "PutObjectCommand (S3 on the caller's behalf, SSE-KMS bucket key)",
    file: 'cli/aws/upload.ts',
    commands: ['start'],
  },
];

/** The CONNECTION ADMIN policy: `connect` and writing the client credentials, nothing that reads a token. */
export const CONNECTION_ADMIN_CALLS: AwsCall[] = [
  describeStacks,
  {
    action: 'lambda:InvokeFunction',
    resource: 'connectionAdmin',
    sdk: 'InvokeCommand (describe / connect)',
    file: 'cli/aws/admin-invoke.ts',
  },
  {
    action: 'secretsmanager:PutSecretValue',
    resource: 'connectionSecret',
    sdk: 'aws secretsmanager put-secret-value (the client id and secret)',
    file: 'docs/deploy.md (step 10)',
  },
  secretsKey('kms:GenerateDataKey'),
  secretsKey('kms:Decrypt'),
];
