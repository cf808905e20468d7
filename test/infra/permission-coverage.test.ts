import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { proactiveScheduleName } from '#core/token/index.ts';
import { executionArnFor } from '../../cli/aws/executions.ts';
import { CONNECTION_ADMIN_CALLS, RUN_OPERATOR_CALLS } from '../../cli/aws/operator-calls.ts';
import {
  type AwsCall,
  CALLS,
  type Principal,
  type ResourceRef,
} from '../../lambdas/core/adapters/aws/aws-calls.ts';
import { CONNECTION_DUE_INDEX } from '../../lambdas/core/tables.ts';
import { type Env, ResolvedTemplate, withoutStatement } from './iam-template.ts';
import { actionsOf, FULL_CONTEXT, type Synthesized, synthesize } from './support.ts';

/**
 * Every AWS call in the inventories (lambdas/core/adapters/aws/aws-calls.ts, cli/aws/operator-calls.ts)
 * is evaluated offline (@cloud-copilot/iam-simulate, strict mode) against the synthesized template: the
 * principal's identity policies together with the resource's policy (key policy, bucket policy, queue
 * policy). Allowed for each; Denied for calls that must never be allowed.
 */
const ENV = { account: '111122223333', region: 'eu-central-1' };
const CONNECTION = 'acme';
const RUN_ID = 'run-20260101-020000-abcd';

let s: Synthesized;
let t: ResolvedTemplate;
let vars: Record<string, string>;
let arns: Record<Exclude<ResourceRef, 'ownLogGroup'>, string>;

const logicalId = (c: IConstruct) => Stack.of(c).getLogicalId(c.node.defaultChild as never);

beforeAll(() => {
  // The superset: nightly schedule, two connections; every stack has the Distributed Map branch (no flag).
  s = synthesize({ context: { ...FULL_CONTEXT }, env: ENV });
  const env: Env = { ...ENV, partition: 'aws', stackName: s.stack.stackName };
  t = new ResolvedTemplate(s.json, env);
  const str = (token: string) => String(t.resolve(s.stack.resolve(token)));
  const { data, notifications, scheduling, functions, stateMachine } = s.stack;
  const bucketArn = str(data.sourceBucket.bucketArn);
  const smArn = str(stateMachine.stateMachineArn);
  const group = str(scheduling.group.scheduleGroupName);
  const secret = data.secrets.get(CONNECTION);
  if (!secret) throw new Error(`no secret for ${CONNECTION}`);
  arns = {
    connectionTable: str(data.connectionTable.tableArn),
    connectionDueIndex: `${str(data.connectionTable.tableArn)}/index/${CONNECTION_DUE_INDEX.name}`,
    connectionStream: str(data.connectionStreamArn),
    checkpointTable: str(data.checkpointTable.tableArn),
    dataKey: str(data.key.keyArn),
    connectionSecret: str(secret.secretArn),
    sourceObject: `${bucketArn}/nightly/goals.jsonl`,
    uploadObject: `${bucketArn}/uploads/${RUN_ID}/goals.jsonl`,
    manifestObject: `${bucketArn}/runs/${RUN_ID}/attempt-0/chunks.json`,
    refreshSchedule: `arn:aws:scheduler:${ENV.region}:${ENV.account}:schedule/${group}/${proactiveScheduleName(CONNECTION)}`,
    schedulerTargetRole: str(scheduling.brokerTargetRole.roleArn),
    eventBus: str(notifications.bus.eventBusArn),
    tokenBroker: str(functions.tokenBroker.fn.functionArn),
    connectionAdmin: str(functions.connectionAdmin.fn.functionArn),
    planSync: str(functions.planSync.fn.functionArn),
    syncChunk: str(functions.syncChunk.fn.functionArn),
    finishSync: str(functions.finishSync.fn.functionArn),
    hdlLoad: str(functions.hdlLoad.fn.functionArn),
    preflight: str(functions.preflight.fn.functionArn),
    scheduleStarter: str(functions.scheduleStarter.fn.functionArn),
    stateMachine: smArn,
    execution: executionArnFor(smArn, RUN_ID),
    deadLetterQueue: str(notifications.deadLetterQueue.queueArn),
    stack: String(t.resolve({ Ref: 'AWS::StackId' })),
    '*': '*',
  };
  vars = {
    region: ENV.region,
    account: ENV.account,
    partition: 'aws',
    connectionId: CONNECTION,
    connectionTable: str(data.connectionTable.tableName),
    checkpointTable: str(data.checkpointTable.tableName),
    secretArn: arns.connectionSecret,
    bucketArn,
    stateMachineArn: smArn,
  };
});

const fill = (v: string) => v.replace(/\{(\w+)\}/g, (_m, k: string) => vars[k] ?? `{${k}}`);

interface Caller {
  principal: string;
  identity: { name: string; policy: unknown }[];
  logGroupArn?: string;
}

function lambdaOrRoleCaller(p: Principal): Caller {
  const { functions, scheduling, stateMachine } = s.stack;
  const role =
    p === 'brokerSchedules'
      ? scheduling.brokerTargetRole
      : p === 'nightlySync'
        ? scheduling.nightlySyncRole
        : p === 'stateMachine'
          ? stateMachine.role
          : functions[p].role;
  if (!role) throw new Error(`no role for ${p}`);
  const id = logicalId(role);
  const logGroup = p in functions ? functions[p as keyof typeof functions].logGroup : undefined;
  return {
    principal: t.arnOf(id),
    identity: t.identityPoliciesOf(id),
    logGroupArn: logGroup ? t.arnOf(logicalId(logGroup)) : undefined,
  };
}

type Person = 'runOperator' | 'connectionAdmin';

/** A person's role with one of the two person-facing managed policies. */
function personCaller(who: Person): Caller {
  const id = logicalId(s.stack.operatorPolicies[who]);
  return {
    principal: `arn:aws:iam::${ENV.account}:role/goal-sync-${who}`,
    identity: [t.managedPolicy(id)],
  };
}

function resourceArn(call: Pick<AwsCall, 'resource'>, caller: Caller): string {
  if (call.resource === 'ownLogGroup') {
    if (!caller.logGroupArn) throw new Error('caller has no log group');
    return caller.logGroupArn.replace(/:\*$/, ':log-stream:2026/01/01/[$LATEST]0123456789abcdef');
  }
  return arns[call.resource];
}

/**
 * iam-simulate 0.1.173 drops `kms:EncryptionContext:<key>` from the request (its variable-key match
 * knows only `prefix/variable` keys such as aws:PrincipalTag/x), so a condition on it could never match.
 * Both sides are renamed to a global variable key it does evaluate, with identical string semantics;
 * the test asserts no context key is ignored, so a silently dropped key cannot pass a check.
 */
const EC = /^kms:EncryptionContext:/i;
const aliasKey = (k: string) => k.replace(EC, 'aws:PrincipalTag/kms-ec-');
function aliasPolicy(policy: unknown): unknown {
  if (Array.isArray(policy)) return policy.map(aliasPolicy);
  if (!policy || typeof policy !== 'object') return policy;
  return Object.fromEntries(
    Object.entries(policy as Record<string, unknown>).map(([k, v]) => [
      k,
      k === 'Condition'
        ? Object.fromEntries(
            Object.entries(v as Record<string, Record<string, unknown>>).map(([op, keys]) => [
              op,
              Object.fromEntries(Object.entries(keys).map(([key, val]) => [aliasKey(key), val])),
            ]),
          )
        : aliasPolicy(v),
    ]),
  );
}

async function decide(caller: Caller, call: Pick<AwsCall, 'action' | 'resource' | 'context'>) {
  const resource = resourceArn(call, caller);
  const contextVariables: Record<string, string | string[]> = { 'aws:SecureTransport': 'true' };
  for (const [k, v] of Object.entries(call.context ?? {})) {
    contextVariables[aliasKey(k)] = Array.isArray(v) ? v.map(fill) : fill(v);
  }
  const resourcePolicy = resource === '*' ? undefined : t.resourcePolicyFor(resource);
  const simulation: Simulation = {
    request: {
      principal: caller.principal,
      action: call.action,
      resource: { resource, accountId: ENV.account },
      contextVariables,
    },
    identityPolicies: caller.identity.map((p) => ({ name: p.name, policy: aliasPolicy(p.policy) })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: resourcePolicy === undefined ? undefined : aliasPolicy(resourcePolicy),
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType !== 'single') {
    throw new Error(`${call.action} on ${resource}: ${JSON.stringify(result)}`.slice(0, 2000));
  }
  expect(result.result.ignoredContextKeys ?? [], `${call.action} context`).toEqual([]);
  if (process.env.IAM_EXPLAIN && result.overallResult !== 'Allowed') {
    console.log(call.action, resource, JSON.stringify(result.result.analysis, null, 1).slice(0, 6000));
  }
  return result.overallResult;
}

const label = (c: AwsCall) =>
  `${c.action} ${c.resource}${c.context ? ` ${JSON.stringify(c.context)}` : ''} (${c.sdk})`;

describe.each(Object.keys(CALLS) as Principal[])('%s', (principal) => {
  it('is allowed every call it makes', async () => {
    const caller = lambdaOrRoleCaller(principal);
    const denied: string[] = [];
    for (const call of CALLS[principal]) {
      if ((await decide(caller, call)) !== 'Allowed') denied.push(label(call));
    }
    expect(denied).toEqual([]);
  });
});

/**
 * Actions a role is granted that no call in the inventory makes, each named with its reason. Anything
 * else granted and unused fails the complement check below: a grant nobody uses is a grant to drop.
 */
const GRANTED_UNUSED: Partial<Record<Principal, Record<string, string>>> = {
  ...Object.fromEntries(
    (['tokenBroker', 'connectionAdmin', 'planSync', 'syncChunk', 'finishSync', 'hdlLoad'] as const).map(
      (p) => [
        p,
        {
          'kms:Encrypt':
            'ACTIONS.tableKey, through DynamoDB only (kms:ViaService): item reads and writes use Decrypt and ' +
            'DescribeKey; kept until CloudTrail of a deployed stack shows DynamoDB never asks for it',
          // finish-sync's GenerateDataKey is in use: StartExecution of a run's continuation (issue 24).
          ...(p === 'syncChunk'
            ? {
                'kms:GenerateDataKey':
                  'ACTIONS.tableKey, through DynamoDB only: as kms:Encrypt (it writes no S3 object)',
              }
            : {}),
        },
      ],
    ),
  ),
  tokenBroker: {
    'kms:Encrypt': 'ACTIONS.tableKey, through DynamoDB only (as for every table user)',
    'sqs:GetQueueAttributes': "CDK's SqsDlq for the outbox relay's event source mapping (on-failure queue)",
    'sqs:GetQueueUrl': "CDK's SqsDlq for the outbox relay's event source mapping (on-failure queue)",
  },
  stateMachine: {
    ...Object.fromEntries(
      [
        'logs:CreateLogDelivery',
        'logs:GetLogDelivery',
        'logs:UpdateLogDelivery',
        'logs:DeleteLogDelivery',
        'logs:ListLogDeliveries',
        'logs:PutResourcePolicy',
        'logs:DescribeResourcePolicies',
        'logs:DescribeLogGroups',
      ].map((a) => [a, 'CDK: log delivery of the state machine (logs: ALL to its log group)']),
    ),
    ...Object.fromEntries(
      [
        'xray:PutTraceSegments',
        'xray:PutTelemetryRecords',
        'xray:GetSamplingRules',
        'xray:GetSamplingTargets',
      ].map((a) => [a, 'CDK: tracingEnabled']),
    ),
    'states:RedriveExecution': "CDK's Distributed Map policy (a redriven run redrives its child executions)",
  },
};

describe('every granted action is used by some call, or named with a reason', () => {
  it.each(Object.keys(CALLS) as Principal[])('%s', (principal) => {
    const { functions, scheduling, stateMachine } = s.stack;
    const role =
      principal === 'brokerSchedules'
        ? scheduling.brokerTargetRole
        : principal === 'nightlySync'
          ? scheduling.nightlySyncRole
          : principal === 'stateMachine'
            ? stateMachine.role
            : functions[principal].role;
    if (!role) throw new Error(`no role for ${principal}`);
    const used = new Set(CALLS[principal].map((c) => c.action));
    const named = GRANTED_UNUSED[principal] ?? {};
    const unused = [...actionsOf(s.json, logicalId(role))].filter((a) => !used.has(a) && !named[a]);
    expect(unused).toEqual([]);
    // A reason for something that is in use or not granted is stale: drop it.
    const granted = actionsOf(s.json, logicalId(role));
    expect(Object.keys(named).filter((a) => used.has(a) || !granted.has(a))).toEqual([]);
  });

  it('people: every action of the two policies is one of their calls', () => {
    for (const [who, calls] of [
      ['runOperator', RUN_OPERATOR_CALLS],
      ['connectionAdmin', CONNECTION_ADMIN_CALLS],
    ] as const) {
      const doc = t.managedPolicy(logicalId(s.stack.operatorPolicies[who])).policy as {
        Statement: { Action: string | string[] }[];
      };
      const granted = doc.Statement.flatMap((st) => ([] as string[]).concat(st.Action));
      const used = new Set(calls.map((c) => c.action));
      expect({ who, unused: granted.filter((a) => !used.has(a)) }).toEqual({ who, unused: [] });
    }
  });
});

describe.each([
  ['runOperator', RUN_OPERATOR_CALLS, 'preflight, start, status and resume'],
  ['connectionAdmin', CONNECTION_ADMIN_CALLS, 'connect and the client credentials'],
] as const)('%s (person-facing policy)', (who, calls, what) => {
  it(`is allowed every call of ${what}`, async () => {
    const caller = personCaller(who);
    const denied: string[] = [];
    for (const call of calls) {
      if ((await decide(caller, call)) !== 'Allowed') denied.push(label(call));
    }
    expect(denied).toEqual([]);
  });
});

type Sample = Pick<AwsCall, 'action' | 'context'> & { resource: ResourceRef; arn?: string; why: string };

/** Calls that must be refused; `arn` overrides the resource's ARN (another connection, group...). */
const ENVELOPE_READ: Sample = {
  why: 'opening a token envelope',
  action: 'kms:Decrypt',
  resource: 'dataKey',
  context: {
    'kms:EncryptionContext:connectionId': 'acme',
    'kms:EncryptionContext:purpose': 'refresh',
    'kms:EncryptionContextKeys': ['connectionId', 'purpose'],
  },
};

/** What no person may do: get a token, read a connection secret or a token envelope. */
const NO_TOKENS_FOR_PEOPLE: Sample[] = [
  { why: 'the token hand-out (get/refresh)', action: 'lambda:InvokeFunction', resource: 'tokenBroker' },
  {
    why: 'reading a connection secret',
    action: 'secretsmanager:GetSecretValue',
    resource: 'connectionSecret',
  },
  ENVELOPE_READ,
  { why: 'a connection item without a projection', action: 'dynamodb:GetItem', resource: 'connectionTable' },
  {
    why: 'a connection item projecting the token envelopes',
    action: 'dynamodb:GetItem',
    resource: 'connectionTable',
    context: {
      'dynamodb:Attributes': ['connectionId', 'status', 'accessToken', 'refreshToken'],
      'dynamodb:Select': 'SPECIFIC_ATTRIBUTES',
    },
  },
  { why: 'scanning the connections', action: 'dynamodb:Scan', resource: 'connectionTable' },
];

const MUST_DENY: Record<Principal | `person:${Person}` | 'services', Sample[]> = {
  tokenBroker: [
    {
      why: 'another environment’s connection secret',
      action: 'secretsmanager:GetSecretValue',
      resource: 'connectionSecret',
      arn: `arn:aws:secretsmanager:${ENV.region}:${ENV.account}:secret:hcm-goal-sync/prod/connections/acme-XyZ123`,
    },
    {
      why: 'a schedule outside the refresh prefix',
      action: 'scheduler:CreateSchedule',
      resource: 'refreshSchedule',
      arn: `arn:aws:scheduler:${ENV.region}:${ENV.account}:schedule/hcm-goal-sync-test/nightly-sync`,
    },
    {
      why: 'a schedule in another group',
      action: 'scheduler:CreateSchedule',
      resource: 'refreshSchedule',
      arn: `arn:aws:scheduler:${ENV.region}:${ENV.account}:schedule/default/token-refresh-acme`,
    },
    {
      why: 'an envelope key without a purpose',
      action: 'kms:Decrypt',
      resource: 'dataKey',
      context: {
        'kms:EncryptionContext:connectionId': 'acme',
        'kms:EncryptionContextKeys': ['connectionId'],
      },
    },
    {
      why: 'an envelope key with a context key of another kind',
      action: 'kms:Decrypt',
      resource: 'dataKey',
      context: {
        'kms:EncryptionContext:connectionId': 'acme',
        'kms:EncryptionContext:purpose': 'access',
        'kms:EncryptionContext:tenant': 'x',
        'kms:EncryptionContextKeys': ['connectionId', 'purpose', 'tenant'],
      },
    },
    {
      why: 'an envelope purpose that is not access|refresh',
      action: 'kms:GenerateDataKey',
      resource: 'dataKey',
      context: {
        'kms:EncryptionContext:connectionId': 'acme',
        'kms:EncryptionContext:purpose': 'export',
        'kms:EncryptionContextKeys': ['connectionId', 'purpose'],
      },
    },
    {
      why: 'passing the scheduler role to another service',
      action: 'iam:PassRole',
      resource: 'schedulerTargetRole',
      context: { 'iam:PassedToService': 'lambda.amazonaws.com' },
    },
  ],
  planSync: [
    { why: 'overwriting a source file', action: 's3:PutObject', resource: 'sourceObject' },
    { why: 'reading tokens', action: 'dynamodb:GetItem', resource: 'connectionTable' },
  ],
  syncChunk: [
    { why: 'client credentials', action: 'secretsmanager:GetSecretValue', resource: 'connectionSecret' },
    {
      why: 'opening a token envelope itself',
      action: 'kms:Decrypt',
      resource: 'dataKey',
      context: {
        'kms:EncryptionContext:connectionId': 'acme',
        'kms:EncryptionContext:purpose': 'access',
        'kms:EncryptionContextKeys': ['connectionId', 'purpose'],
      },
    },
    { why: 'reading tokens', action: 'dynamodb:GetItem', resource: 'connectionTable' },
  ],
  // It starts a run's continuation (issue 24 item 4), with the key for its own state machine only.
  finishSync: [
    { why: 'asking for tokens', action: 'lambda:InvokeFunction', resource: 'tokenBroker' },
    { why: 'stopping a run', action: 'states:StopExecution', resource: 'execution' },
    {
      why: 'the key for another state machine',
      action: 'kms:GenerateDataKey',
      resource: 'dataKey',
      context: {
        'kms:EncryptionContext:aws:states:stateMachineArn': `arn:aws:states:${ENV.region}:${ENV.account}:stateMachine:other`,
      },
    },
  ],
  hdlLoad: [
    { why: 'client credentials', action: 'secretsmanager:GetSecretValue', resource: 'connectionSecret' },
    { why: 'reading tokens', action: 'dynamodb:GetItem', resource: 'connectionTable' },
    { why: 'overwriting a source file', action: 's3:PutObject', resource: 'sourceObject' },
  ],
  // The preflight has the pipeline's HCM rights only: the broker's token, never what the broker holds.
  preflight: [
    { why: 'client credentials', action: 'secretsmanager:GetSecretValue', resource: 'connectionSecret' },
    { ...ENVELOPE_READ, why: 'opening a token envelope itself' },
    { why: 'reading tokens', action: 'dynamodb:GetItem', resource: 'connectionTable' },
    { why: 'reading runs', action: 'dynamodb:GetItem', resource: 'checkpointTable' },
    { why: 'overwriting a source file', action: 's3:PutObject', resource: 'sourceObject' },
    { why: 'starting a sync', action: 'states:StartExecution', resource: 'stateMachine' },
  ],
  brokerSchedules: [{ why: 'starting a sync', action: 'states:StartExecution', resource: 'stateMachine' }],
  // The schedules only invoke the starter: an unnamed StartExecution of their own is what issue 25 removed.
  nightlySync: [
    {
      why: 'starting an (unnamed) execution itself',
      action: 'states:StartExecution',
      resource: 'stateMachine',
    },
    {
      why: 'the state machine key',
      action: 'kms:GenerateDataKey',
      resource: 'dataKey',
      context: { 'kms:EncryptionContext:aws:states:stateMachineArn': '{stateMachineArn}' },
    },
    { why: 'invoking the broker', action: 'lambda:InvokeFunction', resource: 'tokenBroker' },
  ],
  scheduleStarter: [
    {
      why: 'the key for another state machine',
      action: 'kms:Decrypt',
      resource: 'dataKey',
      context: {
        'kms:EncryptionContext:aws:states:stateMachineArn': `arn:aws:states:${ENV.region}:${ENV.account}:stateMachine:other`,
      },
    },
    { why: 'invoking the broker', action: 'lambda:InvokeFunction', resource: 'tokenBroker' },
    { why: 'reading runs', action: 'dynamodb:GetItem', resource: 'checkpointTable' },
    { why: 'stopping a run', action: 'states:StopExecution', resource: 'execution' },
  ],
  stateMachine: [{ why: 'invoking the broker', action: 'lambda:InvokeFunction', resource: 'tokenBroker' }],
  connectionAdmin: [
    { why: 'scanning every connection', action: 'dynamodb:Scan', resource: 'connectionTable' },
    {
      why: 'rewriting a connection secret',
      action: 'secretsmanager:PutSecretValue',
      resource: 'connectionSecret',
    },
    { why: 'the token hand-out', action: 'lambda:InvokeFunction', resource: 'tokenBroker' },
    { why: 'starting a sync', action: 'states:StartExecution', resource: 'stateMachine' },
  ],
  'person:connectionAdmin': [
    ...NO_TOKENS_FOR_PEOPLE,
    { why: 'starting a sync', action: 'states:StartExecution', resource: 'stateMachine' },
    { why: 'uploading a source', action: 's3:PutObject', resource: 'uploadObject' },
    { why: 'reading runs', action: 'dynamodb:GetItem', resource: 'checkpointTable' },
  ],
  'person:runOperator': [
    ...NO_TOKENS_FOR_PEOPLE,
    {
      why: 'connecting (the connection admin’s)',
      action: 'lambda:InvokeFunction',
      resource: 'connectionAdmin',
    },
    {
      why: 'writing a connection secret',
      action: 'secretsmanager:PutSecretValue',
      resource: 'connectionSecret',
    },
    { why: 'overwriting the nightly source file', action: 's3:PutObject', resource: 'sourceObject' },
    { why: 'writing a run manifest', action: 's3:PutObject', resource: 'manifestObject' },
    {
      why: 'the source bucket key for a direct call (not through S3)',
      action: 'kms:GenerateDataKey',
      resource: 'dataKey',
      context: { 'kms:EncryptionContext:aws:s3:arn': '{bucketArn}' },
    },
    {
      why: 'another environment’s connection secret',
      action: 'secretsmanager:GetSecretValue',
      resource: 'connectionSecret',
      arn: `arn:aws:secretsmanager:${ENV.region}:${ENV.account}:secret:hcm-goal-sync/prod/connections/acme-XyZ123`,
    },
  ],
  // The notification side: services the topic key trusts must get nothing from the token key.
  services: (['events.amazonaws.com', 'cloudwatch.amazonaws.com', 'sns.amazonaws.com'] as const).flatMap(
    (service) =>
      (['kms:Decrypt', 'kms:GenerateDataKey'] as const).map((action) => ({
        why: service,
        action,
        resource: 'dataKey' as const,
      })),
  ),
};

describe('calls that must be denied', () => {
  it.each(Object.keys(MUST_DENY) as (keyof typeof MUST_DENY)[])('%s', async (who) => {
    const allowed: string[] = [];
    for (const sample of MUST_DENY[who]) {
      const caller: Caller = who.startsWith('person:')
        ? personCaller(who.slice('person:'.length) as Person)
        : who === 'services'
          ? { principal: sample.why, identity: [] }
          : lambdaOrRoleCaller(who as Principal);
      const call = { ...sample, resource: sample.resource };
      const arn = sample.arn;
      const decision = arn
        ? await decideAt(caller, call, arn)
        : await decide(caller, call as Pick<AwsCall, 'action' | 'resource' | 'context'>);
      if (decision === 'Allowed') allowed.push(`${sample.action}: ${sample.why}`);
    }
    expect(allowed).toEqual([]);
  });
});

/** decide() at an explicit ARN (samples outside the stack's own resources). */
async function decideAt(caller: Caller, call: Sample, arn: string) {
  const saved = arns[call.resource as Exclude<ResourceRef, 'ownLogGroup'>];
  arns[call.resource as Exclude<ResourceRef, 'ownLogGroup'>] = arn;
  try {
    return await decide(caller, call);
  } finally {
    arns[call.resource as Exclude<ResourceRef, 'ownLogGroup'>] = saved;
  }
}

describe('the check itself', () => {
  it('fails when one statement is removed from the template', async () => {
    // The schedule starter's key statement (issue 16, moved for issue 25): without it StartExecution cannot encrypt.
    const stripped = new ResolvedTemplate(withoutStatement(s.json, 'ExecutionInputKey'), t.env);
    const keep = t;
    t = stripped;
    try {
      const caller = lambdaOrRoleCaller('scheduleStarter');
      const results = await Promise.all(CALLS.scheduleStarter.map((c) => decide(caller, c)));
      expect(results.filter((r) => r !== 'Allowed')).toHaveLength(2);
    } finally {
      t = keep;
    }
  });

  it('covers every principal the template gives a role to Lambda, Scheduler or Step Functions', () => {
    const roles = Object.entries(s.json.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Role');
    const covered = (Object.keys(CALLS) as Principal[]).map((p) => {
      const { principal } = lambdaOrRoleCaller(p);
      return principal;
    });
    // Custom-resource roles CDK adds (none today) would show up here.
    expect(roles.map(([id]) => t.arnOf(id)).sort()).toEqual(covered.sort());
  });
});
