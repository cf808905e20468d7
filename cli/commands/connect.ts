import { exchangeAuthorizationCode } from '#core/token/index.ts';
import { mask } from '../../lambdas/core/mask.ts';
import { DEFAULT_SCOPE } from '../../local/constants.ts';
import { connectionStatusOf, invokeBroker } from '../aws/broker-invoke.ts';
import {
  type CliDeps,
  COMMON_OPTIONS,
  defaultDeps,
  EXIT,
  intFlag,
  requireFlag,
  runStackCommand,
} from '../aws/cli.ts';
import { authorizeUrlFromTokenUrl, buildAuthorizeUrl, withOfflineAccess } from '../aws/oauth/authorize.ts';
import { startCallbackServer } from '../aws/oauth/callback-server.ts';
import { createPkce, createState } from '../aws/oauth/pkce.ts';
import { readConnectionSecret, secretIdFor, storeBootstrapRefreshToken } from '../aws/oauth/stored-secret.ts';
import { discoverStack, STACK_OUTPUTS } from '../aws/stack-outputs.ts';

/** Fixed, so the redirect URI can be registered in the IdP app before the first connect. */
export const DEFAULT_CALLBACK_PORT = 8721;

export const usage = `goal-sync connect --stack NAME --connection ID [flags]   authorize a connection in the browser

  --stack NAME         CloudFormation stack of the deployment (required)
  --region REGION      AWS region (default: the SDK's AWS_REGION / profile)
  --connection ID      connection to authorize (required); its secret is <ConnectionSecretPrefix><ID>
  --authorize-url URL  authorize endpoint (default: the token URL's host + /oauth2/v1/authorize, IDCS)
  --scope S            scope to request (default: the secret's scope, else '${DEFAULT_SCOPE}');
                       offline_access is always added (no refresh token without it)
  --port P             callback port on 127.0.0.1 (default ${DEFAULT_CALLBACK_PORT}); register
                       http://127.0.0.1:${DEFAULT_CALLBACK_PORT}/callback as the IdP app's redirect URI
  --no-browser         only print the URL to open
  --json               the URL and progress go to stderr; stdout gets {connectionId, secretId, redirectUri, status}
  -h, --help           this help

examples:
  goal-sync connect --stack HcmGoalSync-prod --connection oracle-hcm
  goal-sync connect --stack HcmGoalSync-prod --connection oracle-hcm --port 9000 --no-browser
Authorization code + PKCE (S256). The refresh token goes into the connection's secret as
bootstrapRefreshToken and the token broker moves it into its encrypted store; no token is printed.
Exit codes: 0 connected, 1 failure, 2 bad arguments, 3 authorization refused or failed`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  connection: { type: 'string' },
  'authorize-url': { type: 'string' },
  scope: { type: 'string' },
  port: { type: 'string' },
  'no-browser': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const REQUIRED = [STACK_OUTPUTS.connectionSecretPrefix, STACK_OUTPUTS.tokenBrokerFunctionName] as const;

export async function run(argv: string[], deps: CliDeps = defaultDeps()): Promise<number> {
  return runStackCommand(argv, usage, OPTIONS, deps, async ({ flags, stackName, clients: awsClients }) => {
    const connectionId = requireFlag(flags.connection, 'connection');
    // With --json, human lines go to stderr so stdout is one JSON document.
    const say = flags.json ? deps.err : deps.out;
    const port = intFlag(flags.port, 'port', DEFAULT_CALLBACK_PORT, 0, 65535);

    const clients = awsClients();
    const outputs = await discoverStack(clients.cloudFormation, stackName, REQUIRED);
    const secretId = secretIdFor(outputs.ConnectionSecretPrefix, connectionId);
    const creds = await readConnectionSecret(clients.secrets, secretId, connectionId, outputs.IdpTokenUrl);
    const { scope, added } = withOfflineAccess(flags.scope ?? creds.scope ?? DEFAULT_SCOPE);
    if (added) say(`note: added offline_access to the scope (required for a refresh token)`);

    const pkce = createPkce();
    const state = createState();
    const callback = await startCallbackServer({ port, expectedState: state, connectionId });
    const redirectUri = callback.redirectUri;
    let refreshToken: string;
    try {
      const authorizeUrl = buildAuthorizeUrl({
        authorizeEndpoint: flags['authorize-url'] ?? authorizeUrlFromTokenUrl(creds.tokenUrl),
        clientId: creds.clientId,
        redirectUri: callback.redirectUri,
        scope,
        state,
        pkce,
      });
      say(`redirect URI (register it in the IdP app): ${callback.redirectUri}`);
      say(`Open this URL to authorize connection ${connectionId} (waiting on ${callback.redirectUri}):`);
      say(`  ${authorizeUrl}`);
      if (!flags['no-browser'] && !(await deps.openBrowser(authorizeUrl))) {
        say('(could not open a browser: open the URL yourself)');
      }
      const code = await callback.waitForCode(deps.timeouts.callbackMs);
      say('authorization code received; exchanging it at the token endpoint');
      ({ refreshToken } = await exchangeAuthorizationCode({
        connectionId,
        tokenUrl: creds.tokenUrl,
        clientId: creds.clientId,
        clientSecret: creds.clientSecret,
        code,
        redirectUri: callback.redirectUri,
        codeVerifier: pkce.verifier,
        timeoutMs: deps.timeouts.exchangeMs,
      }));
    } finally {
      await callback.close();
    }

    await storeBootstrapRefreshToken(clients.secrets, secretId, creds.stored, refreshToken);
    say(`stored refresh token ${mask(refreshToken)} in secret ${secretId} (bootstrapRefreshToken)`);
    try {
      const answer = await invokeBroker(clients.lambda, outputs.TokenBrokerFunctionName, {
        action: 'connect',
        connectionId,
        secretId,
        grant: 'refresh_token',
      });
      const status = connectionStatusOf(answer, connectionId) ?? 'unknown';
      say(`token broker took over connection ${connectionId}: status ${status}`);
      if (flags.json) deps.out(JSON.stringify({ connectionId, secretId, redirectUri, status }));
      return status === 'needs_reauth' ? EXIT.needsReauth : EXIT.ok;
    } catch (err) {
      // The refresh token is safe in the secret; the broker can pick it up on a retry of this step.
      deps.err(`the refresh token is stored, but the token broker did not take it over; run connect again`);
      throw err;
    }
  });
}
