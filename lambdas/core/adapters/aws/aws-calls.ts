/**
 * Inventory of every AWS API call the deployed code makes, by principal: data only, read by the stack
 * (the broker's KMS condition) and by test/infra/permission-coverage.test.ts, which evaluates each call
 * against the synthesized template (identity policy + key/bucket policy) with an offline IAM evaluator.
 *
 * Calls a service makes with the caller's credentials (KMS through DynamoDB, S3, Secrets Manager and
 * Step Functions) are listed beside the SDK call that causes them: a missing one fails in production
 * exactly like a missing direct permission. A new SDK command in an adapter belongs here.
 *
 * Context values may hold {placeholders} the test fills in from the template: {region}, {account},
 * {partition}, {connectionId}, {connectionTable}, {checkpointTable}, {secretArn}, {bucketArn},
 * {stateMachineArn}.
 */

/**
 * Where `goal-sync start --upload` puts files in the source bucket (uploads/<runId>/<name>): the one
 * prefix the OPERATOR policy may write.
 */
export const UPLOAD_PREFIX = 'uploads/';

/** The stack resources a call can target (the test maps each to its ARN in the template). */
export type ResourceRef =
  | 'connectionTable'
  /** The connection table's due index (the sweeper's Query). */
  | 'connectionDueIndex'
  /** The connection table's stream (the outbox relay's event source mapping). */
  | 'connectionStream'
  | 'checkpointTable'
  | 'dataKey'
  | 'connectionSecret'
  | 'sourceObject'
  /** An object under uploads/ in the source bucket (`goal-sync start --upload`). */
  | 'uploadObject'
  | 'manifestObject'
  | 'refreshSchedule'
  | 'schedulerTargetRole'
  | 'eventBus'
  | 'tokenBroker'
  | 'connectionAdmin'
  | 'planSync'
  | 'syncChunk'
  | 'finishSync'
  | 'hdlLoad'
  | 'preflight'
  | 'scheduleStarter'
  | 'stateMachine'
  | 'execution'
  | 'deadLetterQueue'
  | 'ownLogGroup'
  | 'stack'
  | '*';

export interface AwsCall {
  action: string;
  resource: ResourceRef;
  /** Condition keys the request carries. */
  context?: Record<string, string | string[]>;
  /** The SDK command (or platform behaviour) that makes the call. */
  sdk: string;
  /** The file that sends it. */
  file: string;
}

/**
 * Token envelopes (lambdas/core/crypto/envelope.ts via token-vault.ts): the encryption context is the
 * connection id and the purpose of the envelope. The broker's key statement requires exactly these keys.
 */
export const TOKEN_ENCRYPTION_CONTEXT = {
  keys: ['connectionId', 'purpose'],
  purposes: ['access', 'refresh'],
} as const;

const KMS_PROVIDER = 'lambdas/core/adapters/aws/kms-key-provider.ts';
const via = (service: string) => ({ 'kms:ViaService': `${service}.{region}.amazonaws.com` });

/** DynamoDB opens the table key with the caller's rights (customer managed key). */
function tableKey(table: 'connectionTable' | 'checkpointTable', sdk: string, file: string): AwsCall[] {
  return ['kms:Decrypt', 'kms:DescribeKey'].map((action) => ({
    action,
    resource: 'dataKey',
    context: { ...via('dynamodb'), 'kms:EncryptionContext:aws:dynamodb:tableName': `{${table}}` },
    sdk: `${sdk} (DynamoDB on the caller's behalf)`,
    file,
  }));
}

function tokenEnvelopeCalls(): AwsCall[] {
  return TOKEN_ENCRYPTION_CONTEXT.purposes.flatMap((purpose) =>
    (['GenerateDataKey', 'Decrypt'] as const).map((op) => ({
      action: `kms:${op}`,
      resource: 'dataKey' as const,
      context: {
        'kms:EncryptionContext:connectionId': '{connectionId}',
        'kms:EncryptionContext:purpose': purpose,
        'kms:EncryptionContextKeys': [...TOKEN_ENCRYPTION_CONTEXT.keys],
      },
      sdk: `${op}Command (${purpose} token envelope)`,
      file: KMS_PROVIDER,
    })),
  );
}

/** Every Lambda writes its logs and X-Ray segments (runtime, not our code). */
function platformCalls(): AwsCall[] {
  return [
    { action: 'logs:CreateLogStream', resource: 'ownLogGroup', sdk: 'Lambda runtime', file: '-' },
    { action: 'logs:PutLogEvents', resource: 'ownLogGroup', sdk: 'Lambda runtime', file: '-' },
    { action: 'xray:PutTraceSegments', resource: '*', sdk: 'Lambda active tracing', file: '-' },
    { action: 'xray:PutTelemetryRecords', resource: '*', sdk: 'Lambda active tracing', file: '-' },
  ];
}

const CHECKPOINT_FILES: [string, string][] = [
  ['dynamodb:GetItem', 'lambdas/core/checkpoint/run-store.ts'],
  ['dynamodb:PutItem', 'lambdas/core/checkpoint/run-store.ts'],
  ['dynamodb:UpdateItem', 'lambdas/core/checkpoint/record-store.ts'],
  ['dynamodb:Query', 'lambdas/core/checkpoint/batch-io.ts'],
  ['dynamodb:BatchGetItem', 'lambdas/core/checkpoint/batch-io.ts'],
  ['dynamodb:BatchWriteItem', 'lambdas/core/checkpoint/batch-io.ts'],
];

/** `batchGet`: only sync-chunk batch-reads records (test/infra/handler-contract reads it off the bundles). */
function checkpointCalls(batchGet: boolean): AwsCall[] {
  return [
    ...CHECKPOINT_FILES.filter(([action]) => batchGet || action !== 'dynamodb:BatchGetItem').map(
      ([action, file]) => ({
        action,
        resource: 'checkpointTable' as const,
        sdk: `${action.split(':')[1]} (lib-dynamodb)`,
        file,
      }),
    ),
    ...tableKey('checkpointTable', 'checkpoint reads/writes', 'lambdas/core/checkpoint/batch-io.ts'),
  ];
}

function sourceReadCalls(): AwsCall[] {
  return [
    {
      action: 's3:GetObject',
      resource: 'sourceObject',
      sdk: 'GetObjectCommand / HeadObjectCommand (pinning the version at plan time)',
      file: 'lambdas/core/source/bytes.ts',
    },
    {
      action: 's3:GetObjectVersion',
      resource: 'sourceObject',
      sdk: 'GetObjectCommand with VersionId (the version the run pinned)',
      file: 'lambdas/core/source/bytes.ts',
    },
    {
      action: 'kms:Decrypt',
      resource: 'dataKey',
      context: { ...via('s3'), 'kms:EncryptionContext:aws:s3:arn': '{bucketArn}' },
      sdk: 'GetObjectCommand (SSE-KMS bucket key)',
      file: 'lambdas/core/source/bytes.ts',
    },
  ];
}

export type LambdaPrincipal =
  | 'tokenBroker'
  | 'connectionAdmin'
  | 'planSync'
  | 'syncChunk'
  | 'finishSync'
  | 'hdlLoad'
  | 'preflight'
  | 'scheduleStarter';
export type SchedulerPrincipal = 'brokerSchedules' | 'nightlySync';
export type Principal = LambdaPrincipal | SchedulerPrincipal | 'stateMachine';

/**
 * What the broker's code calls wherever it runs (the token broker, and the connection-admin function
 * for `connect`): connection items, envelopes, the connection secrets (read), schedules, events.
 */
function brokerCoreCalls(tableActions: readonly string[]): AwsCall[] {
  return [
    ...tableActions.map((action) => ({
      action,
      resource: 'connectionTable' as const,
      sdk: `${action.split(':')[1]} (lib-dynamodb)`,
      file: 'lambdas/core/token/connection/connection-store.ts',
    })),
    ...tableKey(
      'connectionTable',
      'connection reads/writes',
      'lambdas/core/token/connection/connection-store.ts',
    ),
    ...tokenEnvelopeCalls(),
    {
      action: 'secretsmanager:GetSecretValue',
      resource: 'connectionSecret',
      sdk: 'GetSecretValueCommand',
      file: 'lambdas/core/adapters/aws/secrets-source.ts',
    },
    {
      action: 'kms:Decrypt',
      resource: 'dataKey',
      context: { ...via('secretsmanager'), 'kms:EncryptionContext:SecretARN': '{secretArn}' },
      sdk: 'GetSecretValueCommand (Secrets Manager on the caller behalf)',
      file: 'lambdas/core/adapters/aws/secrets-source.ts',
    },
    ...(['CreateSchedule', 'UpdateSchedule', 'DeleteSchedule'] as const).map((op) => ({
      action: `scheduler:${op}`,
      resource: 'refreshSchedule' as const,
      sdk: `${op}Command`,
      file: 'lambdas/core/adapters/aws/scheduler.ts',
    })),
    {
      action: 'iam:PassRole',
      resource: 'schedulerTargetRole',
      context: { 'iam:PassedToService': 'scheduler.amazonaws.com' },
      sdk: 'CreateScheduleCommand / UpdateScheduleCommand (Target.RoleArn)',
      file: 'lambdas/core/adapters/aws/scheduler.ts',
    },
    {
      action: 'events:PutEvents',
      resource: 'eventBus',
      sdk: 'PutEventsCommand',
      file: 'lambdas/core/adapters/aws/event-publisher.ts',
    },
  ];
}

export const CALLS: Record<Principal, AwsCall[]> = {
  tokenBroker: [
    ...brokerCoreCalls(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Scan']),
    {
      action: 'dynamodb:Query',
      resource: 'connectionDueIndex',
      sdk: "QueryCommand (the sweeper's connections due for a refresh)",
      file: 'lambdas/core/token/connection/connection-store.ts',
    },
    {
      action: 'kms:Decrypt',
      resource: 'dataKey',
      context: { ...via('dynamodb'), 'kms:EncryptionContext:aws:dynamodb:tableName': '{connectionTable}' },
      sdk: 'Lambda event source mapping reading the CMK-encrypted stream (outbox relay)',
      file: 'infra/stack.ts',
    },
    {
      action: 'sqs:SendMessage',
      resource: 'deadLetterQueue',
      sdk: 'Lambda async invoke on-failure destination (Scheduler fires); the stream mapping on-failure',
      file: 'infra/stack.ts',
    },
    ...(['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'] as const).map(
      (action) => ({
        action,
        resource: 'connectionStream' as const,
        sdk: 'Lambda event source mapping (outbox relay) polling with the broker role',
        file: 'infra/stack.ts',
      }),
    ),
    {
      action: 'dynamodb:ListStreams',
      resource: '*',
      sdk: 'Lambda event source mapping (outbox relay)',
      file: 'infra/stack.ts',
    },
    ...platformCalls(),
  ],
  /** `goal-sync connect`: the broker's connect for one connection (lambdas/connection-admin). */
  connectionAdmin: [...brokerCoreCalls(['dynamodb:GetItem', 'dynamodb:UpdateItem']), ...platformCalls()],
  planSync: [
    // BatchGetItem: writeMode auto counts the records to write against the ledger (sync/write-mode.ts).
    ...checkpointCalls(true),
    ...sourceReadCalls(),
    {
      action: 's3:PutObject',
      resource: 'manifestObject',
      sdk: 'PutObjectCommand (every run: the Distributed Map branch reads it; the goal index beside it)',
      file: 'lambdas/plan-sync/s3-manifest.ts, lambdas/core/adapters/aws/s3-goal-index.ts',
    },
    {
      action: 's3:GetObject',
      resource: 'manifestObject',
      sdk: 'GetObjectCommand (the goal index of a resumed attempt)',
      file: 'lambdas/core/adapters/aws/s3-goal-index-reader.ts',
    },
    {
      action: 'lambda:InvokeFunction',
      resource: 'tokenBroker',
      sdk: 'InvokeCommand (the plan-wide read of existing goals needs an HCM token)',
      file: 'lambdas/core/adapters/aws/lambda-broker-transport.ts',
    },
    {
      action: 'kms:GenerateDataKey',
      resource: 'dataKey',
      context: { ...via('s3'), 'kms:EncryptionContext:aws:s3:arn': '{bucketArn}' },
      sdk: 'PutObjectCommand (SSE-KMS bucket key)',
      file: 'lambdas/plan-sync/s3-manifest.ts',
    },
    ...platformCalls(),
  ],
  syncChunk: [
    ...checkpointCalls(true),
    ...sourceReadCalls(),
    {
      action: 's3:GetObject',
      resource: 'manifestObject',
      sdk: "GetObjectCommand (plan-sync's index of existing goals under runs/)",
      file: 'lambdas/core/adapters/aws/s3-goal-index-reader.ts',
    },
    {
      action: 'lambda:InvokeFunction',
      resource: 'tokenBroker',
      sdk: 'InvokeCommand',
      file: 'lambdas/core/adapters/aws/lambda-broker-transport.ts',
    },
    ...platformCalls(),
  ],
  finishSync: [
    ...checkpointCalls(false),
    {
      action: 'events:PutEvents',
      resource: 'eventBus',
      sdk: 'PutEventsCommand',
      file: 'lambdas/core/adapters/aws/event-publisher.ts',
    },
    // A run past its execution's REST deadline continues in a new execution (sync/continuation.ts).
    {
      action: 'states:StartExecution',
      resource: 'stateMachine',
      sdk: 'StartExecutionCommand',
      file: 'lambdas/core/adapters/aws/execution-starter.ts',
    },
    ...(['kms:GenerateDataKey', 'kms:Decrypt'] as const).map((action) => ({
      action,
      resource: 'dataKey' as const,
      context: { 'kms:EncryptionContext:aws:states:stateMachineArn': '{stateMachineArn}' },
      sdk: 'StartExecution (execution input encrypted with the state machine key)',
      file: 'infra/stack.ts',
    })),
    ...platformCalls(),
  ],
  /** The HDL branch's steps (lambdas/hdl-load): source, ledger, parts in runs/, the broker's token. */
  hdlLoad: [
    // No DeleteItem: the HDL steps never release the run lease.
    ...checkpointCalls(true).filter((c) => c.action !== 'dynamodb:DeleteItem'),
    ...sourceReadCalls(),
    {
      action: 's3:PutObject',
      resource: 'manifestObject',
      sdk: 'PutObjectCommand (Goal.dat parts and their record lists under runs/<runId>/hdl/)',
      file: 'lambdas/hdl-load/index.ts',
    },
    {
      action: 's3:GetObject',
      resource: 'manifestObject',
      sdk: 'GetObjectCommand (a part to upload, its record list to settle)',
      file: 'lambdas/core/adapters/aws/s3-goal-index-reader.ts',
    },
    {
      action: 'kms:GenerateDataKey',
      resource: 'dataKey',
      context: { ...via('s3'), 'kms:EncryptionContext:aws:s3:arn': '{bucketArn}' },
      sdk: 'PutObjectCommand (SSE-KMS bucket key)',
      file: 'lambdas/hdl-load/index.ts',
    },
    {
      action: 'lambda:InvokeFunction',
      resource: 'tokenBroker',
      sdk: 'InvokeCommand',
      file: 'lambdas/core/adapters/aws/lambda-broker-transport.ts',
    },
    ...platformCalls(),
  ],
  /**
   * `goal-sync preflight --stack` (lambdas/preflight): the broker's token (as plan-sync asks for it) and
   * the source it checks; everything else it does is HTTP to the pod.
   */
  preflight: [
    ...sourceReadCalls(),
    {
      action: 'lambda:InvokeFunction',
      resource: 'tokenBroker',
      sdk: "InvokeCommand (the connection's token and its status: grant, no token)",
      file: 'lambdas/core/adapters/aws/lambda-broker-transport.ts',
    },
    ...platformCalls(),
  ],
  /** The role the broker's one-time refresh schedules and the sweeper run as (infra/scheduling.ts). */
  brokerSchedules: [
    {
      action: 'lambda:InvokeFunction',
      resource: 'tokenBroker',
      sdk: 'Scheduler target',
      file: 'infra/scheduling.ts',
    },
    {
      action: 'sqs:SendMessage',
      resource: 'deadLetterQueue',
      sdk: 'Scheduler dead-letter',
      file: 'infra/scheduling.ts',
    },
  ],
  /**
   * The schedule starter (lambdas/schedule-starter): one execution per scheduled run, named after it;
   * StartExecution encrypts the input with the state machine's key.
   */
  scheduleStarter: [
    {
      action: 'states:StartExecution',
      resource: 'stateMachine',
      sdk: 'StartExecutionCommand',
      file: 'lambdas/core/adapters/aws/execution-starter.ts',
    },
    ...(['kms:GenerateDataKey', 'kms:Decrypt'] as const).map((action) => ({
      action,
      resource: 'dataKey' as const,
      context: { 'kms:EncryptionContext:aws:states:stateMachineArn': '{stateMachineArn}' },
      sdk: 'StartExecution (execution input encrypted with the state machine key)',
      // Step Functions' call with the caller's rights, granted beside the function.
      file: 'infra/schedule-starter.ts',
    })),
    ...platformCalls(),
  ],
  /** The nightly and verify schedules' role: they invoke the schedule starter, nothing else. */
  nightlySync: [
    {
      action: 'lambda:InvokeFunction',
      resource: 'scheduleStarter',
      sdk: 'Scheduler target',
      file: 'infra/scheduling.ts',
    },
    {
      action: 'sqs:SendMessage',
      resource: 'deadLetterQueue',
      sdk: 'Scheduler dead-letter',
      file: 'infra/scheduling.ts',
    },
  ],
  /** The state machine's execution role (infra/state-machine.ts). */
  stateMachine: [
    ...(['planSync', 'syncChunk', 'finishSync', 'hdlLoad'] as const).map((fn) => ({
      action: 'lambda:InvokeFunction',
      resource: fn,
      sdk: 'LambdaInvoke task',
      file: 'infra/state-machine.ts',
    })),
    ...(['kms:GenerateDataKey', 'kms:Decrypt'] as const).map((action) => ({
      action,
      resource: 'dataKey' as const,
      context: { 'kms:EncryptionContext:aws:states:stateMachineArn': '{stateMachineArn}' },
      sdk: 'execution state and history (customer managed key)',
      file: 'infra/stack.ts',
    })),
    {
      action: 's3:GetObject',
      resource: 'manifestObject',
      sdk: 'Distributed Map ItemReader',
      file: 'infra/state-machine.ts',
    },
    {
      action: 'kms:Decrypt',
      resource: 'dataKey',
      context: { ...via('s3'), 'kms:EncryptionContext:aws:s3:arn': '{bucketArn}' },
      sdk: 'Distributed Map ItemReader (SSE-KMS)',
      file: 'infra/state-machine.ts',
    },
    ...(['states:StartExecution'] as const).map((action) => ({
      action,
      resource: 'stateMachine' as const,
      sdk: 'Distributed Map child executions',
      file: 'infra/state-machine.ts',
    })),
    ...(['states:DescribeExecution', 'states:StopExecution'] as const).map((action) => ({
      action,
      resource: 'execution' as const,
      sdk: 'Distributed Map child executions',
      file: 'infra/state-machine.ts',
    })),
  ],
};
