import { join } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_SPECS, type FunctionKey, PROJECT_ROOT } from '../../infra/functions.ts';
import { METRIC_CONTRACT, type MetricName, SERVICE_NAMES } from '../../infra/metrics.ts';
import { CALLS } from '../../lambdas/core/adapters/aws/aws-calls.ts';
import { ENV } from '../../lambdas/core/env.ts';
import { actionsOf, FULL_CONTEXT, roleLogicalId, type Synthesized, synthesize } from './support.ts';

/**
 * "Right by construction" across the team boundary: bundles each handler like the stack does (tree-shaken,
 * dependencies left external so only project code is in the output) and checks that the stack grants
 * every AWS call the bundle can make, sets every environment variable it requires, and watches the
 * metrics it emits under the service name it uses.
 */

/** SDK command class -> IAM action. An unknown command fails the test until it is mapped here. */
const COMMAND_ACTIONS: Record<string, string> = {
  GetCommand: 'dynamodb:GetItem',
  GetItemCommand: 'dynamodb:GetItem',
  PutCommand: 'dynamodb:PutItem',
  PutItemCommand: 'dynamodb:PutItem',
  UpdateCommand: 'dynamodb:UpdateItem',
  UpdateItemCommand: 'dynamodb:UpdateItem',
  DeleteCommand: 'dynamodb:DeleteItem',
  DeleteItemCommand: 'dynamodb:DeleteItem',
  QueryCommand: 'dynamodb:Query',
  ScanCommand: 'dynamodb:Scan',
  BatchGetCommand: 'dynamodb:BatchGetItem',
  BatchGetItemCommand: 'dynamodb:BatchGetItem',
  BatchWriteCommand: 'dynamodb:BatchWriteItem',
  BatchWriteItemCommand: 'dynamodb:BatchWriteItem',
  TransactWriteCommand: 'dynamodb:ConditionCheckItem',
  TransactGetCommand: 'dynamodb:GetItem',
  GenerateDataKeyCommand: 'kms:GenerateDataKey',
  DecryptCommand: 'kms:Decrypt',
  EncryptCommand: 'kms:Encrypt',
  GetObjectCommand: 's3:GetObject',
  HeadObjectCommand: 's3:GetObject',
  PutObjectCommand: 's3:PutObject',
  // A multipart upload (plan-sync's UTF-8 copy of a source) is authorised by s3:PutObject throughout.
  CreateMultipartUploadCommand: 's3:PutObject',
  UploadPartCommand: 's3:PutObject',
  CompleteMultipartUploadCommand: 's3:PutObject',
  GetSecretValueCommand: 'secretsmanager:GetSecretValue',
  CreateScheduleCommand: 'scheduler:CreateSchedule',
  UpdateScheduleCommand: 'scheduler:UpdateSchedule',
  DeleteScheduleCommand: 'scheduler:DeleteSchedule',
  GetScheduleCommand: 'scheduler:GetSchedule',
  PutEventsCommand: 'events:PutEvents',
  InvokeCommand: 'lambda:InvokeFunction',
  StartExecutionCommand: 'states:StartExecution',
};

/**
 * Commands a bundle contains but that only run in a mode this stack does not deploy. None today: every
 * stack has the Distributed Map branch, so plan-sync's PutObjectCommand (the manifest) is always granted.
 */
const MODE_ONLY: Partial<Record<FunctionKey, Record<string, string>>> = {};

/**
 * Commands a bundle contains but its handler never reaches, each with the reason; its role does not
 * get them. The connection-admin function shares the broker's code and only calls connect and the
 * status of one connection.
 */
const NEVER_SENT: Partial<Record<FunctionKey, Record<string, string>>> = {
  connectionAdmin: {
    QueryCommand: "the sweeper's due-index query: the connection-admin function never sweeps",
    ScanCommand: 'the status of every connection: it asks for one connection only',
  },
};

interface HandlerSource {
  /** Project files that went into the bundle. */
  files: string[];
  /** The tree-shaken bundle: code that is imported but never reachable is gone. */
  text: string;
}

async function handlerSource(key: FunctionKey): Promise<HandlerSource> {
  const entry = join(PROJECT_ROOT, 'lambdas', FUNCTION_SPECS[key].folder, 'index.ts');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
    absWorkingDir: PROJECT_ROOT,
  });
  const files = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('node_modules/'));
  return { files, text: result.outputFiles[0]!.text };
}

const KEYS = Object.keys(FUNCTION_SPECS) as FunctionKey[];

describe.each([
  ['inline Map', FULL_CONTEXT],
  // The flag forces the Distributed Map branch (and allows a concurrency above the inline limit).
  ['Distributed Map', { ...FULL_CONTEXT, distributedMap: 'true', chunkConcurrency: '60' }],
])('%s: handlers vs stack', (mode, context) => {
  let s: Synthesized;
  const sources = new Map<FunctionKey, HandlerSource>();
  beforeAll(async () => {
    s = synthesize({ context });
    for (const key of KEYS) sources.set(key, await handlerSource(key));
  });

  it.each(KEYS)('%s: every AWS SDK command in its bundle is granted to its role', (key) => {
    const src = sources.get(key)!;
    expect(src.files.some((f) => f.startsWith('lambdas/core/'))).toBe(true);
    // esbuild renames colliding imports (GetCommand -> GetCommand3): the numeric suffix is dropped.
    const commands = [...new Set([...src.text.matchAll(/new (\w+?Command)\d*\(/g)].map((m) => m[1]!))];
    const granted = actionsOf(s.json, roleLogicalId(s, key));
    for (const command of commands) {
      const action = COMMAND_ACTIONS[command];
      expect(action, `unmapped SDK command ${command}: add it to COMMAND_ACTIONS`).toBeDefined();
      if (NEVER_SENT[key]?.[command]) continue;
      const modeOnly = MODE_ONLY[key]?.[command];
      if (modeOnly && mode === 'inline Map') continue;
      expect(granted, `${key} sends ${command} but its role lacks ${action}`).toContain(action);
    }
  });

  it.each(KEYS)('%s: the call inventory (aws-calls.ts) is what its bundle sends, both ways', (key) => {
    const src = sources.get(key)!;
    const sent = new Set(
      [...src.text.matchAll(/new (\w+?Command)\d*\(/g)]
        .map((m) => m[1]!)
        .filter((c) => !NEVER_SENT[key]?.[c])
        .map((c) => COMMAND_ACTIONS[c]!),
    );
    const inventory = CALLS[key];
    // What the handler's own SDK calls are: not the platform's, not KMS through a service, not the
    // role passed inside CreateSchedule, not GetObject's VersionId flavour.
    const byCode = inventory.filter(
      (c) =>
        c.file.startsWith('lambdas/') &&
        c.context?.['kms:ViaService'] === undefined &&
        c.action !== 'iam:PassRole' &&
        c.action !== 's3:GetObjectVersion',
    );
    const listed = new Set(inventory.map((c) => c.action));
    expect(
      [...sent].filter((a) => !listed.has(a)),
      `${key}: sent but not in the inventory`,
    ).toEqual([]);
    expect(
      [...new Set(byCode.map((c) => c.action))].filter((a) => !sent.has(a)),
      `${key}: in the inventory but never sent`,
    ).toEqual([]);
  });

  it.each(KEYS)('%s: every environment variable it requires is set', (key) => {
    const src = sources.get(key)!;
    const required = [...src.text.matchAll(/requireEnv\(ENV\.(\w+)\)/g)].map(
      (m) => ENV[m[1] as keyof typeof ENV],
    );
    expect(required.every((name) => typeof name === 'string')).toBe(true);
    expect(required.length).toBeGreaterThan(0);
    const props = s.json.Resources[s.logicalIdOf(key)]!.Properties!;
    const vars = (props.Environment as { Variables: Record<string, unknown> }).Variables;
    for (const name of required) expect(Object.keys(vars), `${key} requires ${name}`).toContain(name);
  });
});

describe('metric contract', () => {
  const sources = new Map<FunctionKey, HandlerSource>();
  beforeAll(async () => {
    for (const key of KEYS) sources.set(key, await handlerSource(key));
  });

  it.each(KEYS)('%s: emits under the service name the alarms and dashboard use', (key) => {
    const { text } = sources.get(key)!;
    const names = [
      ...text.matchAll(/createMetrics\(["']([\w-]+)["']\)/g),
      ...text.matchAll(/SERVICE_NAME\d* = ["']([\w-]+)["']/g),
    ].map((m) => m[1]);
    expect(names.length, `${key}: no createMetrics('<service>') found`).toBeGreaterThan(0);
    for (const name of names) expect(name).toBe(SERVICE_NAMES[key]);
  });

  it.each(Object.keys(METRIC_CONTRACT) as MetricName[])(
    '%s is emitted by the Lambda whose service the alarms/dashboard watch',
    (metric) => {
      const key = KEYS.find((k) => SERVICE_NAMES[k] === METRIC_CONTRACT[metric].service)!;
      expect(sources.get(key)!.text, `${metric} is not emitted by ${key}`).toMatch(
        new RegExp(`["']${metric}["']`),
      );
    },
  );
});
