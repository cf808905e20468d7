import {
  Annotations,
  ArnFormat,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { mappingToEnv } from '#core/hcm/index.ts';
import { ENV } from '../lambdas/core/env.ts';
import { CONNECTION_DUE_INDEX } from '../lambdas/core/tables.ts';
import { createAlarms, type ProjectAlarm } from './alarms.ts';
import { brokerEnvironment, createConnectionAdmin, grantConnectionAdmin } from './connection-admin.ts';
import { createDashboard } from './dashboard.ts';
import { connectionSecretName, connectionSecretPrefix, DataLayer } from './data.ts';
import {
  createProjectFunction,
  type FunctionKey,
  functionArnFromName,
  type ProjectFunction,
  projectLogGroup,
} from './functions.ts';
import { limitGrantsToAwsServices, suppressGuardRule } from './guard.ts';
import { acknowledgeUnavoidableFindings } from './nag.ts';
import { Notifications } from './notifications.ts';
import { createOperatorPolicies, type OperatorPolicies, STATES_CONTEXT_KEY } from './operator.ts';
import { ACTIONS, policyOf, tokenEnvelopeConditions } from './permissions.ts';
import { createPreflight } from './preflight.ts';
import { createScheduleStarter } from './schedule-starter.ts';
import { REFRESH_SCHEDULE_PREFIX, Scheduling } from './scheduling.ts';
import {
  LAMBDA_UNRESERVED_MINIMUM,
  NEW_ACCOUNT_CONCURRENCY,
  peakConcurrency,
  type StackConfig,
} from './stack-config.ts';
import { buildSyncDefinition } from './state-machine.ts';

/** Where plan-sync puts Distributed Map chunk lists (lambdas/plan-sync/s3-manifest.ts default prefix). */
export const MANIFEST_PREFIX = 'runs/';

/** Upper bound of a whole run: 5,000 goals take minutes; this only stops a stuck execution. */
export const STATE_MACHINE_TIMEOUT = Duration.hours(6);

export interface HcmGoalSyncStackProps extends StackProps {
  config: StackConfig;
}

export class HcmGoalSyncStack extends Stack {
  readonly config: StackConfig;
  readonly data: DataLayer;
  readonly notifications: Notifications;
  readonly scheduling: Scheduling;
  readonly functions: Record<FunctionKey, ProjectFunction>;
  readonly stateMachine: sfn.StateMachine;
  readonly alarms: ProjectAlarm[];
  /** The person-facing policies: run operator and connection admin (neither reaches a token). */
  readonly operatorPolicies: OperatorPolicies;

  constructor(scope: Construct, id: string, props: HcmGoalSyncStackProps) {
    super(scope, id, props);
    const config = props.config;
    this.config = config;

    const data = new DataLayer(this, 'Data', config);
    const notifications = new Notifications(this, 'Notifications', config);
    this.data = data;
    this.notifications = notifications;

    const brokerName = `${config.namePrefix}-token-broker`;
    // Built from the fixed name: the broker's environment holds its own ARN (the target of the
    // schedules it creates), which a reference to the function would turn into a dependency cycle.
    const brokerArn = functionArnFromName(this, brokerName);
    const scheduling = new Scheduling(this, 'Scheduling', {
      config,
      brokerFunctionArn: brokerArn,
      deadLetterQueue: notifications.deadLetterQueue,
      sourceBucketName: data.sourceBucket.bucketName,
    });
    this.scheduling = scheduling;

    const tokenBroker = createProjectFunction(this, 'TokenBroker', {
      key: 'tokenBroker',
      config,
      logKey: data.logKey,
      functionName: brokerName,
      reservedConcurrentExecutions: config.brokerReservedConcurrency,
      environment: {
        // IDP_TOKEN_URL in it is the only token endpoint the broker sends credentials to.
        ...brokerEnvironment({ config, data, notifications, scheduling, brokerArn }),
        [ENV.outboxRelay]: 'stream',
      },
    });
    // Scheduler invokes asynchronously. A proactive refresh older than 5 minutes is moot (the sweeper
    // or a JIT refresh has taken over), so retry once and park the rest in the DLQ, which alarms.
    tokenBroker.fn.configureAsyncInvoke({
      retryAttempts: 1,
      maxEventAge: Duration.minutes(5),
      onFailure: new destinations.SqsDestination(notifications.deadLetterQueue),
    });
    scheduling.sweeper.node.addDependency(tokenBroker.fn);
    // The outbox relay: every written connection item reaches the broker through the table's stream,
    // which drains its outbox (events published at least once, with their stable ids); what a batch
    // gives up on stays in the item for the sweeper, and the DLQ alarm says so.
    // A plain mapping: DynamoEventSource's grants would add an unconditioned key statement; the
    // role's stream permissions are below with the broker's others.
    new lambda.EventSourceMapping(this, 'OutboxRelay', {
      target: tokenBroker.fn,
      eventSourceArn: data.connectionStreamArn,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(1),
      retryAttempts: 3,
      reportBatchItemFailures: true,
      filters: [lambda.FilterCriteria.filter({ eventName: lambda.FilterRule.or('INSERT', 'MODIFY') })],
      onFailure: new SqsDlq(notifications.deadLetterQueue),
    });

    const connectionAdmin = createConnectionAdmin(this, {
      config,
      data,
      notifications,
      scheduling,
      brokerArn,
    });

    const pipelineEnv = {
      [ENV.checkpointTable]: data.checkpointTable.tableName,
      [ENV.sourceBucket]: data.sourceBucket.bucketName,
      [ENV.connectionId]: config.defaultConnectionId,
    };
    // The HCM request ceiling, shared through the checkpoint table by every function that calls HCM.
    const hcmCeilingEnv = {
      [ENV.hcmMaxRequestsPerSecond]: String(config.hcmMaxRequestsPerSecond),
      [ENV.hcmMaxContainers]: String(config.chunkConcurrency + 1),
    };
    const planSync = createProjectFunction(this, 'PlanSync', {
      key: 'planSync',
      config,
      logKey: data.logKey,
      environment: {
        ...pipelineEnv,
        [ENV.chunkConcurrency]: String(config.chunkConcurrency),
        // plan-sync writes every run's chunk list to S3 for the Distributed Map's ItemReader (same
        // bucket, runs/); the old distributedMap flag sends every run there (threshold 0).
        [ENV.manifestBucket]: data.sourceBucket.bucketName,
        ...(config.distributedMap ? { [ENV.mapThreshold]: '0' } : {}),
        // The plan-wide read of existing goals (issue 15): plan-sync lists each goal plan once and
        // leaves a per-chunk index beside the chunk list, so chunks send no finders.
        [ENV.tokenBrokerFunction]: tokenBroker.fn.functionName,
        [ENV.hcmBaseUrl]: config.hcmBaseUrl,
        [ENV.tokenBufferSeconds]: String(config.tokenBufferSeconds),
        ...hcmCeilingEnv,
        // With the ceiling, whether a REST run fits in an execution (issue 24 item 4, run-estimate.ts).
        [ENV.executionTimeoutSeconds]: String(STATE_MACHINE_TIMEOUT.toSeconds()),
        // The write path (issue 24): HDL only with a source system owner; auto's threshold.
        [ENV.goalMapping]: mappingToEnv(config.goalMapping),
        [ENV.hdlThreshold]: String(config.hdlThreshold),
        ...(config.hdlSourceSystemOwner ? { [ENV.hdlSourceSystemOwner]: config.hdlSourceSystemOwner } : {}),
      },
    });
    const syncChunk = createProjectFunction(this, 'SyncChunk', {
      key: 'syncChunk',
      config,
      logKey: data.logKey,
      environment: {
        ...pipelineEnv,
        [ENV.tokenBrokerFunction]: tokenBroker.fn.functionName,
        [ENV.hcmBaseUrl]: config.hcmBaseUrl,
        [ENV.tokenBufferSeconds]: String(config.tokenBufferSeconds),
        ...hcmCeilingEnv,
        // Where plan-sync left the run's index of existing goals (read only; runs/ prefix).
        [ENV.manifestBucket]: data.sourceBucket.bucketName,
        // The tenant's status / category / percent codes the records are mapped to.
        [ENV.goalMapping]: mappingToEnv(config.goalMapping),
        // How long an unclear write stays unsettled before it is written again (context settleHorizonHours).
        [ENV.settleHorizonMs]: String(config.settleHorizonMs),
      },
    });
    // finish-sync starts a run's continuation in a new execution (issue 24 item 4): the state machine's
    // ARN built from its name, since the state machine references finish-sync (a cycle otherwise).
    const syncStateMachineArn = this.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: syncStateMachineName(config),
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const finishSync = createProjectFunction(this, 'FinishSync', {
      key: 'finishSync',
      config,
      logKey: data.logKey,
      environment: {
        ...pipelineEnv,
        [ENV.eventBusName]: notifications.bus.eventBusName,
        [ENV.stateMachineArn]: syncStateMachineArn,
      },
    });
    const hdlLoad = createProjectFunction(this, 'HdlLoad', {
      key: 'hdlLoad',
      config,
      logKey: data.logKey,
      environment: {
        ...pipelineEnv,
        [ENV.tokenBrokerFunction]: tokenBroker.fn.functionName,
        [ENV.hcmBaseUrl]: config.hcmBaseUrl,
        [ENV.tokenBufferSeconds]: String(config.tokenBufferSeconds),
        ...hcmCeilingEnv,
        // Parts (zips, record lists) go beside the run's chunk list (runs/ prefix).
        [ENV.manifestBucket]: data.sourceBucket.bucketName,
        [ENV.goalMapping]: mappingToEnv(config.goalMapping),
        ...(config.hdlSourceSystemOwner ? { [ENV.hdlSourceSystemOwner]: config.hdlSourceSystemOwner } : {}),
      },
    });
    const preflight = createPreflight(this, { config, data, tokenBroker: tokenBroker.fn });

    // Least privilege, statement by statement (see permissions.ts for the action lists).
    const key = data.key;
    const secretArns = [...data.secrets.values()].map((s) => s.secretArn);
    const refreshScheduleArn = this.formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${scheduling.group.scheduleGroupName}/${REFRESH_SCHEDULE_PREFIX}*`,
    });
    policyOf(tokenBroker.role)
      .table('ConnectionTable', data.connectionTable, ACTIONS.connectionTable, key)
      .add('ConnectionDueIndex', ACTIONS.dueIndex, [
        `${data.connectionTable.tableArn}/index/${CONNECTION_DUE_INDEX.name}`,
      ])
      .add('ConnectionStream', ACTIONS.connectionStream, [data.connectionStreamArn])
      .add('ListStreams', ACTIONS.listStreams, ['*'])
      // Exactly the context the broker sends: an envelope opens only for its connection and purpose.
      .add('TokenEnvelopes', ACTIONS.envelope, [key.keyArn], tokenEnvelopeConditions())
      .add('ClientCredentials', ACTIONS.readSecret, secretArns)
      .keyVia('ClientCredentialsKey', key, 'secretsmanager', ACTIONS.secretKey)
      .add('RefreshSchedules', ACTIONS.refreshSchedules, [refreshScheduleArn])
      .add('PassSchedulerRole', ['iam:PassRole'], [scheduling.brokerTargetRole.roleArn], {
        StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' },
      })
      .add('ConnectionEvents', ACTIONS.putEvents, [notifications.bus.eventBusArn]);
    grantConnectionAdmin(connectionAdmin.role, {
      data,
      notifications,
      schedulerTargetRole: scheduling.brokerTargetRole,
      refreshScheduleArn,
    });

    const sourceObjects = data.sourceBucket.arnForObjects('*');
    // BatchGetItem: writeMode auto counts the records the ledger has not seen with this content.
    const planPolicy = policyOf(planSync.role)
      .table('CheckpointTable', data.checkpointTable, ACTIONS.checkpointTable, key)
      .add('ReadSource', ACTIONS.readSource, [sourceObjects])
      .keyVia('ReadSourceKey', key, 's3', ACTIONS.bucketKey);
    const manifestObjects = data.sourceBucket.arnForObjects(`${MANIFEST_PREFIX}*`);
    planPolicy
      .add('WriteManifest', ACTIONS.writeManifest, [manifestObjects])
      .keyVia('WriteManifestKey', key, 's3', ACTIONS.bucketKeyWrite)
      // The plan-wide read of existing goals needs an HCM token, like sync-chunk.
      .add('InvokeTokenBroker', ACTIONS.invoke, [tokenBroker.fn.functionArn]);
    policyOf(syncChunk.role)
      .table('CheckpointTable', data.checkpointTable, ACTIONS.checkpointTable, key)
      .add('ReadSource', ACTIONS.readSource, [sourceObjects])
      .keyVia('ReadSourceKey', key, 's3', ACTIONS.bucketKey)
      .add('InvokeTokenBroker', ACTIONS.invoke, [tokenBroker.fn.functionArn]);
    policyOf(finishSync.role)
      .table('CheckpointTable', data.checkpointTable, ACTIONS.checkpointTableNoBatchGet, key)
      .add('SyncEvents', ACTIONS.putEvents, [notifications.bus.eventBusArn])
      .add('ContinueRun', ['states:StartExecution'], [syncStateMachineArn])
      // StartExecution encrypts the continuation's input with the caller's rights: this state machine only.
      .add('ContinueRunInputKey', ['kms:GenerateDataKey', 'kms:Decrypt'], [key.keyArn], {
        StringEquals: { [STATES_CONTEXT_KEY]: syncStateMachineArn },
      });
    policyOf(hdlLoad.role)
      .table('CheckpointTable', data.checkpointTable, ACTIONS.checkpointTableNoDelete, key)
      .add('ReadSource', ACTIONS.readSource, [sourceObjects])
      .keyVia('ReadSourceKey', key, 's3', ACTIONS.bucketKey)
      // Parts are read back through ReadSource (the whole bucket, read-only), written under runs/ only.
      .add('HdlParts', ACTIONS.writeManifest, [manifestObjects])
      .keyVia('HdlPartsKey', key, 's3', ACTIONS.bucketKeyWrite)
      .add('InvokeTokenBroker', ACTIONS.invoke, [tokenBroker.fn.functionArn]);

    this.stateMachine = this.createStateMachine(config, data, { planSync, syncChunk, finishSync, hdlLoad });
    // The ItemReader reads the chunk list from the SSE-KMS bucket: S3 decrypts with the caller's rights.
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadManifestKey',
        actions: [...ACTIONS.bucketKey],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${this.region}.amazonaws.com` } },
      }),
    );
    this.finishEndedExecutions(finishSync.fn, notifications);
    const scheduleStarter = createScheduleStarter(this, {
      config,
      data,
      stateMachine: this.stateMachine,
      key,
    });
    scheduling.addNightlySync(scheduleStarter.fn);
    this.functions = {
      tokenBroker,
      connectionAdmin,
      planSync,
      syncChunk,
      finishSync,
      hdlLoad,
      preflight,
      scheduleStarter,
    };
    limitGrantsToAwsServices(notifications.topicKey);
    suppressGuardRule(notifications.deadLetterQueue, 'deadLetterQueueRedrive');
    for (const f of Object.values(this.functions)) suppressGuardRule(f.fn, 'lambdaOutsideVpc');
    this.operatorPolicies = createOperatorPolicies(this, {
      data,
      stateMachine: this.stateMachine,
      connectionAdmin: connectionAdmin.fn,
      preflight: preflight.fn,
      namePrefix: config.namePrefix,
    });
    this.noteReservedConcurrency(config);

    this.alarms = createAlarms(this, {
      functions: this.functions,
      stateMachine: this.stateMachine,
      deadLetterQueue: notifications.deadLetterQueue,
      topic: notifications.topic,
    });
    createDashboard(this, {
      config,
      functions: this.functions,
      stateMachine: this.stateMachine,
      deadLetterQueue: notifications.deadLetterQueue,
      alarms: this.alarms,
    });
    acknowledgeUnavoidableFindings({
      lambdaRoles: Object.values(this.functions).map((f) => f.role),
      brokerRoles: [tokenBroker.role, connectionAdmin.role],
      refreshScheduleArn,
      sourceReaderRoles: [planSync.role, syncChunk.role, hdlLoad.role, preflight.role],
      sourceObjectsArn: sourceObjects,
      manifest: { writerRoles: [planSync.role, hdlLoad.role], objectsArn: manifestObjects },
      stateMachine: this.stateMachine,
    });
    this.addOutputs(config, data, notifications, scheduling);
    // Last: it reads the key policy as rendered, after every construct has added to it.
    this.limitLogDeliveryToThisAccount(key);
  }

  private createStateMachine(
    config: StackConfig,
    data: DataLayer,
    fns: Pick<Record<FunctionKey, ProjectFunction>, 'planSync' | 'syncChunk' | 'finishSync' | 'hdlLoad'>,
  ): sfn.StateMachine {
    // A scope of its own: the builder names states PlanSync etc., which must not collide with the functions.
    const definition = buildSyncDefinition(
      new Construct(this, 'SyncDefinition'),
      { plan: fns.planSync.fn, chunk: fns.syncChunk.fn, finish: fns.finishSync.fn, hdl: fns.hdlLoad.fn },
      {
        maxConcurrency: config.chunkConcurrency,
        distributed: { bucket: data.sourceBucket },
      },
    );
    // The /aws/vendedlogs/ prefix keeps Step Functions' log delivery out of the account-wide
    // CloudWatch Logs resource policy size limit.
    const logGroup = projectLogGroup(this, 'SyncStateMachineLogs', config, data.logKey, {
      logGroupName: `/aws/vendedlogs/states/${config.namePrefix}-sync`,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    return new sfn.StateMachine(this, 'SyncStateMachine', {
      stateMachineName: syncStateMachineName(config),
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: STATE_MACHINE_TIMEOUT,
      tracingEnabled: true,
      // ALL events, but never the payloads: execution history is readable by many people.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      encryptionConfiguration: new sfn.CustomerManagedEncryptionConfiguration(data.key, Duration.minutes(5)),
    });
  }

  /**
   * CDK's state machine adds `kms:Decrypt*` for delivery.logs.amazonaws.com to the key policy (log
   * delivery of an encrypted state machine) with no condition: any account's log delivery could ask.
   * The statement is found in the resolved policy and given aws:SourceAccount.
   */
  private limitLogDeliveryToThisAccount(key: kms.Key): void {
    const cfnKey = key.node.defaultChild as kms.CfnKey;
    const doc = this.resolve(cfnKey.keyPolicy) as { Statement: { Principal?: { Service?: unknown } }[] };
    const index = doc.Statement.findIndex((st) => st.Principal?.Service === 'delivery.logs.amazonaws.com');
    if (index < 0) return;
    cfnKey.addPropertyOverride(`KeyPolicy.Statement.${index}.Condition`, {
      StringEquals: { 'aws:SourceAccount': this.account },
    });
  }

  /**
   * Runs always end (docs/invariants.md, invariant 8): an execution that failed, timed out or was
   * aborted outside the state machine's own Catch (history limit, execution timeout, a human abort)
   * still finishes its run with sync.failed and gives the connection's run lease back. finish-sync
   * ignores the event of an older execution of a run that a resume has since restarted.
   */
  private finishEndedExecutions(finish: lambda.IFunction, notifications: Notifications): void {
    new events.Rule(this, 'ExecutionEndedRule', {
      description: 'sync executions that ended FAILED/TIMED_OUT/ABORTED -> finish-sync',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [this.stateMachine.stateMachineArn],
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
    }).addTarget(
      new targets.LambdaFunction(finish, {
        deadLetterQueue: notifications.deadLetterQueue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
      }),
    );
  }

  /**
   * Say at synth what the account must allow: a run's peak concurrency beyond a new account's quota,
   * and a broker reservation (opt-in) the quota may not leave room for.
   */
  private noteReservedConcurrency(config: StackConfig): void {
    const peak = peakConcurrency(config.chunkConcurrency);
    if (config.lambdaConcurrencyQuota === undefined && peak > NEW_ACCOUNT_CONCURRENCY) {
      Annotations.of(this).addWarningV2(
        'hcm-goal-sync:peak-concurrency',
        `chunkConcurrency=${config.chunkConcurrency} needs up to ${peak} concurrent Lambda executions; a new account ` +
          `may allow ${NEW_ACCOUNT_CONCURRENCY}, and its throttles page every *Throttles alarm. Check with ` +
          "'aws lambda get-account-settings' and pass -c lambdaConcurrencyQuota=N to have synth check it.",
      );
    }
    const reserved = config.brokerReservedConcurrency;
    if (reserved === undefined || config.lambdaConcurrencyQuota !== undefined) return;
    Annotations.of(this.functions.tokenBroker.fn).addWarningV2(
      'hcm-goal-sync:reserved-concurrency',
      `brokerReservedConcurrency=${reserved} reserves ${reserved} executions: the account's Lambda concurrency ` +
        `quota must be at least ${reserved + LAMBDA_UNRESERVED_MINIMUM} (new accounts may start at 10), or ` +
        "`cdk deploy` fails. Check with 'aws lambda get-account-settings' and pass -c lambdaConcurrencyQuota=N " +
        'to have synth check it.',
    );
  }

  /** Output ids are the keys the AWS-mode CLI reads (cli/aws/stack-outputs.ts; a test keeps them equal). */
  private addOutputs(
    config: StackConfig,
    data: DataLayer,
    notifications: Notifications,
    scheduling: Scheduling,
  ) {
    const out = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    out('StateMachineArn', this.stateMachine.stateMachineArn, 'goal-sync start|status|resume');
    out('TokenBrokerFunctionName', this.functions.tokenBroker.fn.functionName, 'the pipeline only (tokens)');
    out(
      'ConnectionAdminFunctionName',
      this.functions.connectionAdmin.fn.functionName,
      'goal-sync connect (takes a code, returns no token)',
    );
    out(
      'PreflightFunctionName',
      this.functions.preflight.fn.functionName,
      'goal-sync preflight (checks with the pipeline rights, returns no token)',
    );
    out('ConnectionTableName', data.connectionTable.tableName, 'tokens and leases');
    out('CheckpointTableName', data.checkpointTable.tableName, 'runs, records, ledger');
    out('SourceBucketName', data.sourceBucket.bucketName, 'upload sync input files here');
    out('EventBusName', notifications.bus.eventBusName, 'connection.* and sync.* events');
    out('NotificationTopicArn', notifications.topic.topicArn, 'alarms and reauth notices');
    out('ScheduleGroupName', scheduling.group.scheduleGroupName, 'refresh schedules and sweeper');
    out(
      'ConnectionSecretPrefix',
      connectionSecretPrefix(config),
      'a connection secret is <prefix><connectionId>',
    );
    out(
      'ConnectionSecretNames',
      config.connectionIds.map((id) => connectionSecretName(config, id)).join(','),
      'Secrets Manager secrets holding each connection client credentials',
    );
    out(
      'IdpTokenUrl',
      config.idpTokenUrl,
      'IDCS token endpoint: the only one the broker sends credentials to',
    );
    out('DefaultConnectionId', config.defaultConnectionId, 'goal-sync start default');
    out(
      'RunOperatorPolicyArn',
      this.operatorPolicies.runOperator.managedPolicyArn,
      'attach to the run operators: goal-sync start|status|resume',
    );
    out(
      'ConnectionAdminPolicyArn',
      this.operatorPolicies.connectionAdmin.managedPolicyArn,
      'attach to the connection admins: goal-sync connect, put the client credentials',
    );
  }
}

/** The sync state machine's name: what finish-sync's name-built ARN and the state machine share. */
function syncStateMachineName(config: Pick<StackConfig, 'namePrefix'>): string {
  return `${config.namePrefix}-sync`;
}
