import {
  CHECK_NAMES,
  digestToWire,
  factsOf,
  type PreflightReport,
  renderReport,
  runPreflight,
} from '#core/preflight/index.ts';
import type { GrantType } from '../../lambdas/core/ports.ts';
import { ArgsError, enumValue, MAPPING_OPTIONS, mappingFromFlags } from '../args.ts';
import {
  type CliDeps,
  CliUsageError,
  COMMON_OPTIONS,
  defaultDeps,
  EXIT,
  intFlag,
  parseFlags,
  runCommand,
} from '../aws/cli.ts';
import { discoverStack, FALLBACK_CONNECTION_ID, STACK_OUTPUTS } from '../aws/stack-outputs.ts';
import { invokePreflight } from '../preflight/aws-form.ts';
import { localSourceDigest } from '../preflight/local-source.ts';
import { endpointTokens, localSecret } from '../preflight/local-tokens.ts';

/** The plan-wide read's page size (lambdas/core/sync/goal-index.ts) and the stack's request ceiling. */
const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_CEILING = 10;
const GRANTS = ['refresh_token', 'client_credentials', 'jwt_bearer'] as const;

export const usage = `goal-sync preflight (--stack NAME | --idp-url URL --hcm-url URL) --source FILE [flags]
  Checks a pod before the first real run, read-only: the token grant, both goal resources' describe
  against the client's mapping, the privileges, the source's goal plans, workers' plan assignments,
  the page-size cap and keyset paging. One line per check with what to fix (docs/first-real-run.md).

  --stack NAME         a deployed stack: its preflight function checks with the pipeline's rights
                       (the broker's token, the stack's hcmBaseUrl) and answers results, never a token
  --region REGION      AWS region (default: the SDK's AWS_REGION / profile)
  --connection ID      the connection to check (default: the stack's default connection)
  --idp-url URL        an IdP (IDCS identity domain or the simulator) ...
  --hcm-url URL        ... and an HCM pod (or the simulator): checked from this machine
  --secret FILE        the connection's credentials as JSON (README step 3's shape); without it the
                       IdP must be the simulator, whose client is used as goal-sync local does
  --grant G            client-credentials, jwt-bearer or refresh-token (simulator only: IDCS refresh
                       tokens are single-use); default refresh-token with the simulator, else client-credentials
  --source FILE|URI    the export to check (a local file; with --stack also s3://BUCKET/KEY)
  --write-test PERSON  also create, read, patch and delete one goal of worker PERSON (person number)
  --status-map M, --category-map M, --percent-codes C   the tenant's codes, as goal-sync local takes
                       them (with --stack: the stack's goalStatusMap, goalCategoryMap, goalPercentCodes)
  --sample N           workers checked per goal plan (default 5)
  --page-size N        the page size the pipeline asks for (default ${DEFAULT_PAGE_SIZE})
  --hcm-max-rps R      the request ceiling to report and to stay under (default ${DEFAULT_CEILING}, the stack's)
  --json               print {ok, checks: [{name, status, ok, detail, fix}], counts} instead of lines
  -h, --help           this help

checks: ${CHECK_NAMES.join(', ')}

examples:
  goal-sync preflight --stack HcmGoalSync-prod --source ./goals.jsonl
  goal-sync preflight --stack HcmGoalSync-prod --source s3://BUCKET/nightly/goals.jsonl --write-test 10042
  goal-sync preflight --idp-url http://127.0.0.1:4010 --hcm-url http://127.0.0.1:4020 --source goals.jsonl --json

Exit codes: 0 every check passed (warnings allowed), 1 a check failed, 2 bad arguments`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  connection: { type: 'string' },
  'idp-url': { type: 'string' },
  'hcm-url': { type: 'string' },
  secret: { type: 'string' },
  grant: { type: 'string' },
  source: { type: 'string' },
  'write-test': { type: 'string' },
  sample: { type: 'string' },
  'page-size': { type: 'string' },
  'hcm-max-rps': { type: 'string' },
  ...MAPPING_OPTIONS,
  json: { type: 'boolean' },
} as const;

type Flags = ReturnType<typeof parseFlags<typeof OPTIONS>>;

export async function run(argv: string[], deps: CliDeps = defaultDeps()): Promise<number> {
  return runCommand(
    usage,
    deps,
    async () => {
      const flags = parseFlags(argv, OPTIONS);
      if (flags.help) {
        deps.out(usage);
        return EXIT.ok;
      }
      if (!flags.source) throw new CliUsageError('--source is required (the export the first run will read)');
      const local = flags['idp-url'] !== undefined || flags['hcm-url'] !== undefined;
      if (flags.stack && local) throw new CliUsageError('--stack and --idp-url/--hcm-url are alternatives');
      if (!flags.stack && !(flags['idp-url'] && flags['hcm-url'])) {
        throw new CliUsageError('give --stack NAME, or both --idp-url and --hcm-url');
      }
      const report = flags.stack ? await awsForm(flags, flags.stack, deps) : await localForm(flags);
      deps.out(flags.json ? JSON.stringify(report, null, 2) : renderReport(report));
      return report.ok ? EXIT.ok : EXIT.failure;
    },
    argv,
  );
}

const sampleOf = (flags: Flags) => intFlag(flags.sample, 'sample', 5, 1, 100);

async function localForm(flags: Flags): Promise<PreflightReport> {
  const idpUrl = urlFlag(flags['idp-url']!, 'idp-url');
  const hcmUrl = urlFlag(flags['hcm-url']!, 'hcm-url');
  const grant = grantFlag(flags.grant, flags.secret ? 'client_credentials' : 'refresh_token');
  const ceiling = intFlag(flags['hcm-max-rps'], 'hcm-max-rps', DEFAULT_CEILING, 1, 10_000);
  const sampleSize = sampleOf(flags);
  let mapping: ReturnType<typeof mappingFromFlags>;
  try {
    mapping = mappingFromFlags(flags);
  } catch (err) {
    if (err instanceof ArgsError) throw new CliUsageError(err.message);
    throw err;
  }
  const facts = factsOf(await localSourceDigest(flags.source!, sampleSize), mapping);
  const secret = await localSecret({ idpUrl, grant, secretFile: flags.secret });
  return runPreflight({
    hcmBaseUrl: hcmUrl,
    tokens: endpointTokens(secret, grant),
    facts,
    options: {
      pageSize: intFlag(flags['page-size'], 'page-size', DEFAULT_PAGE_SIZE, 1, 10_000),
      ceiling: {
        requestsPerSecond: ceiling,
        from: flags['hcm-max-rps'] ? '--hcm-max-rps' : `default ${DEFAULT_CEILING}, as a stack's`,
      },
      sampleSize,
      mapping,
      ...(flags['write-test'] ? { writeTestPerson: flags['write-test'] } : {}),
    },
  });
}

async function awsForm(flags: Flags, stackName: string, deps: CliDeps): Promise<PreflightReport> {
  if (flags.secret || flags.grant || flags['page-size'] || flags['hcm-max-rps']) {
    throw new CliUsageError(
      "with --stack the grant, page size and ceiling are the stack's: drop --secret, --grant, --page-size and --hcm-max-rps",
    );
  }
  const clients = deps.clients(flags.region);
  const outputs = await discoverStack(clients.cloudFormation, stackName, [
    STACK_OUTPUTS.preflightFunctionName,
  ]);
  const sampleSize = sampleOf(flags);
  const source = flags.source!;
  return invokePreflight(clients.lambda, outputs.PreflightFunctionName, {
    connectionId: flags.connection ?? outputs.DefaultConnectionId ?? FALLBACK_CONNECTION_ID,
    ...(source.startsWith('s3://')
      ? { source: { uri: source } }
      : { digest: digestToWire(await localSourceDigest(source, sampleSize)) }),
    sampleSize,
    ...(flags['write-test'] ? { writeTestPerson: flags['write-test'] } : {}),
  });
}

function urlFlag(raw: string, name: string): string {
  try {
    const url = new URL(raw);
    if (url.protocol === 'https:' || url.protocol === 'http:') return raw;
  } catch {
    // named below
  }
  throw new CliUsageError(`--${name} must be an http(s) URL`);
}

function grantFlag(raw: string | undefined, fallback: GrantType): GrantType {
  if (raw === undefined) return fallback;
  const grant = enumValue(raw, GRANTS);
  if (!grant) throw new CliUsageError('--grant must be refresh-token, client-credentials or jwt-bearer');
  return grant;
}
