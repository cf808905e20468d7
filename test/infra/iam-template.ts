import type { CfnTemplate, Statement } from './support.ts';
import { asArray, resourcesOfType } from './support.ts';

/**
 * The synthesized template as an IAM evaluator sees a deployed stack: every intrinsic resolved to the
 * ARN or name CloudFormation would give it (physical names where the stack sets them, the logical id
 * otherwise), so policies and requests compare as plain strings.
 */
export interface Env {
  account: string;
  region: string;
  partition: string;
  stackName: string;
}

type Resource = CfnTemplate['Resources'][string];

export class ResolvedTemplate {
  constructor(
    readonly json: CfnTemplate,
    readonly env: Env,
  ) {}

  private resource(id: string): Resource {
    const r = this.json.Resources[id];
    if (!r) throw new Error(`no resource ${id} in the template`);
    return r;
  }

  private prop(r: Resource, name: string): string | undefined {
    const v = r.Properties?.[name];
    return v === undefined ? undefined : String(this.resolve(v));
  }

  private arn(service: string, resource: string, region = this.env.region, account = this.env.account) {
    return `arn:${this.env.partition}:${service}:${region}:${account}:${resource}`;
  }

  /** The name CloudFormation gives the resource. */
  private nameOf(id: string): string {
    const r = this.resource(id);
    const named: Record<string, string> = {
      'AWS::DynamoDB::Table': 'TableName',
      'AWS::S3::Bucket': 'BucketName',
      'AWS::SecretsManager::Secret': 'Name',
      'AWS::Lambda::Function': 'FunctionName',
      'AWS::SQS::Queue': 'QueueName',
      'AWS::Events::EventBus': 'Name',
      'AWS::StepFunctions::StateMachine': 'StateMachineName',
      'AWS::Scheduler::ScheduleGroup': 'Name',
      'AWS::IAM::Role': 'RoleName',
      'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
      'AWS::Logs::LogGroup': 'LogGroupName',
      'AWS::SNS::Topic': 'TopicName',
    };
    const key = named[r.Type];
    const explicit = key ? this.prop(r, key) : undefined;
    return explicit ?? (r.Type === 'AWS::S3::Bucket' ? id.toLowerCase() : id);
  }

  arnOf(id: string): string {
    const r = this.resource(id);
    const name = this.nameOf(id);
    switch (r.Type) {
      case 'AWS::KMS::Key':
        return this.arn('kms', `key/${id.toLowerCase()}`);
      case 'AWS::DynamoDB::Table':
        return this.arn('dynamodb', `table/${name}`);
      case 'AWS::S3::Bucket':
        return `arn:${this.env.partition}:s3:::${name}`;
      case 'AWS::SecretsManager::Secret':
        return this.arn('secretsmanager', `secret:${name}-AbCdEf`);
      case 'AWS::Lambda::Function':
        return this.arn('lambda', `function:${name}`);
      case 'AWS::SQS::Queue':
        return this.arn('sqs', name);
      case 'AWS::Events::EventBus':
        return this.arn('events', `event-bus/${name}`);
      case 'AWS::StepFunctions::StateMachine':
        return this.arn('states', `stateMachine:${name}`);
      case 'AWS::Scheduler::ScheduleGroup':
        return this.arn('scheduler', `schedule-group/${name}`);
      case 'AWS::IAM::Role':
        return `arn:${this.env.partition}:iam::${this.env.account}:role/${name}`;
      case 'AWS::IAM::ManagedPolicy':
        return `arn:${this.env.partition}:iam::${this.env.account}:policy/${name}`;
      case 'AWS::Logs::LogGroup':
        return this.arn('logs', `log-group:${name}:*`);
      case 'AWS::SNS::Topic':
        return this.arn('sns', name);
      default: {
        // Resources no policy names by ARN in a way that matters here (event rules in conditions).
        const [, service = 'unknown', kind = 'resource'] = r.Type.split('::');
        return this.arn(service.toLowerCase(), `${kind.toLowerCase()}/${name}`);
      }
    }
  }

  private ref(id: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Partition': this.env.partition,
      'AWS::Region': this.env.region,
      'AWS::AccountId': this.env.account,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': this.env.stackName,
      'AWS::StackId': this.arn(
        'cloudformation',
        `stack/${this.env.stackName}/11111111-2222-3333-4444-555555555555`,
      ),
    };
    if (id in pseudo) return pseudo[id] as string;
    const r = this.resource(id);
    // Ref gives the ARN for these types, the name for the others.
    const refIsArn = [
      'AWS::SecretsManager::Secret',
      'AWS::StepFunctions::StateMachine',
      'AWS::SNS::Topic',
      'AWS::IAM::ManagedPolicy',
    ];
    if (refIsArn.includes(r.Type)) return this.arnOf(id);
    if (r.Type === 'AWS::KMS::Key') return id.toLowerCase();
    if (r.Type === 'AWS::SQS::Queue') {
      return `https://sqs.${this.env.region}.amazonaws.com/${this.env.account}/${this.nameOf(id)}`;
    }
    return this.nameOf(id);
  }

  private getAtt(id: string, attr: string): string {
    if (attr === 'Arn') return this.arnOf(id);
    if (attr === 'Name') return this.nameOf(id);
    // A table's stream: arn:...:table/<name>/stream/<label>, the label fixed here.
    if (attr === 'StreamArn') return `${this.arnOf(id)}/stream/2026-12-02T00:00:00.000`;
    throw new Error(`no rule for Fn::GetAtt ${id}.${attr}`);
  }

  /** Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split anywhere in a value. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (!value || typeof value !== 'object') return value;
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [k] = keys as [string];
      const arg = o[k];
      if (k === 'Ref') return this.ref(arg as string);
      if (k === 'Fn::GetAtt') {
        const [id, attr] = arg as [string, string];
        return this.getAtt(id, attr);
      }
      if (k === 'Fn::Join') {
        const [sep, parts] = arg as [string, unknown[]];
        return (this.resolve(parts) as unknown[]).join(sep);
      }
      if (k === 'Fn::Select') {
        const [index, list] = arg as [number, unknown];
        return (this.resolve(list) as unknown[])[Number(index)];
      }
      if (k === 'Fn::Split') {
        const [sep, source] = arg as [string, unknown];
        return String(this.resolve(source)).split(sep);
      }
    }
    return Object.fromEntries(keys.map((k) => [k, this.resolve(o[k])]));
  }

  /** Identity policy documents attached to a role (inline, AWS::IAM::Policy, managed in the template). */
  identityPoliciesOf(roleId: string): { name: string; policy: unknown }[] {
    const out: { name: string; policy: unknown }[] = [];
    for (const [id, props] of resourcesOfType(this.json, 'AWS::IAM::Policy')) {
      const roles = asArray(props.Roles as { Ref: string }[]).map((r) => r.Ref);
      if (roles.includes(roleId)) out.push({ name: id, policy: this.resolve(props.PolicyDocument) });
    }
    const role = this.resource(roleId);
    for (const [i, p] of asArray(role.Properties?.Policies as { PolicyDocument: unknown }[]).entries()) {
      out.push({ name: `${roleId}-inline-${i}`, policy: this.resolve(p.PolicyDocument) });
    }
    return out;
  }

  /** A managed policy's document (the OPERATOR policy, attached by the operator, not by the stack). */
  managedPolicy(id: string): { name: string; policy: unknown } {
    const r = this.resource(id);
    return { name: id, policy: this.resolve(r.Properties?.PolicyDocument) };
  }

  /** The resource-based policy that governs an ARN in this template, if any. */
  resourcePolicyFor(arn: string): unknown {
    for (const [id, r] of Object.entries(this.json.Resources)) {
      if (r.Type === 'AWS::KMS::Key' && this.arnOf(id) === arn) return this.resolve(r.Properties?.KeyPolicy);
    }
    for (const [, props] of resourcesOfType(this.json, 'AWS::S3::BucketPolicy')) {
      const bucket = `arn:${this.env.partition}:s3:::${this.resolve(props.Bucket) as string}`;
      if (arn === bucket || arn.startsWith(`${bucket}/`)) return this.resolve(props.PolicyDocument);
    }
    for (const [, props] of resourcesOfType(this.json, 'AWS::SQS::QueuePolicy')) {
      const urls = this.resolve(props.Queues) as string[];
      const name = arn.split(':').pop() ?? '';
      if (urls.some((u) => u.endsWith(`/${name}`))) return this.resolve(props.PolicyDocument);
    }
    return undefined;
  }
}

/** Drops one statement (by Sid) from every policy of the template: the "does the test fail" check. */
export function withoutStatement(json: CfnTemplate, sid: string): CfnTemplate {
  const copy = structuredClone(json);
  let removed = 0;
  for (const r of Object.values(copy.Resources)) {
    const doc = r.Properties?.PolicyDocument as { Statement: Statement[] } | undefined;
    if (!doc) continue;
    const before = doc.Statement.length;
    doc.Statement = doc.Statement.filter((s) => s.Sid !== sid);
    removed += before - doc.Statement.length;
  }
  if (removed === 0) throw new Error(`no statement ${sid} in the template`);
  return copy;
}
