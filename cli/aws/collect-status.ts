import type { DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { EXIT } from './cli.ts';
import type { AwsClients } from './clients.ts';
import { readConnectionState } from './connection-state.ts';
import { parseExecutionInput } from './executions.ts';
import {
  connectionView,
  countRecordsByStatus,
  executionView,
  type RunStatus,
  readRunItem,
} from './run-status.ts';
import { FALLBACK_CONNECTION_ID, STACK_OUTPUTS, type StackOutputs } from './stack-outputs.ts';

/** The outputs `status` (and `start --wait`) need. */
export const STATUS_OUTPUTS = [
  STACK_OUTPUTS.stateMachineArn,
  STACK_OUTPUTS.checkpointTableName,
  STACK_OUTPUTS.connectionTableName,
] as const;
type StatusOutputs = StackOutputs<(typeof STATUS_OUTPUTS)[number]>;

/**
 * Everything known about one run: the execution, the checkpoint table's run item and record counts,
 * and the connection's state from the connection table (its non-secret attributes). A failed read
 * does not hide the rest: it is shown in place of the connection status.
 */
export async function collectRunStatus(
  clients: AwsClients,
  outputs: StatusOutputs,
  runId: string,
  execution: DescribeExecutionCommandOutput | undefined,
  connectionOverride?: string,
): Promise<RunStatus> {
  const input = parseExecutionInput(execution?.input);
  const connectionId =
    connectionOverride ??
    (typeof input?.connectionId === 'string' ? input.connectionId : undefined) ??
    outputs.DefaultConnectionId ??
    FALLBACK_CONNECTION_ID;
  const table = outputs.CheckpointTableName;
  const [run, records, connection] = await Promise.all([
    readRunItem(clients.dynamo, table, runId),
    countRecordsByStatus(clients.dynamo, table, runId),
    readConnectionState(clients.dynamo, outputs.ConnectionTableName, connectionId).catch((err: unknown) =>
      err instanceof Error ? err : new Error(String(err)),
    ),
  ]);
  return {
    runId,
    execution: execution ? executionView(execution) : undefined,
    run,
    records,
    connection: connectionView(connectionId, connection),
  };
}

const REAUTH = /needs_reauth|ReauthRequired/i;

/**
 * Exit code of a finished run: 0 only when the execution succeeded with no failed records (as
 * `goal-sync local`), 3 when it stopped for re-authentication, 1 otherwise.
 */
export function exitCodeForRun(s: RunStatus): number {
  if (REAUTH.test(s.execution?.error ?? '') || REAUTH.test(s.run?.status ?? '')) return EXIT.needsReauth;
  const failedRecords = (s.records.byStatus.failed ?? 0) + (s.run?.counts.failed ?? 0);
  if (s.execution?.status !== 'SUCCEEDED' || failedRecords > 0) return EXIT.failure;
  if (s.run?.status === 'failed' || s.run?.status === 'completed_with_failures') return EXIT.failure;
  return EXIT.ok;
}
