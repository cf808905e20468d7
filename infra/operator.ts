import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { CONNECTION_PUBLIC_ATTRIBUTES } from '#core/token/index.ts';
import { UPLOAD_PREFIX } from '../lambdas/core/adapters/aws/aws-calls.ts';
import type { DataLayer } from './data.ts';
import { nagResourceId, WILDCARD_REASONS } from './nag.ts';

/** The context key Step Functions puts on every KMS call for a state machine's data. */
export const STATES_CONTEXT_KEY = 'kms:EncryptionContext:aws:states:stateMachineArn';

/** Start and read executions of exactly this state machine with its key (Scheduler role, operator). */
export function stateMachineKeyStatement(
  sid: string,
  key: kms.IKey,
  stateMachine: sfn.IStateMachine,
  actions: string[],
): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions,
    resources: [key.keyArn],
    conditions: { StringEquals: { [STATES_CONTEXT_KEY]: stateMachine.stateMachineArn } },
  });
}

export interface OperatorPolicyProps {
  data: DataLayer;
  stateMachine: sfn.StateMachine;
  /** `goal-sync connect`'s entry point (never the token broker, which hands out tokens). */
  connectionAdmin: lambda.IFunction;
  /** `goal-sync preflight --stack`: answers check results, never a token. */
  preflight: lambda.IFunction;
  namePrefix: string;
}

export interface OperatorPolicies {
  runOperator: iam.ManagedPolicy;
  connectionAdmin: iam.ManagedPolicy;
}

/**
 * The two person-facing managed policies, attached to nobody by the stack (cli/aws/operator-calls.ts
 * lists their calls; the permission-coverage test checks each, and that neither reaches a token):
 * - RUN OPERATOR: `goal-sync start|status|resume` (and `start --upload`, under uploads/ only). The
 *   connection's state is read from the connection table's non-secret attributes, never from the broker.
 * - CONNECTION ADMIN: `goal-sync connect` (invoke the connection-admin function, which takes a code or
 *   a refresh token and answers no token) and writing the client credentials into the connection
 *   secrets (write only: nobody reads a connection secret but the broker and the connection-admin function).
 */
export function createOperatorPolicies(scope: Construct, props: OperatorPolicyProps): OperatorPolicies {
  return {
    runOperator: runOperatorPolicy(scope, props),
    connectionAdmin: connectionAdminPolicy(scope, props),
  };
}

const readStackOutputs = (stack: Stack) =>
  new iam.PolicyStatement({
    sid: 'ReadStackOutputs',
    actions: ['cloudformation:DescribeStacks'],
    resources: [stack.stackId],
  });

function runOperatorPolicy(scope: Construct, props: OperatorPolicyProps): iam.ManagedPolicy {
  const stack = Stack.of(scope);
  const { data, stateMachine } = props;
  const executions = stack.formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${stateMachine.stateMachineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  const uploads = data.sourceBucket.arnForObjects(`${UPLOAD_PREFIX}*`);
  const policy = new iam.ManagedPolicy(scope, 'RunOperatorPolicy', {
    managedPolicyName: `${props.namePrefix}-run-operator`,
    description:
      'hcm-goal-sync run operator: goal-sync preflight, start, status and resume for this stack (no tokens)',
    statements: [
      readStackOutputs(stack),
      new iam.PolicyStatement({
        // goal-sync preflight: the function checks with the pipeline's rights and answers results only.
        sid: 'RunPreflight',
        actions: ['lambda:InvokeFunction'],
        resources: [props.preflight.functionArn],
      }),
      new iam.PolicyStatement({
        sid: 'StartAndListRuns',
        actions: ['states:StartExecution', 'states:ListExecutions'],
        resources: [stateMachine.stateMachineArn],
      }),
      new iam.PolicyStatement({
        // resume starts a new execution of the run (never a redrive), so no states:RedriveExecution.
        sid: 'ReadRuns',
        actions: ['states:DescribeExecution'],
        resources: [executions],
      }),
      stateMachineKeyStatement('RunDataKey', data.key, stateMachine, ['kms:GenerateDataKey', 'kms:Decrypt']),
      new iam.PolicyStatement({
        sid: 'ReadRunCheckpoints',
        actions: ['dynamodb:GetItem', 'dynamodb:Query'],
        resources: [data.checkpointTable.tableArn],
      }),
      new iam.PolicyStatement({
        // status/resume: the connection's state, its non-secret attributes only (never an envelope).
        // Null: a GetItem without a projection has no dynamodb:Attributes and would read everything.
        sid: 'ReadConnectionState',
        actions: ['dynamodb:GetItem'],
        resources: [data.connectionTable.tableArn],
        conditions: {
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...CONNECTION_PUBLIC_ATTRIBUTES] },
          Null: { 'dynamodb:Attributes': 'false' },
          StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
        },
      }),
      new iam.PolicyStatement({
        sid: 'ReadTablesKey',
        actions: ['kms:Decrypt'],
        resources: [data.key.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': `dynamodb.${stack.region}.amazonaws.com`,
            'kms:EncryptionContext:aws:dynamodb:tableName': [
              data.checkpointTable.tableName,
              data.connectionTable.tableName,
            ],
          },
        },
      }),
      // start --upload: a new object per run under uploads/; runs pin its VersionId.
      new iam.PolicyStatement({
        sid: 'UploadSources',
        actions: ['s3:PutObject'],
        resources: [uploads],
      }),
      new iam.PolicyStatement({
        sid: 'UploadSourcesKey',
        actions: ['kms:GenerateDataKey'],
        resources: [data.key.keyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': `s3.${stack.region}.amazonaws.com`,
            'kms:EncryptionContext:aws:s3:arn': data.sourceBucket.bucketArn,
          },
        },
      }),
    ],
  });
  Validations.of(policy).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagResourceId(policy, executions)}]`,
    reason:
      'Execution names are run ids chosen per run (and <runId>-r<n> for resumes): status/resume read ' +
      'executions of this one state machine only.',
  });
  Validations.of(policy).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagResourceId(policy, uploads)}]`,
    reason: WILDCARD_REASONS.operatorUploads,
  });
  return policy;
}

function connectionAdminPolicy(scope: Construct, props: OperatorPolicyProps): iam.ManagedPolicy {
  const stack = Stack.of(scope);
  const { data } = props;
  const secretArns = [...data.secrets.values()].map((s) => s.secretArn);
  return new iam.ManagedPolicy(scope, 'ConnectionAdminPolicy', {
    managedPolicyName: `${props.namePrefix}-connection-admin`,
    description: 'hcm-goal-sync connection admin: goal-sync connect and the client credentials (write only)',
    statements: [
      readStackOutputs(stack),
      new iam.PolicyStatement({
        sid: 'Connect',
        actions: ['lambda:InvokeFunction'],
        resources: [props.connectionAdmin.functionArn],
      }),
      new iam.PolicyStatement({
        // The IDCS client id and secret go in; nothing comes out (no GetSecretValue).
        sid: 'WriteClientCredentials',
        actions: ['secretsmanager:PutSecretValue'],
        resources: secretArns,
      }),
      new iam.PolicyStatement({
        sid: 'WriteClientCredentialsKey',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [data.key.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` },
        },
      }),
    ],
  });
}
