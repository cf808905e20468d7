import type * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { ENV } from '../lambdas/core/env.ts';
import { connectionSecretPrefix, type DataLayer } from './data.ts';
import { createProjectFunction, type ProjectFunction } from './functions.ts';
import type { Notifications } from './notifications.ts';
import { ACTIONS, policyOf, tokenEnvelopeConditions } from './permissions.ts';
import type { Scheduling } from './scheduling.ts';
import { type StackConfig, tokenEndpointInstances } from './stack-config.ts';

export interface ConnectionAdminProps {
  config: StackConfig;
  data: DataLayer;
  notifications: Notifications;
  scheduling: Scheduling;
  /** The token broker's ARN: the target of the proactive schedule connect creates. */
  brokerArn: string;
}

/**
 * `goal-sync connect`'s entry point (lambdas/connection-admin): the broker's connect in process, with
 * the same store and key. People may invoke this one, never the token broker, whose get/refresh hand
 * out tokens (docs/deploy.md, "The person-facing policies").
 */
/**
 * What the token broker and connection-admin functions both read (lambdas/core/adapters/aws/broker-deps.ts):
 * the connection store, its key, events, the schedules that target the broker, and the one token
 * endpoint credentials may be sent to.
 */
export function brokerEnvironment(
  p: Pick<ConnectionAdminProps, 'config' | 'data' | 'notifications' | 'scheduling' | 'brokerArn'>,
): Record<string, string> {
  return {
    [ENV.connectionTable]: p.data.connectionTable.tableName,
    [ENV.kmsKeyId]: p.data.key.keyArn,
    [ENV.eventBusName]: p.notifications.bus.eventBusName,
    [ENV.scheduleGroup]: p.scheduling.group.scheduleGroupName,
    [ENV.schedulerRoleArn]: p.scheduling.brokerTargetRole.roleArn,
    [ENV.brokerFunctionArn]: p.brokerArn,
    [ENV.tokenBufferSeconds]: String(p.config.tokenBufferSeconds),
    [ENV.tokenEndpointInstances]: String(tokenEndpointInstances(p.config)),
    [ENV.idpTokenUrl]: p.config.idpTokenUrl,
  };
}

export function createConnectionAdmin(scope: Construct, p: ConnectionAdminProps): ProjectFunction {
  const { config, data } = p;
  return createProjectFunction(scope, 'ConnectionAdmin', {
    key: 'connectionAdmin',
    config,
    logKey: data.logKey,
    environment: {
      ...brokerEnvironment(p),
      [ENV.connectionSecretPrefix]: connectionSecretPrefix(config),
    },
  });
}

/**
 * The broker's connect, in the connection-admin function: one connection item at a time (no scan, no
 * stream), the broker's envelope condition, the secrets read (never written) and the schedules.
 */
export function grantConnectionAdmin(
  role: iam.Role,
  p: Pick<ConnectionAdminProps, 'data' | 'notifications'> & {
    schedulerTargetRole: iam.IRole;
    refreshScheduleArn: string;
  },
): void {
  const key = p.data.key;
  policyOf(role)
    .table('ConnectionTable', p.data.connectionTable, ACTIONS.connectionItem, key)
    .add('TokenEnvelopes', ACTIONS.envelope, [key.keyArn], tokenEnvelopeConditions())
    .add(
      'ClientCredentials',
      ACTIONS.readSecret,
      [...p.data.secrets.values()].map((s) => s.secretArn),
    )
    .keyVia('ClientCredentialsKey', key, 'secretsmanager', ACTIONS.secretKey)
    .add('RefreshSchedules', ACTIONS.refreshSchedules, [p.refreshScheduleArn])
    .add('PassSchedulerRole', ['iam:PassRole'], [p.schedulerTargetRole.roleArn], {
      StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' },
    })
    .add('ConnectionEvents', ACTIONS.putEvents, [p.notifications.bus.eventBusArn]);
}
