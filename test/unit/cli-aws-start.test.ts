import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultDeps } from '../../cli/aws/cli.ts';
import { run } from '../../cli/commands/start.ts';

const cfn = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);
const ddb = mockClient(DynamoDBDocumentClient);
const s3 = mockClient(S3Client);
const dir = mkdtempSync(join(tmpdir(), 'cli-start-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:GoalSync';
const OUTPUTS: Record<string, string> = {
  StateMachineArn: SM,
  CheckpointTableName: 'goal-sync-checkpoints-prod',
  ConnectionTableName: 'goal-sync-connections-prod',
  SourceBucketName: 'goal-sync-source-prod',
};

function givenStack(outputs: Record<string, string>) {
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'prod',
        StackStatus: 'CREATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
}

/** The connection item as `status` reads it (its non-secret attributes) from the connection table. */
function givenConnection(status: string) {
  ddb
    .on(GetCommand, { TableName: OUTPUTS.ConnectionTableName })
    .resolves({ Item: { connectionId: 'oracle-hcm', status, version: 1, outbox: [], updatedAt: 1 } });
}

function harness() {
  const out: string[] = [];
  const err: string[] = [];
  const sleeps: number[] = [];
  const deps = defaultDeps({
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    now: () => Date.UTC(2026, 4, 1, 22, 0, 5),
  });
  return { deps, out, err, sleeps, text: () => [...out, ...err].join('\n') };
}

const startedInput = (call = 0) => {
  const input = sfn.commandCalls(StartExecutionCommand)[call]?.args[0].input;
  return { ...input, input: JSON.parse(input?.input ?? 'null') as unknown };
};

beforeEach(() => {
  givenStack(OUTPUTS);
  sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({
    executionArn: `arn:aws:states:eu-west-1:123456789012:execution:GoalSync:${input.name}`,
    startDate: new Date(),
  }));
});
afterEach(() => {
  for (const m of [cfn, sfn, ddb, s3]) m.reset();
});

describe('goal-sync start', () => {
  it('starts an execution named after the run id with references-only input', async () => {
    const h = harness();
    const code = await run(
      [
        '--stack',
        'prod',
        '--source',
        's3://hr-exports/2026/goals.csv',
        '--connection',
        'hcm-eu',
        '--run-id',
        'nightly-1',
      ],
      h.deps,
    );
    expect(code).toBe(0);
    expect(startedInput()).toEqual({
      stateMachineArn: SM,
      name: 'nightly-1',
      input: {
        runId: 'nightly-1',
        source: { uri: 's3://hr-exports/2026/goals.csv', format: 'csv' },
        connectionId: 'hcm-eu',
      },
    });
    const arn = 'arn:aws:states:eu-west-1:123456789012:execution:GoalSync:nightly-1';
    expect(h.text()).toContain(arn);
    expect(h.text()).toContain(
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${arn}`,
    );
  });

  it('defaults: generated run id, key in the source bucket, jsonl, the stack default connection', async () => {
    givenStack({ ...OUTPUTS, DefaultConnectionId: 'hcm-default' });
    const h = harness();
    expect(await run(['--stack', 'prod', '--source', 'incoming/goals.jsonl'], h.deps)).toBe(0);
    const call = startedInput();
    expect(call.name).toMatch(/^run-20260501-220005-[0-9a-f]{4}$/);
    expect(call.input).toEqual({
      runId: call.name,
      source: { uri: 's3://goal-sync-source-prod/incoming/goals.jsonl', format: 'jsonl' },
      connectionId: 'hcm-default',
    });
  });

  it('--encoding, --delimiter and --max-invalid go into the execution input, canonical', async () => {
    const h = harness();
    const args = ['--stack', 'prod', '--source', 's3://b-1/export.csv', '--run-id', 'r-enc'];
    const extra = ['--encoding', 'latin1', '--delimiter', 'semicolon', '--max-invalid', '2%'];
    expect(await run([...args, ...extra], h.deps)).toBe(0);
    expect(startedInput().input).toMatchObject({
      encoding: 'windows-1252',
      delimiter: ';',
      maxInvalid: '2%',
    });
  });

  it.each([
    [['--encoding', 'nope'], /--encoding 'nope' is not one this reader knows/],
    [['--delimiter', '|'], /--delimiter must be comma, semicolon or tab/],
    [['--max-invalid', 'many'], /--max-invalid must be a record count/],
  ])('%j is a bad argument (exit 2) before anything starts', async (extra, message) => {
    const h = harness();
    const code = await run(['--stack', 'prod', '--source', 's3://b-1/export.csv', ...extra], h.deps);
    expect(code).toBe(2);
    expect(h.err.join('\n')).toMatch(message);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it("falls back to the 'oracle-hcm' connection when the stack names none", async () => {
    const h = harness();
    expect(await run(['--stack', 'prod', '--source', 's3://b-1/export', '--format', 'csv'], h.deps)).toBe(0);
    expect(startedInput().input).toMatchObject({ connectionId: 'oracle-hcm', source: { format: 'csv' } });
  });

  it('fails clearly, before starting anything, when the stack lacks StateMachineArn', async () => {
    givenStack({ CheckpointTableName: 'cp' });
    const h = harness();
    expect(await run(['--stack', 'prod', '--source', 's3://b-1/k.jsonl'], h.deps)).toBe(1);
    expect(h.err.join('\n')).toMatch(/ConfigError: stack 'prod' lacks the output\(s\) StateMachineArn/);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it.each([
    [['--source', 's3://b-1/k.jsonl'], /--stack is required/],
    [['--stack', 'prod'], /--source is required/],
    [['--stack', 'prod', '--source', 's3://b-1/k.jsonl', '--format', 'xml'], /--format must be jsonl or csv/],
    [['--stack', 'prod', '--source', 's3://b-1/goals.xlsx'], /cannot tell the format .* pass --format/],
    [['--stack', 'prod', '--source', 's3://b-1/k.jsonl', '--connection', 'hcm eu'], /--connection: 1-128/],
    [['--stack', 'prod', '--source', 'https://example.com/k'], /--source must be an s3:\/\/ URI/],
    [['--stack', 'prod', '--source', 's3://b-1/k.jsonl', '--run-id', 'a b'], /--run-id/],
    [['--stack', 'prod', '--source', 's3://b-1/k.jsonl', '--bogus'], /unknown flag --bogus/],
  ])('exits 2 on bad arguments %j', async (argv, message) => {
    const h = harness();
    expect(await run(argv, h.deps)).toBe(2);
    expect(h.err.join('\n')).toMatch(message);
    // One line, pointing at --help, not the whole usage.
    expect(h.err).toHaveLength(1);
    expect(h.err[0]).toContain('(goal-sync start --help shows every flag)');
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('--json prints one JSON document on stdout', async () => {
    const h = harness();
    const argv = ['--stack', 'prod', '--source', 's3://hr-exports/g.jsonl', '--run-id', 'j1', '--json'];
    expect(await run(argv, h.deps)).toBe(0);
    expect(h.out).toHaveLength(1);
    expect(JSON.parse(h.out[0]!)).toMatchObject({
      runId: 'j1',
      source: { uri: 's3://hr-exports/g.jsonl', format: 'jsonl' },
      executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:GoalSync:j1',
      consoleUrl: expect.stringContaining('console.aws.amazon.com'),
    });
  });

  it.each(['./goals.jsonl', '/tmp/goals.jsonl', '../exports/goals.csv'])(
    'refuses the local file %s and prints the upload command (exit 2, nothing started)',
    async (source) => {
      const h = harness();
      expect(await run(['--stack', 'prod', '--region', 'eu-west-1', '--source', source], h.deps)).toBe(2);
      const name = source.split('/').at(-1);
      expect(h.err.join('\n')).toContain(
        `is a file on this machine; the pipeline reads only the stack's source bucket. Upload and start in one step: goal-sync start --stack prod --region eu-west-1 --upload ${source} (or upload it yourself: aws s3 cp ${source} s3://`,
      );
      expect(h.err.join('\n')).toMatch(
        new RegExp(`goal-sync start --stack prod --region eu-west-1 --source s3://[^ ]+/${name}\\)`),
      );
      // Refused before any AWS call (no region or credentials needed to be told).
      expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(0);
      expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
      expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    },
  );

  describe('--upload', () => {
    const file = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    const GOALS = '{"externalKey": "G-1"}\n{"externalKey": "G-2"}\n';
    beforeEach(() => {
      s3.on(PutObjectCommand).resolves({ ETag: '"e-1"', VersionId: 'v-3HL4kqtJlcpXroDTDmJ' });
    });

    it('puts the file under uploads/<run id>/ and starts the run pinned to the version it wrote', async () => {
      const path = file('goals.jsonl', GOALS);
      const h = harness();
      expect(await run(['--stack', 'prod', '--upload', path, '--run-id', 'u1'], h.deps)).toBe(0);
      const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
      expect(puts).toHaveLength(1);
      expect(puts[0]).toMatchObject({
        Bucket: 'goal-sync-source-prod',
        Key: 'uploads/u1/goals.jsonl',
        ContentLength: Buffer.byteLength(GOALS),
        ContentType: 'application/x-ndjson',
      });
      expect(Buffer.from(puts[0]!.Body as Uint8Array).toString()).toBe(GOALS);
      const uri = 's3://goal-sync-source-prod/uploads/u1/goals.jsonl';
      expect(startedInput().input).toEqual({
        runId: 'u1',
        source: {
          uri,
          format: 'jsonl',
          version: { size: Buffer.byteLength(GOALS), etag: '"e-1"', versionId: 'v-3HL4kqtJlcpXroDTDmJ' },
        },
        connectionId: 'oracle-hcm',
      });
      expect(h.out[0]).toBe(
        `uploaded ${path} (${Buffer.byteLength(GOALS)} bytes) to ${uri} (version v-3HL4kqtJlcpXroDTDmJ)`,
      );
      expect(h.text()).toContain(`started run u1 (jsonl ${uri}, connection oracle-hcm)`);
    });

    it('--json: the upload line goes to stderr, stdout is the run with its pinned source', async () => {
      const path = file('export 2026.csv', 'externalKey,personNumber\nG-1,P1\n');
      const h = harness();
      expect(await run(['--stack', 'prod', '--upload', path, '--json'], h.deps)).toBe(0);
      expect(h.out).toHaveLength(1);
      const doc = JSON.parse(h.out[0]!) as { runId: string; source: unknown };
      expect(doc.runId).toMatch(/^run-20260501-220005-[0-9a-f]{4}$/);
      expect(doc.source).toEqual({
        uri: `s3://goal-sync-source-prod/uploads/${doc.runId}/export_2026.csv`,
        format: 'csv',
        version: { size: 32, etag: '"e-1"', versionId: 'v-3HL4kqtJlcpXroDTDmJ' },
      });
      expect(h.err.join('\n')).toContain(`uploaded ${path} (32 bytes) to s3://`);
      expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input.ContentType).toBe('text/csv');
    });

    it.each([
      [() => ['--source', 's3://b-1/k.jsonl', '--upload', file('a.jsonl', GOALS)], /are alternatives/],
      [
        () => ['--upload', join(dir, 'missing.jsonl')],
        /--upload .*missing\.jsonl: cannot read it \(ENOENT\)/,
      ],
      [() => ['--upload', dir], /: not a file/],
      [() => ['--upload', file('empty.jsonl', '')], /the file is empty, nothing to sync/],
      [() => ['--upload', file('goals.xlsx', GOALS)], /cannot tell the format .* pass --format/],
      [() => ['--upload', 's3://b-1/k.jsonl'], /--upload takes a file on this machine; .* use --source/],
    ])('exits 2 before uploading or starting anything (%#)', async (argv, message) => {
      const h = harness();
      expect(await run(['--stack', 'prod', ...argv()], h.deps)).toBe(2);
      expect(h.err.join('\n')).toMatch(message);
      expect(h.err).toHaveLength(1);
      expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(0);
      expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
      expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    });

    it('starts nothing when the upload fails, and names what to do', async () => {
      s3.on(PutObjectCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
      const h = harness();
      const argv = ['--stack', 'prod', '--region', 'eu-west-1', '--upload', file('g.jsonl', GOALS)];
      expect(await run(argv, h.deps)).toBe(1);
      expect(h.err[0]).toBe('AccessDenied: Access Denied');
      expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    });

    it('fails clearly when the stack has no source bucket output', async () => {
      givenStack({ StateMachineArn: SM });
      const h = harness();
      expect(await run(['--stack', 'prod', '--upload', file('g.jsonl', GOALS)], h.deps)).toBe(1);
      expect(h.err.join('\n')).toContain('the stack has no SourceBucketName output');
      expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
      expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    });
  });

  it('points to resume when the run id already has an execution', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('exists'), { name: 'ExecutionAlreadyExists' }));
    const h = harness();
    expect(await run(['--stack', 'prod', '--source', 's3://b-1/k.jsonl', '--run-id', 'r1'], h.deps)).toBe(1);
    expect(h.err.join('\n')).toContain('goal-sync resume --run-id r1');
  });

  it('--wait polls until the execution ends and prints the run status', async () => {
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: 'RUNNING', executionArn: 'x', stateMachineArn: SM, startDate: new Date() })
      .resolvesOnce({ status: 'RUNNING', executionArn: 'x', stateMachineArn: SM, startDate: new Date() })
      .resolves({
        status: 'SUCCEEDED',
        name: 'w1',
        executionArn: `${SM.replace('stateMachine', 'execution')}:w1`,
        stateMachineArn: SM,
        startDate: new Date(Date.UTC(2026, 4, 1)),
        stopDate: new Date(Date.UTC(2026, 4, 1, 0, 4)),
      });
    ddb.on(GetCommand, { TableName: OUTPUTS.CheckpointTableName }).resolves({
      Item: { pk: 'RUN#w1', sk: 'RUN', status: 'completed', counts: { total: 7, created: 7, failed: 0 } },
    });
    ddb.on(QueryCommand).resolves({ Items: Array.from({ length: 7 }, () => ({ status: 'done' })) });
    givenConnection('active');
    const h = harness();
    const code = await run(
      ['--stack', 'prod', '--source', 's3://b-1/k.jsonl', '--run-id', 'w1', '--wait', '--poll-seconds', '2'],
      h.deps,
    );
    expect(code).toBe(0);
    expect(h.sleeps).toEqual([2000, 2000]);
    // Three metadata-only polls (no KMS needed), then one full description of the finished execution.
    const describes = sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input.includedData);
    expect(describes).toEqual(['METADATA_ONLY', 'METADATA_ONLY', 'METADATA_ONLY', undefined]);
    const text = h.text();
    expect(text).toMatch(/RUNNING[\s\S]*SUCCEEDED/);
    expect(text).toMatch(/records\s+7\s+\(done 7\)/);
    expect(text).toMatch(/goals created\s+7/);
    expect(text).toMatch(/connection\s+oracle-hcm\s+active/);
  });

  it('--wait follows a run that continues in a new execution (issue 24) to its end', async () => {
    const exec = (name: string) => `${SM.replace('stateMachine', 'execution')}:${name}`;
    sfn.on(DescribeExecutionCommand).callsFake(({ executionArn }: { executionArn: string }) => ({
      status: 'SUCCEEDED',
      name: executionArn.split(':').at(-1),
      executionArn,
      stateMachineArn: SM,
      startDate: new Date(),
    }));
    const handedTo = (name: string) => ({ executionName: name, executions: 2, pending: 40 });
    ddb
      .on(GetCommand, { TableName: OUTPUTS.CheckpointTableName })
      .resolvesOnce({
        Item: { status: 'continuing', continuation: handedTo('c1--2'), counts: { created: 60 } },
      })
      .resolves({ Item: { status: 'completed', continuation: handedTo('c1--2'), counts: { created: 100 } } });
    ddb.on(QueryCommand).resolves({ Items: [] });
    givenConnection('active');
    const h = harness();
    expect(
      await run(['--stack', 'prod', '--source', 's3://b-1/k.jsonl', '--run-id', 'c1', '--wait'], h.deps),
    ).toBe(0);
    const waited = sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input.executionArn);
    expect(new Set(waited)).toEqual(new Set([exec('c1'), exec('c1--2')]));
    expect(h.text()).toContain('continued in execution c1--2');
    expect(h.text()).toMatch(/goals created\s+100/);
    expect(h.text()).toMatch(/continued\s+in c1--2 \(execution 2\), 40 records pending then/);
  });

  it('--wait exits 1 when the run finished with failed records', async () => {
    sfn
      .on(DescribeExecutionCommand)
      .resolves({ status: 'SUCCEEDED', executionArn: 'x', stateMachineArn: SM, startDate: new Date() });
    ddb
      .on(GetCommand, { TableName: OUTPUTS.CheckpointTableName })
      .resolves({ Item: { status: 'completed_with_failures', counts: { created: 5, failed: 2 } } });
    ddb.on(QueryCommand).resolves({ Items: [{ status: 'done' }, { status: 'failed' }] });
    givenConnection('active');
    const h = harness();
    expect(await run(['--stack', 'prod', '--source', 's3://b-1/k.jsonl', '--wait'], h.deps)).toBe(1);
    expect(h.text()).toMatch(/goals failed\s+2/);
  });

  it('--wait exits 3 when the run stopped for re-authentication', async () => {
    sfn.on(DescribeExecutionCommand).resolves({
      status: 'FAILED',
      error: 'ReauthRequiredError',
      cause: 'connection oracle-hcm needs re-authentication: invalid_grant',
      executionArn: 'x',
      stateMachineArn: SM,
      startDate: new Date(),
    });
    ddb
      .on(GetCommand, { TableName: OUTPUTS.CheckpointTableName })
      .resolves({ Item: { status: 'needs_reauth' } });
    ddb.on(QueryCommand).resolves({ Items: [] });
    givenConnection('needs_reauth');
    const h = harness();
    expect(await run(['--stack', 'prod', '--source', 's3://b-1/k.jsonl', '--wait'], h.deps)).toBe(3);
    expect(h.sleeps).toEqual([]);
    expect(h.text()).toContain('ReauthRequiredError: connection oracle-hcm needs re-authentication');
  });
});
