import type { AwsCall } from '../../lambdas/core/adapters/aws/aws-calls.ts';

/**
 * Every AWS call the operator CLI makes for `start`, `status`, `resume` and `connect` (data only). The
 * stack's OPERATOR policy (infra/operator.ts) is built for exactly these; test/infra/permission-coverage
 * evaluates each against that policy and the key policy.
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
const secretsKey = (action: 'kms:GenerateDataKey' | 'kms:Decrypt', sdk: string): AwsCall => ({
  action,
  resource: 'dataKey',
  context: {
    'kms:ViaService': 'secretsmanager.{region}.amazonaws.com',
    'kms:EncryptionContext:SecretARN': '{secretArn}',
  },
  sdk: `${sdk} (Secrets Manager on the caller's behalf)`,
  file: 'cli/aws/oauth/stored-secret.ts',
});

export type OperatorCommand = 'start' | 'status' | 'resume' | 'connect';

export const OPERATOR_CALLS: (AwsCall & { commands: OperatorCommand[] })[] = [
  {
    action: 'cloudformation:DescribeStacks',
    resource: 'stack',
    sdk: 'DescribeStacksCommand',
    file: 'cli/aws/stack-outputs.ts',
    commands: ['start', 'status', 'resume', 'connect'],
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
  {
    action: 'lambda:InvokeFunction',
    resource: 'tokenBroker',
    sdk: 'InvokeCommand (connect / status actions)',
    file: 'cli/aws/broker-invoke.ts',
    commands: ['start', 'status', 'resume', 'connect'],
  },
  ...(['dynamodb:GetItem', 'dynamodb:Query'] as const).map((action) => ({
    action,
    resource: 'checkpointTable' as const,
    sdk: `${action.split(':')[1]}Command (lib-dynamodb)`,
    file: 'cli/aws/run-status.ts',
    commands: ['start', 'status'] as OperatorCommand[],
  })),
  {
    action: 'kms:Decrypt',
    resource: 'dataKey',
    context: {
      'kms:ViaService': 'dynamodb.{region}.amazonaws.com',
      'kms:EncryptionContext:aws:dynamodb:tableName': '{checkpointTable}',
    },
    sdk: "GetCommand / QueryCommand (DynamoDB on the caller's behalf)",
    file: 'cli/aws/run-status.ts',
    commands: ['start', 'status'],
  },
  ...(['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'] as const).map((action) => ({
    action,
    resource: 'connectionSecret' as const,
    sdk: `${action.split(':')[1]}Command`,
    file: 'cli/aws/oauth/stored-secret.ts',
    commands: ['connect'] as OperatorCommand[],
  })),
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
  { ...secretsKey('kms:Decrypt', 'GetSecretValueCommand'), commands: ['connect'] },
  { ...secretsKey('kms:GenerateDataKey', 'PutSecretValueCommand'), commands: ['connect'] },
];
