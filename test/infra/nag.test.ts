import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, type IPolicyValidationPluginBeta1, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build.ts';
import { PROJECT_ROOT } from '../../infra/functions.ts';
import {
  ControlTowerGuard,
  GUARD_PLUGIN_NAME,
  GUARD_SUPPRESSIONS,
  limitGrantsToAwsServices,
  suppressGuardRule,
} from '../../infra/guard.ts';
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
  pluginReports: {
    pluginName: string;
    violations: { ruleName: string; severity: string }[];
    suppressedViolations?: { ruleName: string }[];
  }[];
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

// cfn-guard over a whole template costs ~20 s of CPU (cfn-guard 3.1.1, 300+ rules), so it runs here on
// the superset context only (every resource type of the defaults and more; `npm run synth` runs it on
// the defaults). cdk-nag runs on both, as before.
describe.each([
  ['defaults (fresh clone)', {}, false],
  [
    'nightly sync + Distributed Map, short log retention',
    { ...FULL_CONTEXT, distributedMap: 'true', chunkConcurrency: '60', logRetentionDays: '30' },
    true,
  ],
] as const)('policy validation with %s', (_name, context, guard) => {
  it(`synthesizes with cdk-nag${guard ? ' and the Control Tower rules' : ''}, zero findings`, {
    timeout: 240_000,
  }, () => {
    const dir = outdir();
    const built = buildApp({ context, skipBundling: true, outdir: dir, guard });
    expect(() => built.app.synth()).not.toThrow();
    // The validation report CDK writes beside the template (it lists a plugin only when it has findings).
    const report = JSON.parse(readFileSync(join(dir, 'validation-report.json'), 'utf8')) as Report;
    expect(built.nag).toBeDefined();
    if (guard) {
      expect(built.guard?.name).toBe(GUARD_PLUGIN_NAME);
      // Guard is listed for its suppressed findings: it ran.
      const guardReport = report.pluginReports.find((r) => r.pluginName === GUARD_PLUGIN_NAME);
      expect(guardReport?.suppressedViolations?.length).toBeGreaterThan(0);
    }
    const violations = report.pluginReports.flatMap((r) =>
      r.violations.map((v) => ({ plugin: r.pluginName, ...v })),
    );
    expect(violations).toEqual([]);
    // The same pack run directly over the tree agrees (and warnings are listed, none expected).
    const direct = new AwsSolutionsChecks().validateScope(built.app);
    expect(direct.violations.map((v) => `${v.ruleName} (${v.severity})`)).toEqual([]);
    expect(direct.success).toBe(true);
  });

  it('acknowledges findings only one by one, each with a specific reason', () => {
    const built = buildApp({ context, skipBundling: true, nag: false });
    const acks = acknowledgements(built.app);
    expect(acks.length).toBeGreaterThan(0);
    const guardRules = new Set<string>(Object.values(GUARD_SUPPRESSIONS).map((g) => g.rule));
    for (const ack of acks.filter((a) => a.id.startsWith(`${GUARD_PLUGIN_NAME}::`))) {
      // Control Tower suppressions: only the listed rules, each also in the template's own metadata.
      expect(guardRules).toContain(ack.id.split('::')[1]);
      expect(ack.reason.length, ack.id).toBeGreaterThanOrEqual(60);
    }
    for (const ack of acks.filter((a) => !a.id.startsWith(`${GUARD_PLUGIN_NAME}::`))) {
      expect(ack.id, ack.path).toMatch(/^(Annotation::)?AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      // No blanket IAM5: each wildcard finding is named.
      if (ack.id.includes('IAM5')) expect(ack.id).toMatch(/IAM5\[Resource::.+\]$/);
      expect(ack.reason.length, ack.id).toBeGreaterThanOrEqual(60);
    }
    // Nothing acknowledged at stack or app level.
    expect(acks.filter((a) => !a.path.includes('/'))).toEqual([]);
  });
});

describe('cfn-guard as a gate', () => {
  // A two-resource app: Guard's run time grows with the template, the gate does not need the stack.
  const strayApp = (plugin: IPolicyValidationPluginBeta1) => {
    const app = new App({ outdir: outdir(), policyValidationBeta1: [plugin] });
    const stack = new Stack(app, 'Gate');
    const key = new kms.Key(stack, 'K', { enableKeyRotation: true });
    limitGrantsToAwsServices(key);
    const acknowledged = new logs.LogGroup(stack, 'Acknowledged', {
      encryptionKey: key,
      retention: logs.RetentionDays.ONE_MONTH,
    });
    suppressGuardRule(acknowledged, 'shortLogRetention');
    // Unencrypted, a week: CT.CLOUDWATCH.PR.2 and PR.3, acknowledged by nobody.
    new logs.LogGroup(stack, 'Stray', { retention: logs.RetentionDays.ONE_WEEK });
    return app;
  };

  it('fails synthesis on a Control Tower finding nobody acknowledged, beside an acknowledged one', () => {
    const app = strayApp(new ControlTowerGuard());
    expect(() => app.synth()).toThrow(/CT\.CLOUDWATCH\.PR\.3[\s\S]*Gate\/Stray/);
    const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as Report;
    const found = report.pluginReports.flatMap((r) => r.violations.map((v) => v.ruleName));
    expect(found.sort()).toEqual([
      'cloudwatch_log_group_encrypted_check',
      'cloudwatch_log_group_retention_period_check',
    ]);
    // Why the wrapper exists: the plugin as shipped reports no severity, and once one finding is
    // acknowledged aws-cdk-lib counts the rest as passed.
    expect(() => strayApp(new CfnGuardValidator()).synth()).not.toThrow();
  });

  it('lists every suppression in the template metadata and in docs/deploy.md', () => {
    const built = buildApp({ skipBundling: true, nag: false, guard: false });
    const template = Template.fromStack(built.stack).toJSON() as {
      Resources: Record<string, { Metadata?: { guard?: { SuppressedRules?: string[] } } }>;
    };
    const inTemplate = new Set(
      Object.values(template.Resources).flatMap((r) => r.Metadata?.guard?.SuppressedRules ?? []),
    );
    const docs = readFileSync(join(PROJECT_ROOT, 'docs', 'deploy.md'), 'utf8');
    for (const { control, rule } of Object.values(GUARD_SUPPRESSIONS)) {
      expect(docs, control).toContain(control);
      expect(docs, rule).toContain(rule);
    }
    // Defaults (365-day retention, no KMS-less target but the access log bucket) suppress these:
    expect([...inTemplate].sort()).toEqual(
      [
        'lambda_inside_vpc_check',
        's3_event_notifications_enabled_check',
        's3_bucket_object_lock_enabled_check',
        'sqs_dlq_check',
        's3_bucket_logging_enabled_check',
        's3_bucket_default_encryption_kms_check',
      ].sort(),
    );
  });
});

describe('cdk-nag as a gate', () => {
  it('fails synthesis when someone adds a wildcard grant without a reason', () => {
    const built = buildApp({ skipBundling: true, outdir: outdir(), guard: false });
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
