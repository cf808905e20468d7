import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { mappingToEnv } from '#core/hcm/index.ts';
import { ENV } from '../lambdas/core/env.ts';
import type { DataLayer } from './data.ts';
import { createProjectFunction, type ProjectFunction } from './functions.ts';
import { ACTIONS, policyOf } from './permissions.ts';
import type { StackConfig } from './stack-config.ts';

export interface PreflightProps {
  config: StackConfig;
  data: DataLayer;
  /** The token hand-out: the preflight asks it for the connection's token, as plan-sync does. */
  tokenBroker: lambda.IFunction;
}

/**
 * `goal-sync preflight --stack`'s function (lambdas/preflight): the pipeline's HCM rights and nothing
 * more: the broker's token for a connection, the stack's hcmBaseUrl, sources of the source bucket. It
 * answers check results, never a token, so the run operator may invoke it (the broker stays theirs).
 */
export function createPreflight(scope: Construct, p: PreflightProps): ProjectFunction {
  const { config, data } = p;
  const fn = createProjectFunction(scope, 'Preflight', {
    key: 'preflight',
    config,
    logKey: data.logKey,
    environment: {
      [ENV.tokenBrokerFunction]: p.tokenBroker.functionName,
      [ENV.hcmBaseUrl]: config.hcmBaseUrl,
      [ENV.sourceBucket]: data.sourceBucket.bucketName,
      [ENV.connectionId]: config.defaultConnectionId,
      // The tenant's codes, as sync-chunk maps records with them: the lookup check compares these.
      [ENV.goalMapping]: mappingToEnv(config.goalMapping),
      // The ceiling it reports and keeps to (it never probes overload).
      [ENV.hcmMaxRequestsPerSecond]: String(config.hcmMaxRequestsPerSecond),
    },
  });
  policyOf(fn.role)
    .add('ReadSource', ACTIONS.readSource, [data.sourceBucket.arnForObjects('*')])
    .keyVia('ReadSourceKey', data.key, 's3', ACTIONS.bucketKey)
    .add('InvokeTokenBroker', ACTIONS.invoke, [p.tokenBroker.functionArn]);
  return fn;
}
