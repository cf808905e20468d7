import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultDeps } from '../../cli/aws/cli.ts';
import { run } from '../../cli/commands/status.ts';

const cfn = mockClient(CloudFormationClient);
const sfn = mockClient(SFNClient);
const ddb = mockClient(DynamoDBDocumentClient);

const SM = 'arn:aws:states:eu-west-1:123456789012:stateMachine:GoalSync';
const execArn = (name: string) => `arn:aws:states:eu-west-1:123456789012:execution:GoalSync:${name}`;
const TABLE = 'goal-sync-checkpoints-prod';
const CONN_TABLE = 'goal-sync-connections-prod';
// A token-shaped value the connection read must never project and the CLI must never print.
const ACCESS_TOKEN = `eyJhbGciOiJSUzI1NiJ9.${'eyJzdWIiOiJjbGllbnQifQ'.repeat(3)}.${'c2lnbmF0dXJl'.repeat(5)}`;

function harness() {
  const out: string[] = [];
  const err: string[] = [];
  const deps = defaultDeps({
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    sleep: async () => undefined,
  });
  return { deps, out, err, text: () => [...out, ...err].join('\n') };
}

let connectionItem: Record<string, unknown> | undefined;

const statusOf = (n: number, status?: string) => Array.from({ length: n }, () => (status ? { status } : {}));

beforeEach(() => {
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'prod',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [
          { OutputKey: 'StateMachineArn', OutputValue: SM },
          { OutputKey: 'CheckpointTableName', OutputValue: TABLE },
          { OutputKey: 'ConnectionTableName', OutputValue: CONN_TABLE },
        ],
      },
    ],
  });
  sfn.on(ListExecutionsCommand).resolves({
    executions: [
      {
        name: 'other',
        executionArn: execArn('other'),
        stateMachineArn: SM,
        status: 'SUCCEEDED',
        startDate: new Date(3),
      },
      {
        name: 'r1-r1',
        executionArn: execArn('r1-r1'),
        stateMachineArn: SM,
        status: 'RUNNING',
        startDate: new Date(2),
      },
      {
        name: 'r1',
        executionArn: execArn('r1'),
        stateMachineArn: SM,
        status: 'FAILED',
        startDate: new Date(1),
      },
    ],
  });
  sfn.on(DescribeExecutionCommand).callsFake(({ executionArn }: { executionArn: string }) => {
    const name = executionArn.split(':').at(-1);
    return {
      executionArn,
      name,
      stateMachineArn: SM,
      status: name === 'r1' ? 'FAILED' : 'RUNNING',
      startDate: new Date(Date.UTC(2026, 4, 1, 22)),
      input: JSON.stringify({
        runId: 'r1',
        source: { uri: 's3://b-1/k', format: 'jsonl' },
        connectionId: 'hcm-eu',
      }),
    };
  });
  // The checkpoint module's run item (lambdas/core/checkpoint/run-types.ts RunItem) of a run mid-way.
  // The connection item as the table holds it; the CLI projects the non-secret attributes (and even a
  // table answering with more must not print a token).
  connectionItem = {
    connectionId: 'hcm-eu',
    status: 'active',
    grant: 'refresh_token',
    secretId: 'goal-sync/prod/connections/hcm-eu',
    version: 4,
    expiresAt: Date.parse('2026-05-01T23:00:00.000Z'),
    refreshCount: 17,
    outbox: [],
    updatedAt: 1,
    accessToken: ACCESS_TOKEN,
  };
  ddb.on(GetCommand, { TableName: CONN_TABLE }).callsFake(() => ({ Item: connectionItem }));
  ddb.on(GetCommand, { TableName: TABLE }).resolves({
    Item: {
      pk: 'RUN#r1',
      sk: 'RUN',
      runId: 'r1',
      status: 'running',
      source: { uri: 's3://b-1/k', format: 'jsonl' },
      connectionId: 'hcm-eu',
      chunkSize: 100,
      attempt: 2,
      startedAt: '2026-05-01T22:00:01.000Z',
      updatedAt: '2026-05-01T22:03:00.000Z',
      expiresAt: 1_790_000_000,
      totals: { totalRecords: 500, validRecords: 495, invalid: 5, bytes: 123_456 },
      lastError: { error: 'States.Timeout', cause: 'chunk 3 timed out' },
    },
  });
  // Three pages, chained through LastEvaluatedKey as DynamoDB does.
  const pages = [
    { Items: statusOf(100, 'done'), LastEvaluatedKey: { pk: 'RUN#r1', sk: 'REC#g-100' } },
    {
      Items: [...statusOf(50, 'done'), ...statusOf(10, 'pending')],
      LastEvaluatedKey: { pk: 'RUN#r1', sk: 'REC#g-160' },
    },
    { Items: [...statusOf(5, 'failed'), ...statusOf(1)] },
  ];
  ddb.on(QueryCommand).callsFake((input: { ExclusiveStartKey?: { sk: string } }) => {
    const index =
      input.ExclusiveStartKey === undefined ? 0 : input.ExclusiveStartKey.sk === 'REC#g-100' ? 1 : 2;
    return pages[index];
  });
});
afterEach(() => {
  for (const m of [cfn, sfn, ddb]) m.reset();
});

describe('goal-sync status', () => {
  it('aggregates the latest execution, the run item, paginated record counts and the connection', async () => {
    const h = harness();
    expect(await run(['--stack', 'prod', '--run-id', 'r1'], h.deps)).toBe(0);

    expect(sfn.commandCalls(DescribeExecutionCommand)[0]?.args[0].input.executionArn).toBe(execArn('r1-r1'));
    expect(ddb.commandCalls(GetCommand, { TableName: TABLE })[0]?.args[0].input).toMatchObject({
      TableName: TABLE,
      Key: { pk: 'RUN#r1', sk: 'RUN' },
    });
    const queries = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(queries).toHaveLength(3);
    expect(queries.map((q) => q.ExclusiveStartKey?.sk)).toEqual([undefined, 'REC#g-100', 'REC#g-160']);
    expect(queries[0]).toMatchObject({
      TableName: TABLE,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :rec)',
      ProjectionExpression: '#st',
      ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk', '#st': 'status' },
      ExpressionAttributeValues: { ':pk': 'RUN#r1', ':rec': 'REC#' },
    });
    // The connection's state: its non-secret attributes only, never an envelope (no broker call).
    const read = ddb.commandCalls(GetCommand, { TableName: CONN_TABLE })[0]?.args[0].input;
    expect(read?.Key).toEqual({ connectionId: 'hcm-eu' });
    const projected = Object.values(read?.ExpressionAttributeNames ?? {});
    expect(projected).toContain('status');
    expect(projected).not.toContain('accessToken');
    expect(projected).not.toContain('refreshToken');

    const text = h.text();
    expect(text).toMatch(/execution\s+r1-r1\s+RUNNING/);
    expect(text).toMatch(/run item\s+running \(attempt 2\)/);
    expect(text).toMatch(/source totalRecords\s+500/);
    expect(text).toMatch(/source invalid\s+5/);
    expect(text).toMatch(/last error\s+States.Timeout: chunk 3 timed out/);
    expect(text).not.toMatch(/1790000000/);
    expect(text).toMatch(/records\s+166\s+\(done 150, failed 5, pending 10, unknown 1\)/);
    expect(text).toMatch(/connection\s+hcm-eu\s+active/);
    expect(text).toMatch(/version\s+4/);
    expect(text).toMatch(/expiresAt\s+2026-05-01T23:00:00.000Z/);
    expect(text).toMatch(/refreshCount\s+17/);
    expect(text).not.toContain(ACCESS_TOKEN);
  });

  it('--json prints the same aggregation as JSON with secrets masked', async () => {
    const h = harness();
    expect(await run(['--stack', 'prod', '--run-id', 'r1', '--json'], h.deps)).toBe(0);
    const json = JSON.parse(h.out.join('\n')) as {
      runId: string;
      run: { status: string; totals: Record<string, number>; counts: Record<string, number> };
      records: { total: number; byStatus: Record<string, number>; pages: number };
      connection: { status: string; details: Record<string, unknown> };
      execution: { consoleUrl: string };
    };
    expect(json.runId).toBe('r1');
    expect(json.run).toMatchObject({
      status: 'running',
      attempt: 2,
      counts: {},
      totals: { totalRecords: 500 },
    });
    expect(json.records).toEqual({
      total: 166,
      pages: 3,
      byStatus: { done: 150, pending: 10, failed: 5, unknown: 1 },
    });
    expect(json.connection.status).toBe('active');
    // Only the view's own fields: what the table answered beyond them is not passed on.
    expect(json.connection.details.refreshCount).toBe(17);
    expect(json.connection.details.accessToken).toBeUndefined();
    expect(json.execution.consoleUrl).toContain(execArn('r1-r1'));
    expect(h.text()).not.toContain(ACCESS_TOKEN);
  });

  it('--execution-arn reads the run id from the execution input', async () => {
    const h = harness();
    expect(await run(['--stack', 'prod', '--execution-arn', execArn('r1')], h.deps)).toBe(0);
    expect(sfn.commandCalls(ListExecutionsCommand)).toHaveLength(0);
    expect(ddb.commandCalls(GetCommand, { TableName: TABLE })[0]?.args[0].input.Key).toEqual({
      pk: 'RUN#r1',
      sk: 'RUN',
    });
    expect(h.text()).toMatch(/execution\s+r1\s+FAILED/);
  });

  it('without a run lists the 10 latest executions', async () => {
    const h = harness();
    expect(await run(['--stack', 'prod'], h.deps)).toBe(0);
    expect(sfn.commandCalls(ListExecutionsCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: SM,
      maxResults: 10,
    });
    const lines = h.out.join('\n').split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+STARTED\s+STOPPED/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['other', 'r1-r1', 'r1']);
  });

  it('exits 3 when the connection needs re-authentication', async () => {
    connectionItem = { ...connectionItem, status: 'needs_reauth' };
    const h = harness();
    expect(await run(['--stack', 'prod', '--run-id', 'r1'], h.deps)).toBe(3);
    expect(h.text()).toMatch(/connection\s+hcm-eu\s+needs_reauth/);
  });

  it('still reports the run when the connection cannot be read, showing why it is unknown', async () => {
    connectionItem = undefined;
    const h = harness();
    expect(await run(['--stack', 'prod', '--run-id', 'r1'], h.deps)).toBe(0);
    expect(h.text()).toMatch(
      /connection\s+hcm-eu\s+unavailable: ConnectionNotFoundError: connection hcm-eu does not exist/,
    );
    expect(h.text()).toMatch(/records\s+166/);
  });

  it('exits 1 for a run nobody has heard of', async () => {
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    sfn
      .on(DescribeExecutionCommand)
      .rejects(Object.assign(new Error('nope'), { name: 'ExecutionDoesNotExist' }));
    ddb.on(GetCommand, { TableName: TABLE }).resolves({});
    ddb.on(QueryCommand).resolves({ Items: [] });
    const h = harness();
    expect(await run(['--stack', 'prod', '--run-id', 'ghost'], h.deps)).toBe(1);
    expect(h.err.join('\n')).toContain('no execution and no checkpoint data for run ghost');
  });

  it('exits 2 when given both --run-id and --execution-arn', async () => {
    const h = harness();
    expect(await run(['--stack', 'prod', '--run-id', 'r1', '--execution-arn', execArn('r1')], h.deps)).toBe(
      2,
    );
    expect(cfn.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });
});
