import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parsePreflightRequest } from '#core/preflight/index.ts';
import { defaultDeps } from '../../cli/aws/cli.ts';
import { run } from '../../cli/commands/preflight.ts';

/**
 * `goal-sync preflight --stack`: the CLI reads the stack's preflight function from its outputs, sends a
 * request the function's own parser accepts (the local file's facts, or the s3:// URI), prints what the
 * function answers and exits by it. The function itself: test/integration/preflight-lambda.test.ts.
 */
const cfn = mockClient(CloudFormationClient);
const lambda = mockClient(LambdaClient);
const FUNCTION = 'HcmGoalSync-prod-Preflight';
let dir: string;
let source: string;
let answer: unknown;
let sent: unknown[] = [];

const encode = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const report = (ok: boolean) => ({
  ok,
  counts: { pass: 1, warn: 0, fail: ok ? 0 : 1, skip: 0 },
  checks: [
    {
      name: 'token',
      status: 'pass',
      ok: true,
      detail: 'grant jwt_bearer issued a token (token broker, connection oracle-hcm)',
    },
    ...(ok
      ? []
      : [
          {
            name: 'goal-plans',
            status: 'fail',
            ok: false,
            detail: 'goal plan 9 named in the source does not exist',
            fix: 'fix goalPlanId',
          },
        ]),
  ],
});

function cli() {
  const out: string[] = [];
  const err: string[] = [];
  const deps = defaultDeps({
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { deps, out, err };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-aws-preflight-'));
  source = join(dir, 'goals.jsonl');
  await writeFile(
    source,
    `${JSON.stringify({ externalKey: 'A', personNumber: 'E1', goalName: 'G', startDate: '2026-01-01', targetCompletionDate: '2026-02-01', status: 'NOT_STARTED', goalPlanId: 9 })}\n`,
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

beforeEach(() => {
  sent = [];
  answer = report(true);
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'HcmGoalSync-prod',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(0),
        Outputs: [
          { OutputKey: 'PreflightFunctionName', OutputValue: FUNCTION },
          { OutputKey: 'DefaultConnectionId', OutputValue: 'oracle-hcm' },
        ],
      },
    ],
  });
  lambda.on(InvokeCommand).callsFake((input: { FunctionName: string; Payload: Uint8Array }) => {
    expect(input.FunctionName).toBe(FUNCTION);
    sent.push(JSON.parse(new TextDecoder().decode(input.Payload)));
    return { StatusCode: 200, Payload: encode(answer) };
  });
});
afterEach(() => {
  cfn.reset();
  lambda.reset();
});

describe('goal-sync preflight --stack', () => {
  it("a local file: its digest goes to the function, in the shape the function's parser takes", async () => {
    const c = cli();
    const code = await run(['--stack', 'HcmGoalSync-prod', '--source', source, '--write-test', 'E1'], c.deps);
    expect(code).toBe(0);
    const req = parsePreflightRequest(sent[0]);
    expect(req).toMatchObject({ connectionId: 'oracle-hcm', writeTestPerson: 'E1' });
    expect(req.digest?.plans).toEqual([{ goalPlanId: 9, workers: [{ personNumber: 'E1' }] }]);
    expect(req.digest?.kinds).toHaveLength(1);
    expect(c.out.join('\n')).toMatch(/^PASS {2}token {2}grant jwt_bearer/m);
  });

  it('an s3:// source is read by the function itself; a failed check exits 1 with its fix', async () => {
    answer = report(false);
    const c = cli();
    const code = await run(
      ['--stack', 'HcmGoalSync-prod', '--source', 's3://bucket/nightly/goals.jsonl', '--json'],
      c.deps,
    );
    expect(code).toBe(1);
    expect(parsePreflightRequest(sent[0])).toMatchObject({
      source: { uri: 's3://bucket/nightly/goals.jsonl' },
    });
    expect(JSON.parse(c.out.join('\n'))).toMatchObject({
      ok: false,
      checks: [{ name: 'token' }, { name: 'goal-plans', fix: 'fix goalPlanId' }],
    });
  });

  it('a function error is an error of its own (exit 1), not a report', async () => {
    answer = { errorType: 'ConfigError', errorMessage: "source.uri must be in the stack's source bucket" };
    lambda
      .on(InvokeCommand)
      .resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: encode(answer) as never });
    const c = cli();
    expect(await run(['--stack', 'HcmGoalSync-prod', '--source', 's3://other/k.jsonl'], c.deps)).toBe(1);
    expect(c.err.join('\n')).toContain("ConfigError: source.uri must be in the stack's source bucket");
  });

  it("the grant, page size and ceiling are the stack's: those flags are refused with --stack", async () => {
    const c = cli();
    expect(await run(['--stack', 'S', '--source', source, '--grant', 'jwt-bearer'], c.deps)).toBe(2);
    expect(sent).toEqual([]);
  });
});
