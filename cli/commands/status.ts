import { type ExecutionListItem, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { ConfigError } from '../../lambdas/core/errors.ts';
import { redact } from '../../lambdas/core/mask.ts';
import {
  type CliDeps,
  CliUsageError,
  COMMON_OPTIONS,
  defaultDeps,
  EXIT,
  runStackCommand,
} from '../aws/cli.ts';
import { collectRunStatus, STATUS_OUTPUTS } from '../aws/collect-status.ts';
import {
  canonicalRunIdArg,
  describeExecution,
  latestExecutionOfRun,
  parseExecutionInput,
} from '../aws/executions.ts';
import { renderRunStatus } from '../aws/run-status.ts';
import { discoverStack } from '../aws/stack-outputs.ts';

export const usage = `goal-sync status --stack NAME [--run-id ID | --execution-arn ARN] [--json]

  --stack NAME         CloudFormation stack of the deployment (required)
  --region REGION      AWS region (default: the SDK's AWS_REGION / profile)
  --run-id ID          one run: its latest execution, checkpoint counters, record counts by status
                       and the connection's status (from the token broker, masked)
  --execution-arn ARN  the same, for one execution
  --connection ID      connection to report (default: the execution's input)
  --json               print JSON instead of text
  -h, --help           this help
Without --run-id / --execution-arn: the 10 latest executions.

examples:
  goal-sync status --stack HcmGoalSync-prod
  goal-sync status --stack HcmGoalSync-prod --run-id nightly-20261201T0230Z --json

Exit codes: 0 ok, 1 failure (or run not found), 2 bad arguments, 3 the connection needs re-auth`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  'run-id': { type: 'string' },
  'execution-arn': { type: 'string' },
  connection: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function run(argv: string[], deps: CliDeps = defaultDeps()): Promise<number> {
  return runStackCommand(argv, usage, OPTIONS, deps, async ({ flags, stackName, clients: awsClients }) => {
    if (flags['run-id'] && flags['execution-arn']) {
      throw new CliUsageError('--run-id and --execution-arn are alternatives');
    }
    const clients = awsClients();
    const outputs = await discoverStack(clients.cloudFormation, stackName, STATUS_OUTPUTS);

    if (!flags['run-id'] && !flags['execution-arn']) {
      const res = await clients.sfn.send(
        new ListExecutionsCommand({ stateMachineArn: outputs.StateMachineArn, maxResults: 10 }),
      );
      const executions = res.executions ?? [];
      deps.out(
        flags.json ? JSON.stringify(executions.map(listRow), null, 2) : renderExecutionTable(executions),
      );
      return EXIT.ok;
    }

    let runId = flags['run-id'] === undefined ? undefined : canonicalRunIdArg(flags['run-id']);
    const execution = flags['execution-arn']
      ? await describeExecution(clients.sfn, flags['execution-arn'])
      : await latestExecutionOfRun(clients.sfn, outputs.StateMachineArn, runId ?? '');
    if (flags['execution-arn']) {
      if (!execution) throw new ConfigError(`execution ${flags['execution-arn']} does not exist`);
      const input = parseExecutionInput(execution.input);
      runId = typeof input?.runId === 'string' ? input.runId : (execution.name ?? '');
    }
    const status = await collectRunStatus(clients, outputs, runId ?? '', execution, flags.connection);
    if (!status.execution && !status.run && status.records.total === 0) {
      throw new ConfigError(`no execution and no checkpoint data for run ${runId}`);
    }
    deps.out(flags.json ? JSON.stringify(redact(status), null, 2) : renderRunStatus(status));
    return status.connection.status === 'needs_reauth' ? EXIT.needsReauth : EXIT.ok;
  });
}

function listRow(e: ExecutionListItem) {
  return {
    name: e.name,
    status: e.status,
    startDate: e.startDate?.toISOString(),
    stopDate: e.stopDate?.toISOString(),
    redriveCount: e.redriveCount,
    executionArn: e.executionArn,
  };
}

function renderExecutionTable(executions: ExecutionListItem[]): string {
  if (executions.length === 0) return 'no executions yet';
  const rows = [
    ['NAME', 'STATUS', 'STARTED', 'STOPPED'],
    ...executions.map((e) => {
      const r = listRow(e);
      return [r.name ?? '?', r.status ?? '?', r.startDate ?? '-', r.stopDate ?? '-'];
    }),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)));
  return rows
    .map((row) => row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  '))
    .join('\n');
}
