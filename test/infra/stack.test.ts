import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build.ts';
import { FUNCTION_SPECS, type FunctionKey, WORST_CASE_SECONDS } from '../../infra/functions.ts';
import { SERVICE_NAMES } from '../../infra/metrics.ts';
import { ENV } from '../../lambdas/core/env.ts';
import { SERVICE_NAMESPACE } from '../../lambdas/core/observability.ts';
import { CHECKPOINT_TABLE, CONNECTION_TABLE } from '../../lambdas/core/tables.ts';
import { FULL_CONTEXT, flatten, resourcesOfType, type Synthesized, synthesize } from './support.ts';

let s: Synthesized;
beforeAll(() => {
  s = synthesize({ context: FULL_CONTEXT });
});

const ref = (logicalId: string) => ({ Ref: logicalId });
const arnOf = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const idOf = (c: { node: { defaultChild?: unknown } } | unknown) =>
  s.stack.getLogicalId(((c as { node: { defaultChild: unknown } }).node.defaultChild ?? c) as never);

describe('data layer', () => {
  it('has rotating customer managed keys for data, log groups and the notification topic', () => {
    s.template.resourceCountIs('AWS::KMS::Key', 3);
    s.template.allResourcesProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    s.template.hasResource('AWS::KMS::Key', {
      Properties: { Description: Match.stringLikeRegexp('token envelopes') },
      DeletionPolicy: 'RetainExceptOnCreate',
    });
  });

  it('creates the connection table: on demand, PITR, KMS, retained, deletion-protected', () => {
    const keyId = idOf(s.stack.data.key);
    s.template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [{ AttributeName: CONNECTION_TABLE.partitionKey, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: arnOf(keyId) },
        DeletionProtectionEnabled: true,
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('creates the checkpoint table with pk/sk and TTL on finished runs', () => {
    s.template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        KeySchema: [
          { AttributeName: CHECKPOINT_TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: CHECKPOINT_TABLE.sortKey, KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: CHECKPOINT_TABLE.ttlAttribute, Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: Match.objectLike({ SSEType: 'KMS' }),
      },
      DeletionPolicy: 'Retain',
    });
  });

  it('creates one secret per connection, KMS-encrypted, with a generated value and the documented shape', () => {
    const secrets = resourcesOfType(s.json, 'AWS::SecretsManager::Secret');
    expect(secrets.map(([, p]) => p.Name).sort()).toEqual([
      'hcm-goal-sync/test/connections/acme',
      'hcm-goal-sync/test/connections/globex',
    ]);
    for (const [, p] of secrets) {
      expect(p.SecretString).toBeUndefined();
      expect(p.KmsKeyId).toEqual(arnOf(idOf(s.stack.data.key)));
      const gen = p.GenerateSecretString as { SecretStringTemplate: string; GenerateStringKey: string };
      expect(gen.GenerateStringKey).toBe('clientSecret');
      expect(JSON.parse(gen.SecretStringTemplate)).toEqual({
        tokenUrl: FULL_CONTEXT.idpTokenUrl,
        clientId: 'REPLACE_WITH_IDCS_CLIENT_ID',
      });
    }
  });

  it('creates a private, SSL-only, KMS-encrypted source bucket with expiring objects', () => {
    s.template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: arnOf(idOf(s.stack.data.key)),
            },
          }),
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      // Run manifests and `start --upload` files are per run: gone with the run's checkpoints.
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Prefix: 'runs/', ExpirationInDays: 30 }),
          Match.objectLike({ Prefix: 'uploads/', ExpirationInDays: 30 }),
        ]),
      },
    });
    s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('functions', () => {
  const keys = Object.keys(FUNCTION_SPECS) as FunctionKey[];

  it('deploys eight arm64 ESM Lambdas on a current Node.js runtime with X-Ray and Powertools settings', () => {
    s.template.resourceCountIs('AWS::Lambda::Function', keys.length);
    expect(keys).toHaveLength(8);
    for (const key of keys) {
      const props = s.json.Resources[s.logicalIdOf(key)]!.Properties!;
      expect(props.Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.Handler).toBe('index.handler');
      expect(props.TracingConfig).toEqual({ Mode: 'Active' });
      expect(props.MemorySize).toBe(FUNCTION_SPECS[key].memorySize);
      expect(props.Timeout).toBe(FUNCTION_SPECS[key].timeout.toSeconds());
      const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env.POWERTOOLS_SERVICE_NAME).toBe(SERVICE_NAMES[key]);
      expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe(SERVICE_NAMESPACE);
      expect(env.NODE_OPTIONS).toBe('--enable-source-maps');
      // Its own log group with a retention, no LogRetention custom resource.
      const logGroup = (props.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(s.json.Resources[logGroup]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: 365, KmsKeyId: arnOf(idOf(s.stack.data.logKey)) },
      });
    }
    expect(resourcesOfType(s.json, 'Custom::LogRetention')).toHaveLength(0);
  });

  it('reserves broker concurrency only when asked, warning at synth what the account quota must allow', () => {
    // Construction only (no synth): the annotation is metadata on the broker.
    const warningsOf = (stack: Synthesized['stack']) =>
      stack.functions.tokenBroker.fn.node.metadata
        .filter((m) => m.type === 'aws:cdk:warning')
        .map((m) => String(m.data));
    const build = (context: Record<string, string>) =>
      buildApp({ context, skipBundling: true, nag: false }).stack;
    expect(warningsOf(s.stack)).toEqual([]);
    const reserved = build({ brokerReservedConcurrency: '12' });
    expect(warningsOf(reserved)).toEqual([
      expect.stringMatching(/brokerReservedConcurrency=12 .*quota must be at least 112/),
    ]);
    const cfn = reserved.functions.tokenBroker.fn.node.defaultChild as {
      reservedConcurrentExecutions?: number;
    };
    expect(cfn.reservedConcurrentExecutions).toBe(12);
    // With the quota stated, parseStackConfig checks it (test/infra/config.test.ts) and synth stays quiet.
    expect(warningsOf(build({ brokerReservedConcurrency: '12', lambdaConcurrencyQuota: '1000' }))).toEqual(
      [],
    );
  });

  it('tells the broker and the connection-admin function how many instances can send token requests: the reservation caps them', () => {
    // The fail-soft pace of a throttled token-endpoint limiter is the fleet's share divided by this, so
    // it must bound the senders: the broker's reserved concurrency plus the admin function's connect.
    const instancesOf = (synth: Synthesized, key: FunctionKey) => {
      const props = synth.json.Resources[synth.logicalIdOf(key)]!.Properties!;
      const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      return { env: env[ENV.tokenEndpointInstances], reserved: props.ReservedConcurrentExecutions };
    };
    const reservedSynth = synthesize({
      context: { ...FULL_CONTEXT, brokerReservedConcurrency: '12', lambdaConcurrencyQuota: '1000' },
    });
    expect(instancesOf(reservedSynth, 'tokenBroker')).toEqual({ env: '13', reserved: 12 });
    expect(instancesOf(reservedSynth, 'connectionAdmin')).toEqual({ env: '13', reserved: undefined });
    // No reservation: only the account's quota bounds the broker (AWS's default 1,000 when not stated).
    expect(instancesOf(s, 'tokenBroker')).toEqual({ env: '1000', reserved: undefined });
    expect(instancesOf(s, 'connectionAdmin').env).toBe('1000');
  });

  it('sizes every timeout above the worst case of its work, with margin', () => {
    for (const key of keys) {
      const timeout = FUNCTION_SPECS[key].timeout.toSeconds();
      expect(timeout, key).toBeGreaterThanOrEqual(WORST_CASE_SECONDS[key] * 1.5);
      expect(timeout, key).toBeLessThanOrEqual(900);
    }
    // A chunk worker also waits for the broker: its budget must cover a full broker timeout.
    expect(FUNCTION_SPECS.syncChunk.timeout.toSeconds()).toBeGreaterThan(
      FUNCTION_SPECS.tokenBroker.timeout.toSeconds(),
    );
  });

  it('reserves no broker concurrency unless configured and names the broker for its self-ARN', () => {
    const broker = s.json.Resources[s.logicalIdOf('tokenBroker')]!.Properties!;
    expect(broker.ReservedConcurrentExecutions).toBeUndefined();
    expect(broker.FunctionName).toBe('hcm-goal-sync-test-token-broker');
    const env = (broker.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(flatten(env[ENV.brokerFunctionArn])).toBe(
      'arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:hcm-goal-sync-test-token-broker',
    );
    expect(env).toMatchObject({
      [ENV.connectionTable]: ref(idOf(s.stack.data.connectionTable)),
      [ENV.kmsKeyId]: arnOf(idOf(s.stack.data.key)),
      [ENV.eventBusName]: ref(idOf(s.stack.notifications.bus)),
      [ENV.scheduleGroup]: 'hcm-goal-sync-test',
      [ENV.schedulerRoleArn]: arnOf(idOf(s.stack.scheduling.brokerTargetRole)),
      [ENV.tokenBufferSeconds]: '120',
    });
    // Other functions get no fixed name (CloudFormation names them) and no reserved concurrency.
    for (const key of keys.filter((k) => k !== 'tokenBroker')) {
      const props = s.json.Resources[s.logicalIdOf(key)]!.Properties!;
      expect(props.FunctionName).toBeUndefined();
      expect(props.ReservedConcurrentExecutions).toBeUndefined();
    }
  });

  it('wires the pipeline functions to their tables, bucket, broker and bus', () => {
    const env = (key: FunctionKey) =>
      (
        s.json.Resources[s.logicalIdOf(key)]!.Properties!.Environment as {
          Variables: Record<string, unknown>;
        }
      ).Variables;
    const checkpoint = ref(idOf(s.stack.data.checkpointTable));
    const bucket = ref(idOf(s.stack.data.sourceBucket));
    expect(env('planSync')).toMatchObject({ [ENV.checkpointTable]: checkpoint, [ENV.sourceBucket]: bucket });
    expect(env('planSync')[ENV.chunkConcurrency]).toBe('8');
    // The run's REST duration estimate compares with the state machine's 6 h timeout (issue 24 item 4).
    expect(env('planSync')[ENV.executionTimeoutSeconds]).toBe('21600');
    expect(env('syncChunk')).toMatchObject({
      [ENV.checkpointTable]: checkpoint,
      [ENV.sourceBucket]: bucket,
      [ENV.tokenBrokerFunction]: ref(s.logicalIdOf('tokenBroker')),
      [ENV.hcmBaseUrl]: FULL_CONTEXT.hcmBaseUrl,
    });
    // The HCM request ceiling: the stack's default, and the fail-soft share's divisor (8 workers + plan-sync).
    for (const key of ['planSync', 'syncChunk'] as const)
      expect(env(key)).toMatchObject({ [ENV.hcmMaxRequestsPerSecond]: '10', [ENV.hcmMaxContainers]: '9' });
    // The settle horizon (context settleHorizonHours, default 24 h) reaches the REST writer.
    expect(env('syncChunk')[ENV.settleHorizonMs]).toBe(String(24 * 3_600_000));
    expect(env('finishSync')).toMatchObject({
      [ENV.checkpointTable]: checkpoint,
      [ENV.eventBusName]: ref(idOf(s.stack.notifications.bus)),
    });
  });

  it('sends failed asynchronous broker invocations (schedules) to the DLQ after one retry', () => {
    s.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(s.logicalIdOf('tokenBroker')),
      MaximumRetryAttempts: 1,
      MaximumEventAgeInSeconds: 300,
      DestinationConfig: { OnFailure: { Destination: arnOf(idOf(s.stack.notifications.deadLetterQueue)) } },
    });
  });

  it('relays the connection outbox from a keys-only table stream, item failures reported, DLQ at the end', () => {
    const table = idOf(s.stack.data.connectionTable);
    s.template.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: Match.absent(),
      StreamSpecification: { StreamViewType: 'KEYS_ONLY' },
      KeySchema: [{ AttributeName: CONNECTION_TABLE.partitionKey, KeyType: 'HASH' }],
    });
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: ref(s.logicalIdOf('tokenBroker')),
      EventSourceArn: { 'Fn::GetAtt': [table, 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: 3,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT', 'MODIFY'] }) }] },
      DestinationConfig: { OnFailure: { Destination: arnOf(idOf(s.stack.notifications.deadLetterQueue)) } },
    });
    expect(
      s.template.findResources('AWS::Lambda::Function', {
        Properties: { Environment: { Variables: { [ENV.outboxRelay]: 'stream' } } },
      }),
    ).toHaveProperty(s.logicalIdOf('tokenBroker'));
  });
});

describe('state machine', () => {
  it('logs ALL without execution data, traces with X-Ray and encrypts with the project key', () => {
    s.template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    s.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      StateMachineName: 'hcm-goal-sync-test-sync',
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }],
      },
      TracingConfiguration: { Enabled: true },
      EncryptionConfiguration: { Type: 'CUSTOMER_MANAGED_KMS_KEY', KmsKeyId: arnOf(idOf(s.stack.data.key)) },
    });
    s.template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/vendedlogs/states/hcm-goal-sync-test-sync',
    });
  });
});

describe('scheduling', () => {
  it('creates the schedule group the broker writes its refresh schedules into', () => {
    s.template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'hcm-goal-sync-test' });
  });

  it('runs the sweeper every 5 minutes against the broker, dead-lettering failures', () => {
    s.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      GroupName: 'hcm-goal-sync-test',
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Target: {
        Input: JSON.stringify({ action: 'sweep' }),
        RoleArn: arnOf(idOf(s.stack.scheduling.brokerTargetRole)),
        DeadLetterConfig: { Arn: arnOf(idOf(s.stack.notifications.deadLetterQueue)) },
        Arn: Match.anyValue(),
      },
    });
  });

  it('starts the nightly sync on the configured cron and zone through the starter, which names the run by the fire time', () => {
    const nightly = resourcesOfType(s.json, 'AWS::Scheduler::Schedule').filter(([, p]) =>
      String(p.ScheduleExpression).startsWith('cron('),
    );
    expect(nightly).toHaveLength(1);
    const [, props] = nightly[0]!;
    expect(props.ScheduleExpression).toBe(FULL_CONTEXT.syncSchedule);
    expect(props.ScheduleExpressionTimezone).toBe('Europe/Berlin');
    const target = props.Target as Record<string, unknown>;
    // The schedule starter (issue 25): it names the execution nightly-YYYYMMDDTHHMMZ from the fire time.
    expect(target.Arn).toEqual({ 'Fn::GetAtt': [idOf(s.stack.functions.scheduleStarter.fn), 'Arn'] });
    const input = JSON.parse(
      flatten(target.Input).replace(`<${idOf(s.stack.data.sourceBucket)}>`, 'BUCKET'),
    ) as Record<string, unknown>;
    expect(input).toEqual({
      kind: 'nightly',
      scheduledTime: '<aws.scheduler.scheduled-time>',
      input: {
        connectionId: 'globex',
        ifRunning: 'skip',
        source: { uri: 's3://BUCKET/nightly/goals.jsonl', format: 'jsonl' },
      },
    });
    // Its role may invoke the starter and nothing else.
    const roleId = idOf(s.stack.scheduling.nightlySyncRole);
    expect(target.RoleArn).toEqual(arnOf(roleId));
  });

  it('with verifySchedule, starts a verify run of the same export on its own cron (drift check)', () => {
    const v = synthesize({ context: { ...FULL_CONTEXT, verifySchedule: 'cron(0 4 ? * SUN *)' } });
    const crons = resourcesOfType(v.json, 'AWS::Scheduler::Schedule').filter(([, p]) =>
      String(p.ScheduleExpression).startsWith('cron('),
    );
    expect(crons.map(([, p]) => p.ScheduleExpression).sort()).toEqual([
      'cron(0 4 ? * SUN *)',
      FULL_CONTEXT.syncSchedule,
    ]);
    const [, props] = crons.find(([, p]) => p.ScheduleExpression === 'cron(0 4 ? * SUN *)')!;
    expect(props.ScheduleExpressionTimezone).toBe('Europe/Berlin');
    const target = props.Target as Record<string, unknown>;
    const input = JSON.parse(
      flatten(target.Input).replace(`<${idOf(v.stack.data.sourceBucket)}>`, 'BUCKET'),
    ) as Record<string, unknown>;
    expect(input).toEqual({
      kind: 'verify',
      scheduledTime: '<aws.scheduler.scheduled-time>',
      input: {
        connectionId: 'globex',
        ifRunning: 'skip',
        source: { uri: 's3://BUCKET/nightly/goals.jsonl', format: 'jsonl' },
      },
    });
    expect(target.RoleArn).toEqual(arnOf(idOf(v.stack.scheduling.nightlySyncRole)));
  });
});
