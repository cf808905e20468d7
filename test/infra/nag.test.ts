import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build.ts';
import { FULL_CONTEXT } from './support.ts';

const outdirs: string[] = [];
const outdir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'goal-sync-nag-'));
  outdirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

interface Report {
  pluginReports: { pluginName: string; violations: { ruleName: string; severity: string }[] }[];
}

function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: c.node.path,
          id,
          reason,
        })),
      ),
  );
}

describe.each([
  ['defaults (fresh clone)', {}],
  ['nightly sync + Distributed Map', { ...FULL_CONTEXT, distributedMap: 'true', chunkConcurrency: '60' }],
])('cdk-nag AwsSolutionsChecks with %s', (_name, context) => {
  it('synthesizes with the plugin registered and reports zero errors', () => {
    const dir = outdir();
    const built = buildApp({ context, skipBundling: true, outdir: dir });
    expect(() => built.app.synth()).not.toThrow();
    // The validation report CDK writes beside the template: no AwsSolutions violations at all.
    const report = JSON.parse(readFileSync(join(dir, 'validation-report.json'), 'utf8')) as Report;
    const violations = report.pluginReports.flatMap((r) =>
      r.violations.map((v) => ({ plugin: r.pluginName, ...v })),
    );
    expect(violations.filter((v) => v.severity === 'error')).toEqual([]);
    // The same pack run directly over the tree agrees (and warnings are listed, none expected).
    const direct = new AwsSolutionsChecks().validateScope(built.app);
    expect(direct.violations.map((v) => `${v.ruleName} (${v.severity})`)).toEqual([]);
    expect(direct.success).toBe(true);
  });

  it('acknowledges findings only one by one, each with a specific reason', () => {
    const built = buildApp({ context, skipBundling: true, nag: false });
    const acks = acknowledgements(built.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.id, ack.path).toMatch(/^(Annotation::)?AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      // No blanket IAM5: each wildcard finding is named.
      if (ack.id.includes('IAM5')) expect(ack.id).toMatch(/IAM5\[Resource::.+\]$/);
      expect(ack.reason.length, ack.id).toBeGreaterThanOrEqual(60);
    }
    // Nothing acknowledged at stack or app level.
    expect(acks.filter((a) => !a.path.includes('/'))).toEqual([]);
  });
});

describe('cdk-nag as a gate', () => {
  it('fails synthesis when someone adds a wildcard grant without a reason', () => {
    const built = buildApp({ skipBundling: true, outdir: outdir() });
    built.stack.functions.finishSync.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }),
    );
    expect(() => built.app.synth()).toThrow(/AwsSolutions-IAM5\[Action::s3:\*\]/);
  });
});

describe('defaults', () => {
  it('has no nightly schedule and no e-mail subscription unless configured', () => {
    const built = buildApp({ skipBundling: true, nag: false });
    const template = Template.fromStack(built.stack);
    template.resourceCountIs('AWS::Scheduler::Schedule', 1); // the sweeper only
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    expect(built.config.placeholders).toEqual(['hcmBaseUrl', 'idpTokenUrl']);
  });
});
