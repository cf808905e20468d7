import { beforeAll, describe, expect, it } from 'vitest';
import { proactiveScheduleName } from '#core/token/index.ts';
import { WILDCARD_REASONS } from '../../infra/nag.ts';
import { REFRESH_SCHEDULE_PREFIX } from '../../infra/scheduling.ts';
import { maskSecrets } from '../../lambdas/core/mask.ts';
import {
  asArray,
  type CfnTemplate,
  FULL_CONTEXT,
  flatten,
  identityStatements,
  resourcesOfType,
  roleLogicalId,
  type Statement,
  type Synthesized,
  synthesize,
} from './support.ts';

/** Actions that support no resource-level permissions, hence the only ones allowed on Resource "*". */
const RESOURCE_STAR_ACTIONS = new Set([
  'dynamodb:ListStreams',
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

/**
 * The complete list of wildcard resources the stack may grant (reasons in infra/nag.ts WILDCARD_REASONS).
 * Each entry: the actions it may carry and the flattened resource shape.
 */
function allowedWildcards(s: Synthesized) {
  const id = (c: unknown) => s.stack.getLogicalId((c as { node: { defaultChild: never } }).node.defaultChild);
  const bucket = id(s.stack.data.sourceBucket);
  const fnArns = (['planSync', 'syncChunk', 'finishSync', 'hdlLoad'] as const).map(
    (f) => `<${s.logicalIdOf(f)}.Arn>:*`,
  );
  return [
    {
      why: 'lambdaQualifiers',
      actions: ['lambda:InvokeFunction'],
      matches: (r: string) => fnArns.includes(r),
    },
    {
      why: 'sourceObjects',
      actions: ['s3:GetObject', 's3:GetObjectVersion'],
      matches: (r: string) => r === `<${bucket}.Arn>/*`,
    },
    { why: 'manifests', actions: ['s3:PutObject'], matches: (r: string) => r === `<${bucket}.Arn>/runs/*` },
    {
      why: 'operatorUploads',
      actions: ['s3:PutObject'],
      matches: (r: string) => r === `<${bucket}.Arn>/uploads/*`,
    },
    {
      why: 'manifestRead',
      actions: ['s3:GetObject'],
      matches: (r: string) => r === `arn:<AWS::Partition>:s3:::<${bucket}>/*`,
    },
    {
      why: 'refreshSchedules',
      actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'],
      matches: (r: string) =>
        r ===
        `arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${s.config.namePrefix}/${REFRESH_SCHEDULE_PREFIX}*`,
    },
    {
      why: 'childExecutions',
      actions: ['states:DescribeExecution', 'states:StopExecution', 'states:RedriveExecution'],
      matches: (r: string) =>
        /^arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:.+:\*$/.test(r),
    },
  ] as const;
}

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

function keyPolicies(json: CfnTemplate): Statement[] {
  return resourcesOfType(json, 'AWS::KMS::Key').flatMap(
    ([, p]) => (p.KeyPolicy as { Statement: Statement[] }).Statement,
  );
}

describe.each([
  ['inline Map', FULL_CONTEXT],
  ['Distributed Map', { ...FULL_CONTEXT, distributedMap: 'true', chunkConcurrency: '60' }],
])('%s: least privilege', (_name, context) => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthesize({ context });
  });

  it('grants no wildcard action anywhere in identity policies', () => {
    const wild = identityStatements(s.json)
      .filter(({ statement }) => statement.Effect === 'Allow')
      .flatMap(({ statement }) => asArray(statement.Action).filter((a) => a.includes('*')));
    expect(wild).toEqual([]);
  });

  it('uses Resource "*" only for actions that have no resource-level permissions', () => {
    for (const { statement } of identityStatements(s.json)) {
      if (!asArray(statement.Resource).includes('*')) continue;
      for (const action of asArray(statement.Action)) expect(RESOURCE_STAR_ACTIONS, action).toContain(action);
    }
  });

  it('has no other wildcard resource than the listed, reasoned ones', () => {
    const allowed = allowedWildcards(s);
    const seen = new Set<string>();
    for (const { statement } of identityStatements(s.json)) {
      if (statement.Effect !== 'Allow') continue;
      for (const resource of asArray(statement.Resource).map(flatten)) {
        if (resource === '*' || !resource.includes('*')) continue;
        const entry = allowed.find(
          (a) =>
            a.matches(resource) &&
            asArray(statement.Action).every((x) => (a.actions as readonly string[]).includes(x)),
        );
        expect(entry, `${resource} for ${asArray(statement.Action).join(',')}`).toBeDefined();
        seen.add(entry!.why);
        expect(WILDCARD_REASONS[entry!.why].length).toBeGreaterThan(40);
      }
    }
    expect(seen).toContain('refreshSchedules');
    expect(seen).toContain('sourceObjects');
  });

  it('gives each Lambda its own role with no managed policy, assumable by Lambda only', () => {
    for (const fn of ['tokenBroker', 'planSync', 'syncChunk', 'finishSync'] as const) {
      const role = s.json.Resources[roleLogicalId(s, fn)]!.Properties!;
      expect(role.ManagedPolicyArns).toBeUndefined();
      expect(role.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
        ],
      });
    }
    expect(
      resourcesOfType(s.json, 'AWS::IAM::Role').filter(([, p]) => p.ManagedPolicyArns !== undefined),
    ).toEqual([]);
  });

  it('lets only the broker use the data key directly, for its envelope context; everyone else through a service', () => {
    const keyId = s.stack.getLogicalId(s.stack.data.key.node.defaultChild as never);
    const onKey = identityStatements(s.json).filter(
      ({ statement }) => statement.Effect === 'Allow' && flatten(statement.Resource) === `<${keyId}.Arn>`,
    );
    // Nothing on the key without a condition.
    expect(onKey.filter(({ statement }) => statement.Condition === undefined)).toEqual([]);
    const direct = onKey.filter(
      ({ statement }) => !JSON.stringify(statement.Condition).includes('kms:ViaService'),
    );
    const envelope = direct.filter(({ statement }) => statement.Sid === 'TokenEnvelopes');
    // The broker's code: in the token broker, and in the connection-admin function for `connect`.
    expect(envelope.map((d) => d.roles).sort()).toEqual(
      [[roleLogicalId(s, 'connectionAdmin')], [roleLogicalId(s, 'tokenBroker')]].sort(),
    );
    for (const { statement } of envelope) {
      expect(statement.Action).toEqual(['kms:GenerateDataKey', 'kms:Decrypt']);
      expect(statement.Condition).toEqual({
        'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['connectionId', 'purpose'] },
        Null: { 'kms:EncryptionContext:connectionId': 'false', 'kms:EncryptionContext:purpose': 'false' },
        StringEquals: { 'kms:EncryptionContext:purpose': ['access', 'refresh'] },
      });
    }
    // The rest of the direct uses are Step Functions' own context (execution data, log delivery).
    for (const { statement } of direct.filter(({ statement }) => statement.Sid !== 'TokenEnvelopes')) {
      expect(Object.keys(statement.Condition?.StringEquals ?? {})).toEqual([
        expect.stringMatching(/^kms:EncryptionContext:(aws:states:stateMachineArn|SourceArn)$/),
      ]);
    }
  });

  it('lets the broker manage only its own refresh schedules and pass only the scheduler role, to Scheduler', () => {
    const broker = roleLogicalId(s, 'tokenBroker');
    const mine = identityStatements(s.json)
      .filter(({ roles }) => roles.includes(broker))
      .map((x) => x.statement);
    const schedules = mine.find((st) => asArray(st.Action).includes('scheduler:CreateSchedule'))!;
    const pattern = glob(flatten(schedules.Resource).replace(/^.*:schedule\//, ''));
    // The names the broker really uses (short id and the hashed form for long ids) fall inside the grant.
    for (const connectionId of ['acme', 'x'.repeat(80)]) {
      expect(`${s.config.namePrefix}/${proactiveScheduleName(connectionId)}`).toMatch(pattern);
    }
    expect(`${s.config.namePrefix}/some-other-schedule`).not.toMatch(pattern);
    expect(`other-group/${proactiveScheduleName('acme')}`).not.toMatch(pattern);

    const passRole = mine.filter((st) => asArray(st.Action).includes('iam:PassRole'));
    expect(passRole).toHaveLength(1);
    const schedulerRole = s.stack.getLogicalId(
      s.stack.scheduling.brokerTargetRole.node.defaultChild as never,
    );
    expect(passRole[0]!.Resource).toEqual({ 'Fn::GetAtt': [schedulerRole, 'Arn'] });
    expect(passRole[0]!.Condition).toEqual({
      StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' },
    });
    // No other role may pass roles at all.
    const passers = identityStatements(s.json).filter(({ statement }) =>
      asArray(statement.Action).includes('iam:PassRole'),
    );
    // The connection-admin function runs the broker's connect, which schedules the proactive refresh.
    expect(passers.map((p) => p.roles).sort()).toEqual(
      [[broker], [roleLogicalId(s, 'connectionAdmin')]].sort(),
    );
  });

  it('lets Scheduler assume its roles only for this account and this schedule group', () => {
    const schedulerRoles = resourcesOfType(s.json, 'AWS::IAM::Role').filter(([, p]) =>
      JSON.stringify(p.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'),
    );
    expect(schedulerRoles.length).toBe(2); // broker target + nightly sync
    const groupId = s.stack.getLogicalId(s.stack.scheduling.group.node.defaultChild as never);
    for (const [, p] of schedulerRoles) {
      const [st] = (p.AssumeRolePolicyDocument as { Statement: Statement[] }).Statement;
      expect(st!.Condition).toEqual({
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [groupId, 'Arn'] } },
      });
    }
    const nightly = s.stack.getLogicalId(s.stack.scheduling.nightlySyncRole!.node.defaultChild as never);
    const grants = identityStatements(s.json).filter(({ roles }) => roles.includes(nightly));
    // The schedules invoke the starter, which names the execution (issue 25); they start nothing themselves.
    expect(grants.flatMap((g) => asArray(g.statement.Action)).sort()).toEqual([
      'lambda:InvokeFunction',
      'sqs:SendMessage',
    ]);
    const starter = s.stack.getLogicalId(s.stack.functions.scheduleStarter.role.node.defaultChild as never);
    const starterGrants = identityStatements(s.json).filter(({ roles }) => roles.includes(starter));
    expect(
      starterGrants
        .flatMap((g) => asArray(g.statement.Action))
        .filter((a) => !a.startsWith('logs:') && !a.startsWith('xray:'))
        .sort(),
    ).toEqual(['kms:Decrypt', 'kms:GenerateDataKey', 'states:StartExecution']);
    // The key only for this state machine's execution data.
    const keyGrant = starterGrants.find((g) => asArray(g.statement.Action).includes('kms:Decrypt'))!;
    expect(keyGrant.statement.Condition).toEqual({
      StringEquals: {
        'kms:EncryptionContext:aws:states:stateMachineArn': {
          Ref: s.stack.getLogicalId(s.stack.stateMachine.node.defaultChild as never),
        },
      },
    });
  });

  it('keeps key policies to account administration plus named services with data-key actions only', () => {
    for (const st of keyPolicies(s.json)) {
      const actions = asArray(st.Action);
      if (st.Effect === 'Deny') {
        // CT.KMS.PR.3: the one Deny, grants only for AWS services on AWS resources.
        expect(actions).toEqual(['kms:CreateGrant']);
        expect(st.Condition).toEqual({
          BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' },
        });
        continue;
      }
      expect(st.Principal).not.toBe('*');
      expect(JSON.stringify(st.Principal)).not.toMatch(/"AWS":"\*"/);
      if (actions.includes('kms:*')) {
        expect(flatten((st.Principal as { AWS: unknown }).AWS)).toBe(
          'arn:<AWS::Partition>:iam::<AWS::AccountId>:root',
        );
        continue;
      }
      const service = flatten((st.Principal as { Service?: unknown }).Service ?? '');
      if (!service) continue;
      if (service === 'logs.<AWS::Region>.amazonaws.com') {
        // The logs key: this account's log groups only.
        expect(flatten(st.Condition?.ArnLike?.['kms:EncryptionContext:aws:logs:arn'])).toBe(
          'arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*',
        );
        continue;
      }
      expect(['cloudwatch.amazonaws.com', 'events.amazonaws.com', 'delivery.logs.amazonaws.com']).toContain(
        service,
      );
      for (const a of actions) expect(a).toMatch(/^kms:(Decrypt|GenerateDataKey)\*?$/);
      if (service === 'delivery.logs.amazonaws.com') {
        expect(st.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } });
      }
    }
  });
});

describe('no secrets in the template', () => {
  let s: Synthesized;
  let text: string;
  beforeAll(() => {
    s = synthesize({ context: FULL_CONTEXT });
    text = JSON.stringify(s.json);
  });

  it('contains nothing the project masker would mask (JWTs, Bearer/Basic credentials, token fields)', () => {
    expect(maskSecrets(text)).toBe(text);
    // The detector is live: a token planted in a copy of the template is found.
    const jwt = `eyJhbGciOiJSUzI1NiJ9.${'eyJzdWIiOiJ4In0'}.${'c2lnbmF0dXJlLXZhbHVl'}`;
    const planted = text.replace('REPLACE_WITH_IDCS_CLIENT_ID', jwt);
    expect(planted).not.toBe(text);
    expect(maskSecrets(planted)).not.toBe(planted);
  });

  it('creates secrets without values (generated at deploy time) and holds no private keys or passwords', () => {
    for (const [, p] of resourcesOfType(s.json, 'AWS::SecretsManager::Secret'))
      expect(p.SecretString).toBeUndefined();
    expect(text).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
    expect(text).not.toMatch(
      /"(clientSecret|client_secret|password|refresh_token|access_token)"\s*:\s*"[^"]/i,
    );
  });

  it('puts only names, ARNs and settings in Lambda environments', () => {
    for (const [, p] of resourcesOfType(s.json, 'AWS::Lambda::Function')) {
      const vars = (p.Environment as { Variables: Record<string, unknown> }).Variables;
      for (const [name, value] of Object.entries(vars)) {
        // CONNECTION_SECRET_PREFIX holds a name prefix (connection-admin's secrets), checked by value below.
        expect(name).not.toMatch(/SECRET(?!_PREFIX$)|PASSWORD|PRIVATE/);
        if (typeof value === 'string') expect(maskSecrets(value), name).toBe(value);
      }
    }
  });
});

describe('service principals of the notification key and topic are limited to this account', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthesize({ context: FULL_CONTEXT });
  });
  const idOf = (c: { node: { defaultChild?: unknown } }) =>
    s.stack.getLogicalId(c.node.defaultChild as never);
  /** AWS sends no aws:SourceAccount/aws:SourceArn with the KMS request of an EventBridge delivery. */
  const NO_SOURCE_KEYS = new Set(['events.amazonaws.com']);

  it('every service statement of the topic key names the source account and source ARN (EventBridge excepted, with its reason)', () => {
    const key = s.json.Resources[idOf(s.stack.notifications.topicKey)]!.Properties as {
      KeyPolicy: { Statement: Statement[] };
    };
    const services = key.KeyPolicy.Statement.filter(
      (st) => st.Effect === 'Allow' && (st.Principal as { Service?: string } | undefined)?.Service,
    );
    expect(services.length).toBeGreaterThanOrEqual(2);
    for (const st of services) {
      const service = (st.Principal as { Service: string }).Service;
      if (NO_SOURCE_KEYS.has(service)) continue;
      expect(st.Condition?.StringEquals?.['aws:SourceAccount'], service).toEqual({ Ref: 'AWS::AccountId' });
      expect(flatten(st.Condition?.ArnLike?.['aws:SourceArn']), service).toBe(
        'arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:*',
      );
    }
  });

  it("the topic policy lets EventBridge publish for this account's notification rules only", () => {
    const [, policy] = resourcesOfType(s.json, 'AWS::SNS::TopicPolicy')[0]!;
    const statements = (policy.PolicyDocument as { Statement: Statement[] }).Statement.filter(
      (st) => st.Effect === 'Allow',
    );
    expect(statements).toHaveLength(1);
    const [st] = statements;
    expect(st!.Principal).toEqual({ Service: 'events.amazonaws.com' });
    expect(st!.Condition?.StringEquals?.['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
    const rules = [...s.stack.notifications.rules.values()].map((r) => ({ 'Fn::GetAtt': [idOf(r), 'Arn'] }));
    expect(st!.Condition?.ArnEquals?.['aws:SourceArn']).toEqual(rules);
  });
});
