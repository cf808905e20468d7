import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { type BuildOptions, type BuiltApp, buildApp } from '../../infra/build.ts';
import type { FunctionKey } from '../../infra/functions.ts';

/** A production-like configuration: nightly sync on, two connections, an e-mail subscriber. */
export const FULL_CONTEXT = {
  env: 'test',
  hcmBaseUrl: 'https://acme.fa.us2.oraclecloud.com',
  idpTokenUrl: 'https://idcs-0123456789abcdef.identity.oraclecloud.com/oauth2/v1/token',
  connectionIds: 'acme,globex',
  syncSchedule: 'cron(30 2 * * ? *)',
  syncTimezone: 'Europe/Berlin',
  syncConnectionId: 'globex',
  syncSourceKey: 'nightly/goals.jsonl',
  chunkConcurrency: '8',
  alarmEmail: 'oncall@example.com',
} as const;

export type CfnTemplate = {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string }>;
  Outputs?: Record<string, { Value: unknown }>;
};

export interface Synthesized extends BuiltApp {
  template: Template;
  json: CfnTemplate;
  logicalIdOf(fn: FunctionKey): string;
}

/** Synthesizes once (no esbuild, no cdk-nag unless asked): call it in beforeAll. */
export function synthesize(options: BuildOptions = {}): Synthesized {
  // Environment-agnostic whatever the shell exports, so ARNs render as <AWS::AccountId> etc.
  const built = buildApp({ skipBundling: true, nag: false, env: {}, ...options });
  const template = Template.fromStack(built.stack);
  const stack = built.stack;
  return {
    ...built,
    template,
    json: template.toJSON() as CfnTemplate,
    logicalIdOf: (fn) => stack.getLogicalId(stack.functions[fn].fn.node.defaultChild as never),
  };
}

export function resourcesOfType(json: CfnTemplate, type: string): [string, Record<string, unknown>][] {
  return Object.entries(json.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties ?? {}]);
}

export interface Statement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  Sid?: string;
}

export const asArray = <T>(v: T | T[] | undefined): T[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

/** Every identity-policy statement, with the logical id of the role it is attached to. */
export function identityStatements(json: CfnTemplate): { roles: string[]; statement: Statement }[] {
  const out: { roles: string[]; statement: Statement }[] = [];
  for (const [id, props] of resourcesOfType(json, 'AWS::IAM::Policy')) {
    const roles = asArray(props.Roles as { Ref: string }[]).map((r) => r.Ref);
    const doc = props.PolicyDocument as { Statement: Statement[] };
    for (const statement of doc.Statement) out.push({ roles: roles.length ? roles : [id], statement });
  }
  for (const [id, props] of resourcesOfType(json, 'AWS::IAM::Role')) {
    for (const p of asArray(props.Policies as { PolicyDocument: { Statement: Statement[] } }[])) {
      for (const statement of p.PolicyDocument.Statement) out.push({ roles: [id], statement });
    }
  }
  return out;
}

/** The actions granted to one role (any resource). */
export function actionsOf(json: CfnTemplate, roleLogicalId: string): Set<string> {
  const actions = new Set<string>();
  for (const { roles, statement } of identityStatements(json)) {
    if (statement.Effect === 'Allow' && roles.includes(roleLogicalId)) {
      for (const a of asArray(statement.Action)) actions.add(a);
    }
  }
  return actions;
}

/** A resource value flattened like cdk-nag does: Fn::Join joined, Ref/GetAtt as <Id> / <Id.Attr>. */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const o = value as Record<string, unknown>;
  if (Array.isArray(o['Fn::Join'])) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(sep);
  }
  if (Array.isArray(o['Fn::GetAtt'])) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
  if (o.Ref !== undefined) return `<${String(o.Ref)}>`;
  return JSON.stringify(value);
}

export function roleLogicalId(s: Synthesized, fn: FunctionKey): string {
  return Stack.of(s.stack).getLogicalId(s.stack.functions[fn].role.node.defaultChild as never);
}
