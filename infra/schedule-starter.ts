import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { ENV } from '../lambdas/core/env.ts';
import type { DataLayer } from './data.ts';
import { createProjectFunction, type ProjectFunction } from './functions.ts';
import { stateMachineKeyStatement } from './operator.ts';
import { policyOf } from './permissions.ts';
import type { StackConfig } from './stack-config.ts';

/**
 * The schedules' target (lambdas/schedule-starter): StartExecution of the sync state machine under the
 * name `nightly-`/`verify-YYYYMMDDTHHMMZ` (invariant 11). Created in every stack, so a schedule added
 * later needs no new function; without one it is never invoked.
 */
export function createScheduleStarter(
  scope: Construct,
  p: { config: StackConfig; data: DataLayer; stateMachine: sfn.IStateMachine; key: kms.IKey },
): ProjectFunction {
  const starter = createProjectFunction(scope, 'ScheduleStarter', {
    key: 'scheduleStarter',
    config: p.config,
    logKey: p.data.logKey,
    environment: { [ENV.stateMachineArn]: p.stateMachine.stateMachineArn },
  });
  policyOf(starter.role).add(
    'StartScheduledRun',
    ['states:StartExecution'],
    [p.stateMachine.stateMachineArn],
  );
  // StartExecution encrypts the input with the caller's rights: the key, for this state machine only.
  starter.role.addToPolicy(
    stateMachineKeyStatement('ExecutionInputKey', p.key, p.stateMachine, [
      'kms:GenerateDataKey',
      'kms:Decrypt',
    ]),
  );
  return starter;
}
