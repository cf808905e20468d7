import { beforeAll, describe, expect, it } from 'vitest';
import { CONNECTION_PUBLIC_ATTRIBUTES } from '#core/token/index.ts';
import {
  asArray,
  FULL_CONTEXT,
  flatten,
  resourcesOfType,
  type Statement,
  type Synthesized,
  synthesize,
} from './support.ts';

/**
 * Nobody can walk off with a token (issue 27), read off the synthesized template: no person-facing
 * policy (the stack's managed policies: run operator, connection admin) may read a connection secret
 * or invoke the function that hands out tokens, and only the pipeline's own principals may invoke it.
 */
let s: Synthesized;
beforeAll(() => {
  s = synthesize({ context: FULL_CONTEXT });
});

const idOf = (c: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(c.node.defaultChild as never);
const matches = (pattern: string, action: string) =>
  new RegExp(`^${pattern.replaceAll('*', '.*')}$`, 'i').test(action);
const grants = (st: Statement, action: string) =>
  st.Effect === 'Allow' && asArray(st.Action).some((a) => matches(a, action));

/** Statements of every customer managed policy: the only policies the stack makes for people. */
function personStatements(): { policy: string; statement: Statement }[] {
  return resourcesOfType(s.json, 'AWS::IAM::ManagedPolicy').flatMap(([policy, props]) =>
    (props.PolicyDocument as { Statement: Statement[] }).Statement.map((statement) => ({
      policy,
      statement,
    })),
  );
}

describe('person-facing policies reach no token', () => {
  it('there are exactly two: run operator and connection admin, attached to nobody', () => {
    const policies = resourcesOfType(s.json, 'AWS::IAM::ManagedPolicy');
    expect(policies.map(([id]) => id).sort()).toEqual(
      [idOf(s.stack.operatorPolicies.runOperator), idOf(s.stack.operatorPolicies.connectionAdmin)].sort(),
    );
    for (const [, p] of policies) {
      expect([p.Roles, p.Users, p.Groups]).toEqual([undefined, undefined, undefined]);
    }
  });

  it('no person-facing policy may read a connection secret (secretsmanager:GetSecretValue)', () => {
    const secretIds = [...s.stack.data.secrets.values()].map((x) => idOf(x));
    const reading = personStatements().filter(
      ({ statement }) =>
        grants(statement, 'secretsmanager:GetSecretValue') &&
        asArray(statement.Resource).some((r) => r === '*' || secretIds.some((id) => flatten(r).includes(id))),
    );
    expect(reading).toEqual([]);
  });

  it('no person-facing policy may invoke the token broker (get/refresh hand out tokens)', () => {
    const broker = s.logicalIdOf('tokenBroker');
    const invoking = personStatements().filter(
      ({ statement }) =>
        grants(statement, 'lambda:InvokeFunction') &&
        asArray(statement.Resource).some(
          (r) =>
            r === '*' ||
            flatten(r).includes(broker) ||
            flatten(r).includes(`${s.config.namePrefix}-token-broker`),
        ),
    );
    expect(invoking).toEqual([]);
  });

  it('people read the connection table only through the non-secret attributes', () => {
    const table = idOf(s.stack.data.connectionTable);
    const onTable = personStatements().filter(({ statement }) =>
      asArray(statement.Resource).some((r) => flatten(r).includes(table)),
    );
    expect(onTable.map(({ statement }) => statement.Action)).toEqual(['dynamodb:GetItem']);
    const condition = onTable[0]!.statement.Condition ?? {};
    const attributes = (condition['ForAllValues:StringEquals'] as Record<string, string[]>)[
      'dynamodb:Attributes'
    ];
    expect(attributes).toEqual([...CONNECTION_PUBLIC_ATTRIBUTES]);
    expect(attributes).not.toContain('accessToken');
    expect(attributes).not.toContain('refreshToken');
    expect(condition.Null).toEqual({ 'dynamodb:Attributes': 'false' });
  });

  it('only the pipeline may invoke the token broker: its resource policy names AWS services of this stack only', () => {
    const broker = s.logicalIdOf('tokenBroker');
    const brokerName = `${s.config.namePrefix}-token-broker`;
    const isBroker = (r: unknown) => flatten(r).includes(broker) || flatten(r).includes(brokerName);
    const permissions = resourcesOfType(s.json, 'AWS::Lambda::Permission').filter(([, p]) =>
      isBroker(p.FunctionName),
    );
    for (const [, p] of permissions) {
      expect(String(p.Principal)).toMatch(/^(events|scheduler)\.amazonaws\.com$/);
      expect(p.SourceArn).toBeDefined();
    }
    const invokers = resourcesOfType(s.json, 'AWS::IAM::Policy')
      .filter(([, p]) =>
        (p.PolicyDocument as { Statement: Statement[] }).Statement.some(
          (st) => grants(st, 'lambda:InvokeFunction') && asArray(st.Resource).some(isBroker),
        ),
      )
      .flatMap(([, p]) => asArray(p.Roles as { Ref: string }[]).map((r) => r.Ref))
      .sort();
    const roleId = (k: 'planSync' | 'syncChunk' | 'hdlLoad' | 'preflight') => idOf(s.stack.functions[k].role);
    // The preflight function asks for a token as plan-sync does; it answers people check results only.
    expect(invokers).toEqual(
      [
        roleId('planSync'),
        roleId('syncChunk'),
        roleId('hdlLoad'),
        roleId('preflight'),
        idOf(s.stack.scheduling.brokerTargetRole),
      ].sort(),
    );
  });
});
