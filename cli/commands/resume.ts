import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ConfigError } from '../../lambdas/core/errors.ts';
import { redact } from '../../lambdas/core/mask.ts';
import { type CliDeps, COMMON_OPTIONS, defaultDeps, EXIT, requireFlag, runStackCommand } from '../aws/cli.ts';
import type { AwsClients } from '../aws/clients.ts';
import { connectionStatusOf, readConnectionState } from '../aws/connection-state.ts';
import {
  canonicalRunIdArg,
  consoleUrlFor,
  describeExecution,
  executionArnFor,
  executionsOfRun,
  parseExecutionInput,
  resumeExecutionName,
} from '../aws/executions.ts';
import { discoverStack, STACK_OUTPUTS } from '../aws/stack-outputs.ts';

export const usage = `goal-sync resume --stack NAME --run-id ID [--json]   continue a run that did not finish

  --stack NAME         CloudFormation stack of the deployment (required)
  --region REGION      AWS region (default: the SDK's AWS_REGION / profile)
  --run-id ID          the run to continue (required)
  --json               print {runId, executionName, executionArn, consoleUrl, source, connectionId,
                       previous: {executionArn, status, error}} as JSON (messages go to stderr)
  -h, --help           this help
Starts a new execution <ID>-r<n> with the run's input and run id (never a redrive: a redrive of a run
that ended in its Fail state only replays that state). plan-sync refuses it if the run does not exist or
its source changed; the pipeline skips every record already done, and records that iterations of the
previous execution may still hold are waited for, never written twice. A run whose execution is still
running is not resumed (its console URL is printed). Scheduled runs are named nightly-YYYYMMDDTHHMMZ /
verify-YYYYMMDDTHHMMZ (UTC fire time; the fire time as 2026-12-01T02:30:00Z is accepted too).

examples:
  goal-sync resume --stack HcmGoalSync-prod --run-id nightly-20261201T0230Z
  goal-sync resume --stack HcmGoalSync-prod --run-id run-20261201-093000-1a2b --json

Exit codes: 0 resumed, 1 failure (or still running), 2 bad arguments, 3 the connection needs re-auth`;

const OPTIONS = { ...COMMON_OPTIONS, 'run-id': { type: 'string' }, json: { type: 'boolean' } } as const;

const MAX_NAME_ATTEMPTS = 5;

export async function run(argv: string[], deps: CliDeps = defaultDeps()): Promise<number> {
  return runStackCommand(argv, usage, OPTIONS, deps, async ({ flags, stackName, clients: awsClients }) => {
    const runId = canonicalRunIdArg(requireFlag(flags['run-id'], 'run-id'));
    const clients = awsClients();
    const outputs = await discoverStack(clients.cloudFormation, stackName, [STACK_OUTPUTS.stateMachineArn]);
    const stateMachineArn = outputs.StateMachineArn;

    const executions = await executionsOfRun(clients.sfn, stateMachineArn, runId);
    const latest = await describeExecution(
      clients.sfn,
      executions[0]?.executionArn ?? executionArnFor(stateMachineArn, runId),
    );
    if (!latest?.executionArn) {
      throw new ConfigError(
        `run ${runId} has no execution: start it with 'goal-sync start --run-id ${runId} ...'`,
      );
    }
    const status = latest.status ?? 'UNKNOWN';
    if (status === 'RUNNING' || status === 'PENDING_REDRIVE') {
      // One live execution per run (invariant 11): a resume beside it would be a second.
      deps.err(
        `run ${runId} is ${status}: its execution is live, nothing to resume (a run continues in a new execution only after this one ended)`,
      );
      deps.err(`execution  ${latest.executionArn}`);
      deps.err(`console    ${consoleUrlFor(latest.executionArn)}`);
      return EXIT.failure;
    }
    const input = parseExecutionInput(latest.input);
    if (!input)
      throw new ConfigError(`the input of ${latest.executionArn} is not a JSON object: cannot reuse it`);

    if (/ReauthRequired/.test(latest.error ?? '') && outputs.ConnectionTableName) {
      const connectionId = typeof input.connectionId === 'string' ? input.connectionId : undefined;
      if (connectionId && (await stillNeedsReauth(clients, outputs.ConnectionTableName, connectionId))) {
        deps.err(
          `connection ${connectionId} still needs re-authentication: run 'goal-sync connect --stack ${stackName} --connection ${connectionId}' first`,
        );
        return EXIT.needsReauth;
      }
    }

    const why = `previous execution ${status}`;
    const nextAttempt = Math.max(0, ...executions.map((e) => e.attempt)) + 1;
    const started = await startAttempt(
      clients.sfn,
      stateMachineArn,
      runId,
      { ...input, runId, resume: true },
      nextAttempt,
    );
    const consoleUrl = consoleUrlFor(started.executionArn);
    // With --json the note goes to stderr, so stdout stays one JSON document.
    const say = flags.json ? deps.err : deps.out;
    if (!flags.json) deps.out(`started execution ${started.name} for run ${runId} (${why})`);
    if (status !== 'SUCCEEDED') {
      say(
        'iterations of the previous execution may still be finishing (up to the Lambda timeout): records they hold are waited for, not written twice',
      );
    }
    if (flags.json) {
      // One JSON document on stdout, in the shape of `start --json` plus what was resumed.
      deps.out(
        JSON.stringify(
          redact({
            runId,
            executionName: started.name,
            executionArn: started.executionArn,
            consoleUrl,
            source: input.source,
            connectionId: input.connectionId,
            previous: {
              executionArn: latest.executionArn,
              status,
              ...(latest.error ? { error: latest.error } : {}),
            },
          }),
          null,
          2,
        ),
      );
      return EXIT.ok;
    }
    deps.out(`execution  ${started.executionArn}`);
    deps.out(`console    ${consoleUrl}`);
    return EXIT.ok;
  });
}

/**
 * StartExecution as `${runId}-r${n}`. Names older than the listing window may already exist, so on
 * ExecutionAlreadyExists the next number is tried (bounded).
 */
async function startAttempt(
  sfn: SFNClient,
  stateMachineArn: string,
  runId: string,
  input: Record<string, unknown>,
  firstAttempt: number,
): Promise<{ name: string; executionArn: string }> {
  for (let attempt = firstAttempt; attempt < firstAttempt + MAX_NAME_ATTEMPTS; attempt++) {
    const name = resumeExecutionName(runId, attempt);
    try {
      const res = await sfn.send(
        new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
      );
      return { name, executionArn: res.executionArn ?? executionArnFor(stateMachineArn, name) };
    } catch (err) {
      if (!(err instanceof Error && err.name === 'ExecutionAlreadyExists')) throw err;
    }
  }
  throw new ConfigError(
    `executions ${runId}-r${firstAttempt}..r${firstAttempt + MAX_NAME_ATTEMPTS - 1} all exist`,
  );
}

async function stillNeedsReauth(
  clients: AwsClients,
  connectionTable: string,
  connectionId: string,
): Promise<boolean> {
  try {
    const state = await readConnectionState(clients.dynamo, connectionTable, connectionId);
    return connectionStatusOf(state) === 'needs_reauth';
  } catch {
    // The status check is advisory; if the state cannot be read, let the resume proceed.
    return false;
  }
}
