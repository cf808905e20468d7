import { Annotations, App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ControlTowerGuard } from './guard.ts';
import { HcmGoalSyncStack } from './stack.ts';
import { checkContextKeys, parseStackConfig, type StackConfig } from './stack-config.ts';

export interface BuildOptions {
  /** Extra context (tests; the CLI passes `-c` values through the environment). */
  context?: Record<string, unknown>;
  outdir?: string;
  /** Register cdk-nag's AwsSolutionsChecks as a validation plugin: synth fails on any error (default true). */
  nag?: boolean;
  /**
   * Register the AWS Control Tower proactive controls (cfn-guard, run locally by the binary the plugin
   * ships; no network) beside cdk-nag: synth fails on any unacknowledged finding (default: as `nag`).
   */
  guard?: boolean;
  /** Skip esbuild (tests that only inspect the template): assets keep a placeholder. */
  skipBundling?: boolean;
  /** Target account/region; default: the CLI's (CDK_DEFAULT_ACCOUNT/REGION), else environment-agnostic. */
  env?: { account?: string; region?: string };
}

export interface BuiltApp {
  app: App;
  stack: HcmGoalSyncStack;
  config: StackConfig;
  nag?: AwsSolutionsChecks;
  guard?: ControlTowerGuard;
}

export function stackName(config: StackConfig): string {
  return `HcmGoalSync-${config.env}`;
}

/** The whole CDK app: one stack per `env` context value. */
export function buildApp(options: BuildOptions = {}): BuiltApp {
  const context: AppProps['context'] = {
    // Access log delivery by bucket policy (scoped to this account and the source bucket), not by ACL:
    // the log bucket keeps BucketOwnerEnforced ownership and ACLs off.
    '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
    ...options.context,
  };
  // An empty list means "bundle no stack": assets keep a placeholder, nothing runs esbuild.
  if (options.skipBundling) context['aws:cdk:bundling-stacks'] = [];
  const app = new App({ context, outdir: options.outdir });
  checkContextKeys(Object.keys(app.node.getAllContext() as Record<string, unknown>));
  const config = parseStackConfig((key) => app.node.tryGetContext(key));
  const stack = new HcmGoalSyncStack(app, stackName(config), {
    config,
    description: `hcm-goal-sync (${config.env}): OAuth token broker and goal sync pipeline for Oracle HCM Cloud`,
    env: options.env ?? { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    tags: { project: 'hcm-goal-sync', env: config.env },
  });
  for (const key of config.placeholders) {
    Annotations.of(stack).addWarningV2(
      `hcm-goal-sync:placeholder-${key}`,
      `context "${key}" is still the placeholder; set -c ${key}=... before deploying`,
    );
  }
  let nag: AwsSolutionsChecks | undefined;
  if (options.nag ?? true) {
    nag = new AwsSolutionsChecks(app);
    Validations.of(app).addPlugins(nag);
  }
  let guard: ControlTowerGuard | undefined;
  if (options.guard ?? options.nag ?? true) {
    guard = new ControlTowerGuard();
    Validations.of(app).addPlugins(guard);
  }
  return { app, stack, config, nag, guard };
}
