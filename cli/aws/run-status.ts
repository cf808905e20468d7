import type { DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { RunItem } from '#core/checkpoint/index.ts';
import { RUN_SK, runPk, SK_PREFIX } from '#core/checkpoint/index.ts';
import { CHECKPOINT_TABLE } from '../../lambdas/core/tables.ts';
import { connectionFieldsOf, connectionStatusOf } from './connection-state.ts';
import { consoleUrlFor } from './executions.ts';

/**
 * The checkpoint module's run item (`RUN#<runId>` / `RUN`), as much of it as an operator needs.
 * The nested counters are copied generically, so counters the pipeline adds later show up too.
 */
export interface RunItemView {
  status?: string;
  startedAt?: string;
  finishedAt?: string;
  attempt?: number;
  durationMs?: number;
  /** Goal counts (`counts`: created, updated, unchanged, failed, ...), written when the run finishes. */
  counts: Record<string, number>;
  /** Source totals (`totals`: totalRecords, validRecords, invalid, ...), written by planning. */
  totals: Record<string, number>;
  lastError?: string;
  /** Status `continuing` (issue 24 item 4): the execution the run was handed to, pending records then. */
  continuation?: { executionName: string; executions: number; pending: number };
}

export interface RecordCounts {
  total: number;
  byStatus: Record<string, number>;
  /** Query pages read (a 1 MB page each). */
  pages: number;
}

export interface RunStatus {
  runId: string;
  execution?: {
    name?: string;
    executionArn?: string;
    consoleUrl?: string;
    status?: string;
    startDate?: string;
    stopDate?: string;
    error?: string;
    cause?: string;
    redriveStatus?: string;
    redriveCount?: number;
  };
  run?: RunItemView;
  records: RecordCounts;
  connection: { connectionId: string; status?: string; details?: Record<string, unknown>; error?: string };
}

const numbersOf = (value: unknown): Record<string, number> => {
  if (!value || typeof value !== 'object') return {};
  return Object.fromEntries(
    Object.entries(value).filter((e): e is [string, number] => typeof e[1] === 'number'),
  );
};

export async function readRunItem(
  dynamo: DynamoDBDocumentClient,
  table: string,
  runId: string,
): Promise<RunItemView | undefined> {
  const res = await dynamo.send(
    new GetCommand({
      TableName: table,
      Key: { [CHECKPOINT_TABLE.partitionKey]: runPk(runId), [CHECKPOINT_TABLE.sortKey]: RUN_SK },
    }),
  );
  // Read defensively: an item written by an older or newer pipeline version may lack fields.
  const item = res.Item as Partial<RunItem> | undefined;
  if (!item) return undefined;
  return {
    status: item.status,
    startedAt: item.startedAt,
    finishedAt: item.finishedAt,
    attempt: item.attempt,
    durationMs: item.durationMs,
    counts: numbersOf(item.counts),
    totals: numbersOf(item.totals),
    lastError: item.lastError
      ? `${item.lastError.error}${item.lastError.cause ? `: ${item.lastError.cause}` : ''}`
      : undefined,
    ...(item.continuation
      ? {
          continuation: {
            executionName: item.continuation.executionName,
            executions: item.continuation.executions,
            pending: item.continuation.pending,
          },
        }
      : {}),
  };
}

/** Counts a run's record items by status, reading only the status attribute, across all pages. */
export async function countRecordsByStatus(
  dynamo: DynamoDBDocumentClient,
  table: string,
  runId: string,
): Promise<RecordCounts> {
  const counts: RecordCounts = { total: 0, byStatus: {}, pages: 0 };
  let startKey: Record<string, unknown> | undefined;
  do {
    const res = await dynamo.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :rec)',
        // `status` is a DynamoDB reserved word, hence the name placeholder.
        ProjectionExpression: '#st',
        ExpressionAttributeNames: {
          '#pk': CHECKPOINT_TABLE.partitionKey,
          '#sk': CHECKPOINT_TABLE.sortKey,
          '#st': 'status',
        },
        ExpressionAttributeValues: { ':pk': runPk(runId), ':rec': SK_PREFIX.record },
        ExclusiveStartKey: startKey,
      }),
    );
    counts.pages++;
    for (const item of res.Items ?? []) {
      const status = typeof item.status === 'string' ? item.status : 'unknown';
      counts.byStatus[status] = (counts.byStatus[status] ?? 0) + 1;
      counts.total++;
    }
    startKey = res.LastEvaluatedKey;
  } while (startKey);
  return counts;
}

export function executionView(res: DescribeExecutionCommandOutput): NonNullable<RunStatus['execution']> {
  return {
    name: res.name,
    executionArn: res.executionArn,
    consoleUrl: res.executionArn ? consoleUrlFor(res.executionArn) : undefined,
    status: res.status,
    startDate: res.startDate?.toISOString(),
    stopDate: res.stopDate?.toISOString(),
    error: res.error,
    // Causes can be long stack traces; the first 500 characters say what happened.
    cause: res.cause ? res.cause.slice(0, 500) : undefined,
    redriveStatus: res.redriveStatus,
    redriveCount: res.redriveCount,
  };
}

export function connectionView(
  connectionId: string,
  answer: Record<string, unknown> | Error,
): RunStatus['connection'] {
  if (answer instanceof Error) return { connectionId, error: `${answer.name}: ${answer.message}` };
  return {
    connectionId,
    status: connectionStatusOf(answer, connectionId),
    details: connectionFieldsOf(answer),
  };
}

// Fields of the broker's masked connection view worth a line each.
const DETAIL_FIELDS = [
  'grant',
  'version',
  'expiresAt',
  'expiresInSeconds',
  'lastRefreshAt',
  'nextProactiveAt',
  'refreshCount',
  'lastError',
];

/** The human-readable block printed by `status` and `start --wait`. */
export function renderRunStatus(s: RunStatus): string {
  const rows: Array<[string, string]> = [['run', s.runId]];
  const e = s.execution;
  if (e) {
    rows.push(['execution', `${e.name ?? '?'}  ${e.status ?? '?'}`]);
    rows.push(['  started / stopped', `${e.startDate ?? '-'} / ${e.stopDate ?? '-'}`]);
    if (e.error) rows.push(['  error', `${e.error}${e.cause ? `: ${e.cause}` : ''}`]);
    if (e.redriveStatus) rows.push(['  redrive', `${e.redriveStatus} (redriven ${e.redriveCount ?? 0}x)`]);
    if (e.consoleUrl) rows.push(['  console', e.consoleUrl]);
  } else {
    rows.push(['execution', 'none found']);
  }
  if (s.run) {
    const r = s.run;
    rows.push(['run item', `${r.status ?? '?'}${r.attempt ? ` (attempt ${r.attempt})` : ''}`]);
    rows.push(['  started / finished', `${r.startedAt ?? '-'} / ${r.finishedAt ?? '-'}`]);
    for (const [k, v] of Object.entries(r.totals)) rows.push([`  source ${k}`, v.toLocaleString('en-US')]);
    for (const [k, v] of Object.entries(r.counts)) rows.push([`  goals ${k}`, v.toLocaleString('en-US')]);
    if (r.lastError) rows.push(['  last error', r.lastError]);
    if (r.continuation) {
      const c = r.continuation;
      rows.push([
        '  continued',
        `in ${c.executionName} (execution ${c.executions}), ${c.pending.toLocaleString('en-US')} records pending then`,
      ]);
    }
  } else {
    rows.push(['run item', 'not in the checkpoint table (yet)']);
  }
  const byStatus = Object.entries(s.records.byStatus)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
    .join(', ');
  rows.push(['records', `${s.records.total.toLocaleString('en-US')}${byStatus ? `  (${byStatus})` : ''}`]);
  const c = s.connection;
  rows.push(['connection', `${c.connectionId}  ${c.status ?? (c.error ? `unavailable: ${c.error}` : '?')}`]);
  for (const field of DETAIL_FIELDS) {
    const value = c.details?.[field];
    if (value !== undefined && value !== null) rows.push([`  ${field}`, formatDetail(field, value)]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}

function formatDetail(field: string, value: unknown): string {
  if (typeof value === 'number' && /At$/.test(field)) return new Date(value).toISOString();
  return typeof value === 'string' ? value : JSON.stringify(value);
}
