import { beforeAll, describe, expect, it } from 'vitest';
import { FULL_CONTEXT, type Synthesized, synthesize } from './support.ts';

/**
 * A failed first deploy can be retried (issue 27): CloudFormation keeps a `Retain` resource when it rolls
 * back a failed create, and a kept resource with a fixed name makes the next deploy fail with "already
 * exists". Stateful resources are kept on update and delete (RetainExceptOnCreate) instead.
 */
const NAME_PROPERTIES: Record<string, string> = {
  'AWS::SecretsManager::Secret': 'Name',
  'AWS::Scheduler::ScheduleGroup': 'Name',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::KMS::Alias': 'AliasName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::S3::Bucket': 'BucketName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::Events::EventBus': 'Name',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::CloudWatch::Dashboard': 'DashboardName',
};

/**
 * Kept even when a first create fails, each with its reason: deletion protection would stop the
 * rollback from deleting it, and its generated name cannot collide with the retry's.
 */
const RETAINED_ON_CREATE: Record<string, string> = {
  DataConnectionTable: 'deletion protection; generated name',
  DataCheckpointTable: 'deletion protection; generated name',
};

let s: Synthesized;
beforeAll(() => {
  s = synthesize({ context: FULL_CONTEXT });
});

const resources = () => Object.entries(s.json.Resources) as [string, Record<string, unknown>][];
const named = (type: string, props: Record<string, unknown> | undefined) =>
  NAME_PROPERTIES[type] !== undefined && props?.[NAME_PROPERTIES[type]] !== undefined;

describe('a failed first deploy can be retried', () => {
  it('no resource with a fixed name is Retain on create', () => {
    const blocking = resources()
      .filter(([, r]) => r.DeletionPolicy === 'Retain')
      .filter(([, r]) => named(r.Type as string, r.Properties as Record<string, unknown>))
      .map(([id]) => id);
    expect(blocking).toEqual([]);
  });

  it('the only resources kept after a failed create are the two tables, for their stated reason', () => {
    const kept = resources()
      .filter(([, r]) => r.DeletionPolicy === 'Retain')
      .map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))
      .sort();
    expect(kept).toEqual(Object.keys(RETAINED_ON_CREATE).sort());
  });

  it('the stateful resources with fixed names are kept on update and delete (RetainExceptOnCreate)', () => {
    const fixed = resources().filter(
      ([, r]) =>
        ['AWS::SecretsManager::Secret', 'AWS::Scheduler::ScheduleGroup', 'AWS::KMS::Key'].includes(
          r.Type as string,
        ) ||
        (r.Type === 'AWS::Logs::LogGroup' &&
          String((r.Properties as Record<string, unknown>).LogGroupName ?? '').includes('/states/')),
    );
    // Two connection secrets, the schedule group, three keys, the state machine's log group.
    expect(fixed.length).toBeGreaterThanOrEqual(7);
    for (const [id, r] of fixed) {
      expect({ id, policy: r.DeletionPolicy }).toEqual({
        id,
        policy: expect.stringMatching(/^(RetainExceptOnCreate|Delete)$/),
      });
    }
    const kept = fixed.filter(([, r]) => r.DeletionPolicy === 'RetainExceptOnCreate').map(([, r]) => r.Type);
    expect(new Set(kept)).toEqual(
      new Set([
        'AWS::SecretsManager::Secret',
        'AWS::Scheduler::ScheduleGroup',
        'AWS::KMS::Key',
        'AWS::Logs::LogGroup',
      ]),
    );
  });
});
