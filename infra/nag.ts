import { Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { IConstruct } from 'constructs';

/**
 * The wildcards IAM cannot express otherwise. Each is acknowledged on the one construct it belongs to,
 * finding by finding (cdk-nag 3 has no blanket suppression), with the reason a reviewer needs.
 * The same list is asserted by test/infra/security.test.ts, so a new wildcard fails the tests, not review.
 */
export const WILDCARD_REASONS = {
  xray:
    'X-Ray PutTraceSegments/PutTelemetryRecords (and GetSampling* for Step Functions) support no ' +
    'resource-level permissions: Resource "*" is the only valid value.',
  logDelivery:
    'Step Functions log delivery (logs:*LogDelivery, PutResourcePolicy, DescribeResourcePolicies, ' +
    'DescribeLogGroups) supports no resource-level permissions: Resource "*" is required by the service.',
  refreshSchedules:
    'The broker creates one schedule per connection at run time, named token-refresh-<connectionId>: the ' +
    "wildcard is limited to that name prefix inside this stack's own schedule group.",
  sourceObjects:
    'Sync inputs are objects whose keys are chosen per run (s3://bucket/key in the execution input): ' +
    "read-only, limited to this stack's dedicated source bucket.",
  manifests:
    'plan-sync writes one chunk list per run attempt (runs/<runId>/attempt-<n>/chunks.json), hdl-load ' +
    "one Goal.dat part per file (runs/<runId>/hdl/): write access is limited to the runs/ prefix of the stack's own bucket.",
  lambdaQualifiers:
    'Step Functions LambdaInvoke grants the function and its qualified ARNs (versions/aliases) so a ' +
    'Task may target a version; the wildcard never leaves that one function.',
  childExecutions:
    'Distributed Map: the state machine describes, stops and redrives its own child executions, whose ' +
    'names Step Functions generates; the wildcard is limited to executions of this state machine.',
  operatorUploads:
    '`goal-sync start --upload` puts one file per run at uploads/<runId>/<name>: the operator may write ' +
    "only under the uploads/ prefix of the stack's own source bucket (not the nightly key, not runs/).",
  manifestRead:
    "Distributed Map ItemReader: reads the per-run chunk list from the stack's own bucket (read-only).",
} as const;

/** Which wildcard-resource statements of the state machine role are expected, by their actions. */
const STATE_MACHINE_WILDCARDS: { actions: RegExp; reason: string }[] = [
  { actions: /^(xray:|logs:)/, reason: `${WILDCARD_REASONS.xray} ${WILDCARD_REASONS.logDelivery}` },
  { actions: /^lambda:InvokeFunction$/, reason: WILDCARD_REASONS.lambdaQualifiers },
  {
    actions: /^states:(DescribeExecution|StopExecution|RedriveExecution)$/,
    reason: WILDCARD_REASONS.childExecutions,
  },
  { actions: /^s3:GetObject$/, reason: WILDCARD_REASONS.manifestRead },
];

function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[${id}]`, reason });
}

/**
 * How cdk-nag spells a resource in a finding id: the resolved CloudFormation value flattened, with
 * Ref/GetAtt as <LogicalId> / <LogicalId.Attr> (mirrors cdk-nag's internal flattenCfnReference).
 */
export function nagResourceId(scope: IConstruct, value: string): string {
  return flattenResolved(Stack.of(scope).resolve(value));
}

interface ResolvedStatement {
  Effect?: string;
  Action?: string | string[];
  Resource?: unknown;
}

function flattenResolved(resolved: unknown): string {
  const visit = (node: unknown): string => {
    if (node === undefined) return '';
    if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
    const o = node as Record<string, unknown>;
    if (Array.isArray(o['Fn::Join'])) {
      const [delimiter, items] = o['Fn::Join'] as [string, unknown[]];
      return items.map(visit).join(delimiter);
    }
    if (o['Fn::Sub'] !== undefined) return visit(o['Fn::Sub']);
    if (Array.isArray(o['Fn::GetAtt'])) {
      const [resource, attribute] = o['Fn::GetAtt'] as [unknown, unknown];
      return `<${visit(resource)}.${visit(attribute)}>`;
    }
    if (o.Ref !== undefined) return `<${visit(o.Ref)}>`;
    return JSON.stringify(node);
  };
  return visit(resolved);
}

export interface NagTargets {
  lambdaRoles: iam.IRole[];
  /** The broker and the connection-admin function: both write the connections' refresh schedules. */
  brokerRoles: iam.IRole[];
  /** The resource ARN (with its prefix wildcard) of the broker's CreateSchedule statement. */
  refreshScheduleArn: string;
  sourceReaderRoles: iam.IRole[];
  /** `bucket.arnForObjects('*')` as granted. */
  sourceObjectsArn: string;
  /** plan-sync's and hdl-load's roles and the runs/* prefix they write chunk lists and HDL parts to. */
  manifest: { writerRoles: iam.IRole[]; objectsArn: string };
  stateMachine: sfn.StateMachine;
}

export function acknowledgeUnavoidableFindings(t: NagTargets): void {
  const id = (value: string) => `Resource::${nagResourceId(t.stateMachine, value)}`;
  for (const role of t.lambdaRoles) acknowledge(role, 'Resource::*', WILDCARD_REASONS.xray);
  for (const role of t.brokerRoles)
    acknowledge(role, id(t.refreshScheduleArn), WILDCARD_REASONS.refreshSchedules);
  for (const role of t.sourceReaderRoles)
    acknowledge(role, id(t.sourceObjectsArn), WILDCARD_REASONS.sourceObjects);
  for (const role of t.manifest.writerRoles)
    acknowledge(role, id(t.manifest.objectsArn), WILDCARD_REASONS.manifests);
  acknowledgeStateMachinePolicies(t.stateMachine);
}

/**
 * The state machine's policies are written by CDK (LambdaInvoke, logging, X-Ray; the Distributed Map
 * adds its own policy): walk them and acknowledge a wildcard resource only when every action of its
 * statement is one of the expected kinds above. Anything else stays a cdk-nag error and fails synth.
 */
function acknowledgeStateMachinePolicies(stateMachine: sfn.StateMachine): void {
  const policies = [
    stateMachine.role.node.tryFindChild('DefaultPolicy'),
    stateMachine.node.tryFindChild('DistributedMapPolicy'),
  ].filter((p): p is iam.Policy => p !== undefined);
  for (const policy of policies) {
    const doc = Stack.of(policy).resolve(policy.document) as { Statement?: ResolvedStatement[] };
    for (const statement of doc.Statement ?? []) {
      if (statement.Effect !== 'Allow') continue;
      const actions = ([] as string[]).concat(statement.Action ?? []);
      const kind = STATE_MACHINE_WILDCARDS.find((k) => actions.every((a) => k.actions.test(a)));
      if (!kind) continue;
      for (const resource of ([] as unknown[]).concat(statement.Resource ?? [])) {
        const flat = flattenResolved(resource);
        if (flat.includes('*')) acknowledge(policy, `Resource::${flat}`, kind.reason);
      }
    }
  }
}
