import {
  type CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { ConfigError } from '../../lambdas/core/errors.ts';

/**
 * The CloudFormation output keys the deployed stack emits and the CLI reads. The CDK stack uses
 * exactly these keys (CfnOutput ids), so the two sides cannot drift without a test noticing.
 */
export const STACK_OUTPUTS = {
  stateMachineArn: 'StateMachineArn',
  checkpointTableName: 'CheckpointTableName',
  connectionTableName: 'ConnectionTableName',
  tokenBrokerFunctionName: 'TokenBrokerFunctionName',
  /** `goal-sync connect`'s entry point: takes a code or a refresh token, never returns a token. */
  connectionAdminFunctionName: 'ConnectionAdminFunctionName',
  sourceBucketName: 'SourceBucketName',
  /** `goal-sync preflight --stack`: runs the checks with the pipeline's rights, returns no token. */
  preflightFunctionName: 'PreflightFunctionName',
  /** A connection's secret id is `${ConnectionSecretPrefix}${connectionId}`. */
  connectionSecretPrefix: 'ConnectionSecretPrefix',
  eventBusName: 'EventBusName',
  /** Optional: the IdP token endpoint the broker is pinned to (connect derives the authorize URL). */
  idpTokenUrl: 'IdpTokenUrl',
  /** Optional: the connection `start` uses without --connection (else 'oracle-hcm'). */
  defaultConnectionId: 'DefaultConnectionId',
} as const;

export type StackOutputKey = (typeof STACK_OUTPUTS)[keyof typeof STACK_OUTPUTS];

/** Outputs a stack may legitimately lack. */
export const OPTIONAL_STACK_OUTPUTS: readonly StackOutputKey[] = [
  STACK_OUTPUTS.idpTokenUrl,
  STACK_OUTPUTS.defaultConnectionId,
];

export const FALLBACK_CONNECTION_ID = 'oracle-hcm';

export type StackOutputs<R extends StackOutputKey = never> = Partial<Record<StackOutputKey, string>> &
  Record<R, string>;

// Stacks in these states have no usable resources (or are being torn down).
const UNUSABLE_STATUS = /^(DELETE_|ROLLBACK_COMPLETE$|ROLLBACK_FAILED$|CREATE_FAILED$|CREATE_IN_PROGRESS$)/;

/**
 * Reads the stack's outputs and checks that every key in `required` is present and non-empty.
 * All missing keys are named in one error, so a stale deployment is diagnosed in one go.
 */
export async function discoverStack<R extends StackOutputKey>(
  cfn: CloudFormationClient,
  stackName: string,
  required: readonly R[],
): Promise<StackOutputs<R>> {
  let stacks: DescribeStacksCommandOutput;
  try {
    stacks = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
  } catch (err) {
    // CloudFormation answers a missing stack with a generic ValidationError.
    if (err instanceof Error && err.name === 'ValidationError' && /does not exist/i.test(err.message)) {
      throw new ConfigError(`stack '${stackName}' does not exist in this account/region (check --region)`);
    }
    throw err;
  }
  const stack = stacks.Stacks?.[0];
  if (!stack) throw new ConfigError(`stack '${stackName}' does not exist in this account/region`);
  if (stack.StackStatus && UNUSABLE_STATUS.test(stack.StackStatus)) {
    throw new ConfigError(`stack '${stackName}' is ${stack.StackStatus}: deploy it first`);
  }
  const outputs: Partial<Record<StackOutputKey, string>> = {};
  const known = new Set<string>(Object.values(STACK_OUTPUTS));
  for (const output of stack.Outputs ?? []) {
    if (output.OutputKey && known.has(output.OutputKey) && output.OutputValue) {
      outputs[output.OutputKey as StackOutputKey] = output.OutputValue;
    }
  }
  return requireOutputs(outputs, stackName, required);
}

/** Narrows already-read outputs to the ones a later step needs, with the same error as discoverStack. */
export function requireOutputs<R extends StackOutputKey, O extends Partial<Record<StackOutputKey, string>>>(
  outputs: O,
  stackName: string,
  required: readonly R[],
): O & Record<R, string> {
  const missing = required.filter((key) => !outputs[key]);
  if (missing.length > 0) {
    throw new ConfigError(
      `stack '${stackName}' lacks the output(s) ${missing.join(', ')}: deploy a stack version that emits them`,
    );
  }
  return outputs as O & Record<R, string>;
}
