import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GOAL_MAPPING, mappingToEnv } from '#core/hcm/index.ts';
import { ESM_REQUIRE_BANNER, FUNCTION_SPECS, type FunctionKey, PROJECT_ROOT } from '../../infra/functions.ts';
import { ENV } from '../../lambdas/core/env.ts';
import type { CfnTemplate } from './support.ts';

const run = promisify(execFile);

/**
 * The one test that pays for real bundling: `cdk synth` through the CLI exactly as `npm run synth`
 * runs it (cdk.json app command, local esbuild, no Docker, no network), then checks each Lambda asset.
 */
let outdir: string;
let template: CfnTemplate;
let assetDirs: Record<FunctionKey, string>;
const KEYS = Object.keys(FUNCTION_SPECS) as FunctionKey[];

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'goal-sync-synth-'));
  await run(
    process.execPath,
    [join(PROJECT_ROOT, 'node_modules/aws-cdk/bin/cdk'), 'synth', '--no-notices', '--quiet', '-o', outdir],
    { cwd: PROJECT_ROOT, env: { ...process.env, CI: 'true' }, timeout: 240_000 },
  );
  template = JSON.parse(readFileSync(join(outdir, 'HcmGoalSync-dev.template.json'), 'utf8')) as CfnTemplate;
  const assets = JSON.parse(readFileSync(join(outdir, 'HcmGoalSync-dev.assets.json'), 'utf8')) as {
    files: Record<string, { source: { path: string } }>;
  };
  assetDirs = {} as Record<FunctionKey, string>;
  for (const [, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const service = (r.Properties!.Environment as { Variables: Record<string, string> }).Variables
      .POWERTOOLS_SERVICE_NAME!;
    const key = KEYS.find((k) => FUNCTION_SPECS[k].folder === service)!;
    const hash = String((r.Properties!.Code as { S3Key: string }).S3Key).replace(/\.zip$/, '');
    assetDirs[key] = join(outdir, assets.files[hash]!.source.path);
  }
}, 300_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe('npm run synth (CDK CLI, offline, local esbuild)', () => {
  it('bundles all five Lambdas into their own assets', () => {
    expect(Object.keys(assetDirs).sort()).toEqual([...KEYS].sort());
    expect(new Set(Object.values(assetDirs)).size).toBe(KEYS.length);
  });

  it.each(KEYS)('%s: one minified ESM file with the require shim and a lean source map', (key) => {
    const dir = assetDirs[key];
    const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
    expect(code.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
    // Minified: very long lines (newlines survive only inside template literals).
    const lines = code.split('\n');
    expect(code.length / lines.length).toBeGreaterThan(2000);
    expect(code).toMatch(/sourceMappingURL=index\.mjs\.map/);
    const map = JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as { sourcesContent?: unknown };
    expect(map.sourcesContent).toBeUndefined();
    const size = statSync(join(dir, 'index.mjs')).size;
    // Lambda's limit is 50 MB zipped; a bundle this far over a few MB means something wrong got pulled in.
    expect(size).toBeLessThan(4 * 1024 * 1024);
    // zod/mini with English messages only (lambdas/core/zod.ts): no other locale rides along (~260 KiB).
    expect(code).not.toContain('Zu klein');
    const zipped = gzipSync(code).length;
    console.info(
      `bundle ${key}: index.mjs ${(size / 1024).toFixed(0)} KiB (${(zipped / 1024).toFixed(0)} KiB compressed), ` +
        `map ${(statSync(join(dir, 'index.mjs.map')).size / 1024).toFixed(0)} KiB`,
    );
  });

  it.each(KEYS)('%s: the bundle loads as ESM and exports a handler', async (key) => {
    // Module scope builds the SDK clients and reads required env vars; dummy values, no network calls.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    };
    for (const name of Object.values(ENV))
      env[name] =
        name.endsWith('_SECONDS') || name.endsWith('_MS') || name.endsWith('CONCURRENCY')
          ? '5'
          : `x-${name.toLowerCase()}`;
    env[ENV.hcmBaseUrl] = 'https://hcm.example.invalid';
    env[ENV.outboxRelay] = 'stream';
    // JSON, as the stack writes it (mappingToEnv): a dummy string is refused at load, rightly.
    env[ENV.goalMapping] = mappingToEnv(DEFAULT_GOAL_MAPPING);
    env[ENV.hcmMaxRequestsPerSecond] = '10';
    env[ENV.hcmMaxContainers] = '4';
    env[ENV.tokenEndpointInstances] = '13';
    const url = pathToFileURL(join(assetDirs[key], 'index.mjs')).href;
    const { stdout } = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(url)}); console.log(typeof m.handler);`,
      ],
      { env, timeout: 30_000 },
    );
    expect(stdout.trim()).toBe('function');
  });

  it('writes a template with no nag errors and the validation report', () => {
    expect(existsSync(join(outdir, 'validation-report.json'))).toBe(true);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: { severity: string }[] }[];
    };
    expect(report.pluginReports.flatMap((r) => r.violations).filter((v) => v.severity === 'error')).toEqual(
      [],
    );
  });
});
