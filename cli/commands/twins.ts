import { ChunkStore } from '#core/checkpoint/index.ts';
import { HcmGoalsClient } from '#core/hcm/index.ts';
import { listTwins, removeYounger, type Twin, type TwinRemoval } from '#core/sync/index.ts';
import { ConfigError } from '../../lambdas/core/errors.ts';
import type { GrantType, TokenProvider } from '../../lambdas/core/ports.ts';
import {
  type CliDeps,
  CliUsageError,
  COMMON_OPTIONS,
  defaultDeps,
  EXIT,
  runStackCommand,
} from '../aws/cli.ts';
import { canonicalRunIdArg } from '../aws/executions.ts';
import { discoverStack, STACK_OUTPUTS } from '../aws/stack-outputs.ts';
import { endpointTokens, localSecret } from '../preflight/local-tokens.ts';

export const usage = `goal-sync twins --stack NAME --run-id ID [--remove --hcm-url URL --idp-url URL [--secret FILE]] [--json]
  Lists the twins a run reported (goals.twins, event sync.twins_found): two goals of one natural key
  in HCM that this system POSTed both, because Oracle committed a first POST after the settle horizon.
  Runs adopt the oldest (lowest GoalId) and never delete: removing the younger is a person's decision.

  --stack NAME     CloudFormation stack of the deployment (its checkpoint table holds the run's twins)
  --region REGION  AWS region (default: the SDK's AWS_REGION / profile)
  --run-id ID      the run that reported them (its latest attempt)
  --remove         delete the younger goal of each twin (REST DELETE on the goal plan's child), each
                   with the ETag the run listed it with: a goal edited since is refused, not deleted
  --hcm-url URL    the pod (or the simulator) to delete on; --remove needs it ...
  --idp-url URL    ... and the IdP its token comes from
  --secret FILE    the connection's credentials as JSON (README step 3's shape), client-credentials
                   grant; without it the IdP must be the simulator
  --json           print {twins, removed} instead of lines
  -h, --help       this help

examples:
  goal-sync twins --stack HcmGoalSync-prod --run-id nightly-20261201T0230Z
  goal-sync twins --stack HcmGoalSync-prod --run-id nightly-20261201T0230Z --remove \\
    --hcm-url https://acme.fa.us2.oraclecloud.com --idp-url https://idcs-1.identity.oraclecloud.com --secret conn.json

Exit codes: 0 listed (or every younger goal removed), 1 a removal was refused or failed, 2 bad arguments`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  'run-id': { type: 'string' },
  remove: { type: 'boolean' },
  'hcm-url': { type: 'string' },
  'idp-url': { type: 'string' },
  secret: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function run(argv: string[], deps: CliDeps = defaultDeps()): Promise<number> {
  return runStackCommand(argv, usage, OPTIONS, deps, async ({ flags, stackName, clients: awsClients }) => {
    if (!flags['run-id']) throw new CliUsageError('--run-id is required');
    if (flags.remove && (!flags['hcm-url'] || !flags['idp-url']))
      throw new CliUsageError(
        '--remove needs --hcm-url and --idp-url (the goals are deleted from this machine)',
      );
    const runId = canonicalRunIdArg(flags['run-id']);
    const clients = awsClients();
    const outputs = await discoverStack(clients.cloudFormation, stackName, [
      STACK_OUTPUTS.checkpointTableName,
    ]);
    const chunks = new ChunkStore(clients.dynamo, outputs.CheckpointTableName);
    if ((await chunks.listChunkSummaries(runId)).length === 0)
      throw new ConfigError(`run ${runId} has no chunk summaries in ${outputs.CheckpointTableName}`);
    const twins = await listTwins(chunks, runId);
    const removed = flags.remove && twins.length > 0 ? await removeOnPod(flags, twins) : [];
    deps.out(flags.json ? JSON.stringify({ runId, twins, removed }, null, 2) : render(runId, twins, removed));
    return removed.some((r) => r.outcome === 'refused') ? EXIT.failure : EXIT.ok;
  });
}

async function removeOnPod(
  flags: { 'hcm-url'?: string; 'idp-url'?: string; secret?: string },
  twins: Twin[],
): Promise<TwinRemoval[]> {
  // IDCS refresh tokens are single-use: a person's own removal takes client credentials, never the broker's.
  const grant: GrantType = flags.secret ? 'client_credentials' : 'refresh_token';
  const secret = await localSecret({
    idpUrl: flags['idp-url']!,
    grant,
    ...(flags.secret ? { secretFile: flags.secret } : {}),
  });
  const tokens = endpointTokens(secret, grant);
  const provider: TokenProvider = {
    // The endpoint's token, renewed before it lapses; a version of its own is all a 401 retry needs.
    getToken: async () => ({ accessToken: await tokens.token(), expiresAt: Date.now() + 60_000, version: 1 }),
  };
  const hcm = new HcmGoalsClient({
    baseUrl: flags['hcm-url']!,
    connectionId: 'twins',
    tokens: provider,
    timeoutMs: 30_000,
    maxAttempts: 3,
  });
  return removeYounger(hcm, twins);
}

function render(runId: string, twins: Twin[], removed: TwinRemoval[]): string {
  if (twins.length === 0) return `run ${runId}: no twins`;
  const lines = [`run ${runId}: ${twins.length} natural key(s) with twins of ours in HCM`];
  for (const t of twins) {
    const younger = t.younger.map((y) => `${y.goalId} (${outcomeOf(removed, y.goalId)})`).join(', ');
    lines.push(
      `  ${t.externalKey}: keep GoalId ${t.keep.goalId}; younger ${younger}; ${t.postsSent} POSTs sent`,
    );
  }
  if (removed.length === 0) lines.push('remove the younger with --remove (a person decides; no run deletes)');
  return lines.join('\n');
}

function outcomeOf(removed: TwinRemoval[], goalId: number): string {
  const r = removed.find((x) => x.goalId === goalId);
  if (!r) return 'not removed';
  return r.reason ? `${r.outcome}: ${r.reason}` : r.outcome;
}
