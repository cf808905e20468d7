import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
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
  tokenBroker: lambda.IFunction;
  namePrefix: string;
}

/**
 * The OPERATOR managed policy: exactly what a human needs for `goal-sync start|status|resume|connect`
 * (including `start --upload`, which may write under uploads/ of the source bucket only)
 * (cli/aws/operator-calls.ts lists the calls; the permission-coverage test checks each). Attach it to
 * the operators' role or group; the stack attaches it to nobody.
 */
export function createOperatorPolicy(scope: Construct, props: OperatorPolicyProps): iam.ManagedPolicy {
  const stack = Stack.of(scope);
  const { data, stateMachine } = props;
  const executions = stack.formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${stateMachine.stateMachineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  const uploads = data.sourceBucket.arnForObjects(`${UPLOAD_PREFIX}*`);
  const via = (service: string) => ({
    StringEquals: { 'kms:ViaService': `${service}.${stack.region}.amazonaws.com` },
  });
  const policy = new iam.ManagedPolicy(scope, 'OperatorPolicy', {
    managedPolicyName: `${props.namePrefix}-operator`,
    description: 'hcm-goal-sync operator: goal-sync start, status, resume and connect for this stack',
    statements: [
      new iam.PolicyStatement({
        sid: 'ReadStackOutputs',
        actions: ['cloudformation:DescribeStacks'],
        resources: [stack.stackId],
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
        sid: 'AskTokenBroker',
        actions: ['lambda:InvokeFunction'],
        resources: [props.tokenBroker.functionArn],
      }),
      new iam.PolicyStatement({
        sid: 'ReadRunCheckpoints',
        actions: ['dynamodb:GetItem', 'dynamodb:Query'],
        resources: [data.checkpointTable.tableArn],
      }),
      new iam.PolicyStatement({
        sid: 'ReadRunCheckpointsKey',
        actions: ['kms:Decrypt'],
        resources: [data.key.keyArn],
        conditions: via('dynamodb'),
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
      new iam.PolicyStatement({
        sid: 'ConnectCredentials',
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
        resources: [...data.secrets.values()].map((s) => s.secretArn),
      }),
      new iam.PolicyStatement({
        sid: 'ConnectCredentialsKey',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [data.key.keyArn],
        conditions: via('secretsmanager'),
      }),
    ],
  });
  Validations.of(policy).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagResourceId(policy, executions)}]`,
    reason:
      'Execution names are run ids chosen per run (and <runId>-r<n> for resumes): status/resume read and ' +
      'redrive executions of this one state machine only.',
  });
  Validations.of(policy).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagResourceId(policy, uploads)}]`,
    reason: WILDCARD_REASONS.operatorUploads,
  });
  return policy;
}
