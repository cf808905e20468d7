import { ConfigError } from '../../lambdas/core/errors.ts';
import type { GrantType } from '../../lambdas/core/ports.ts';
import { DEFAULT_SCOPE } from '../../local/constants.ts';
import { enumValue } from '../args.ts';
import { type ConnectionAdminRequest, invokeConnectionAdmin } from '../aws/admin-invoke.ts';
import {
  type CliDeps,
  CliUsageError,
  COMMON_OPTIONS,
  defaultDeps,
  EXIT,
  intFlag,
  requireFlag,
  runStackCommand,
} from '../aws/cli.ts';
import { connectionStatusOf } from '../aws/connection-state.ts';
import { authorizeUrlFromTokenUrl, buildAuthorizeUrl, withOfflineAccess } from '../aws/oauth/authorize.ts';
import { startCallbackServer } from '../aws/oauth/callback-server.ts';
import { createPkce, createState } from '../aws/oauth/pkce.ts';
import { discoverStack, STACK_OUTPUTS } from '../aws/stack-outputs.ts';

/** Fixed, so the redirect URI can be registered in the IdP app before the first connect. */
export const DEFAULT_CALLBACK_PORT = 8721;

export const usage = `goal-sync connect --stack NAME --connection ID [flags]   authorize a connection in the browser

  --stack NAME         CloudFormation stack of the deployment (required)
  --region REGION      AWS region (default: the SDK's AWS_REGION / profile)
  --connection ID      connection to authorize (required)
  --authorize-url URL  authorize endpoint (default: the token URL's host + /oauth2/v1/authorize, IDCS)
  --scope S            scope to request (default: the connection's scope, else '${DEFAULT_SCOPE}');
                       offline_access is always added (no refresh token without it)
  --port P             callback port on 127.0.0.1 (default ${DEFAULT_CALLBACK_PORT}); register
                       http://127.0.0.1:${DEFAULT_CALLBACK_PORT}/callback as the IdP app's redirect URI
  --no-browser         only print the URL to open
  --grant G            refresh-token (default: sign in in the browser), or client-credentials or
                       jwt-bearer (- or _ alike): no browser, the connection secret holds what the grant
                       needs (jwt-bearer: privateKeyPem, keyId = the certificate alias, subject)
  --json               the URL and progress go to stderr; stdout gets {connectionId, secretId, redirectUri, status}
  -h, --help           this help

examples:
  goal-sync connect --stack HcmGoalSync-prod --connection oracle-hcm
  goal-sync connect --stack HcmGoalSync-prod --connection oracle-hcm --port 9000 --no-browser
  goal-sync connect --stack HcmGoalSync-prod --connection oracle-hcm --grant jwt-bearer
Authorization code + PKCE (S256). The code goes to the stack's connection-admin function, which
exchanges it with the client secret and hands the refresh token to the token broker's encrypted store:
neither the client secret nor any token reaches this machine.
Exit codes: 0 connected, 1 failure, 2 bad arguments, 3 authorization refused or failed`;

const OPTIONS = {
  ...COMMON_OPTIONS,
  connection: { type: 'string' },
  'authorize-url': { type: 'string' },
  scope: { type: 'string' },
  port: { type: 'string' },
  'no-browser': { type: 'boolean' },
  grant: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const GRANTS: readonly GrantType[] = ['refresh_token', 'client_credentials', 'jwt_bearer'];

const REQUIRED = [STACK_OUTPUTS.connectionAdminFunctionName] as const;

export async function run(argv: string[], deps: CliDeps = defaultDeps()): Promise<number> {
  return runStackCommand(argv, usage, OPTIONS, deps, async ({ flags, stackName, clients: awsClients }) => {
    const connectionId = requireFlag(flags.connection, 'connection');
    // With --json, human lines go to stderr so stdout is one JSON document.
    const say = flags.json ? deps.err : deps.out;
    const port = intFlag(flags.port, 'port', DEFAULT_CALLBACK_PORT, 0, 65535);
    const grant = flags.grant === undefined ? 'refresh_token' : enumValue(flags.grant, GRANTS);
    if (!grant) throw new CliUsageError('--grant must be refresh-token, client-credentials or jwt-bearer');

    const clients = awsClients();
    const outputs = await discoverStack(clients.cloudFormation, stackName, REQUIRED);
    const admin = (request: ConnectionAdminRequest) =>
      invokeConnectionAdmin(clients.lambda, outputs.ConnectionAdminFunctionName, request);
    // Client id, scope and token endpoint: the secret itself stays out of reach of people.
    const described = await admin({ action: 'describe', connectionId });
    if (grant !== 'refresh_token') {
      // No user, no browser: the function has the broker obtain a first token with the secret's credentials.
      const answer = await admin({ action: 'connect', connectionId, grant });
      const status = connectionStatusOf(answer, connectionId) ?? 'unknown';
      say(`connection ${connectionId} connected with the ${grant} grant: status ${status}`);
      if (flags.json) {
        deps.out(
          JSON.stringify({ connectionId, secretId: stringField(described, 'secretId'), grant, status }),
        );
      }
      return status === 'needs_reauth' ? EXIT.needsReauth : EXIT.ok;
    }
    const clientId = stringField(described, 'clientId');
    const tokenUrl = stringField(described, 'tokenUrl');
    const secretId = stringField(described, 'secretId');
    const storedScope = typeof described.scope === 'string' ? described.scope : undefined;
    const { scope, added } = withOfflineAccess(flags.scope ?? storedScope ?? DEFAULT_SCOPE);
    if (added) say(`note: added offline_access to the scope (required for a refresh token)`);

    const pkce = createPkce();
    const state = createState();
    const callback = await startCallbackServer({ port, expectedState: state, connectionId });
    const redirectUri = callback.redirectUri;
    let code: string;
    try {
      const authorizeUrl = buildAuthorizeUrl({
        authorizeEndpoint: flags['authorize-url'] ?? authorizeUrlFromTokenUrl(tokenUrl),
        clientId,
        redirectUri,
        scope,
        state,
        pkce,
      });
      say(`redirect URI (register it in the IdP app): ${redirectUri}`);
      say(`Open this URL to authorize connection ${connectionId} (waiting on ${redirectUri}):`);
      say(`  ${authorizeUrl}`);
      if (!flags['no-browser'] && !(await deps.openBrowser(authorizeUrl))) {
        say('(could not open a browser: open the URL yourself)');
      }
      code = await callback.waitForCode(deps.timeouts.callbackMs);
    } finally {
      await callback.close();
    }
    say('authorization code received; the connection-admin function exchanges it and hands it to the broker');
    // The code is single-use and the exchange happens there: no token ever reaches this process.
    const answer = await admin({
      action: 'connect',
      connectionId,
      authorization: { code, codeVerifier: pkce.verifier, redirectUri },
    });
    const status = connectionStatusOf(answer, connectionId) ?? 'unknown';
    say(`connection ${connectionId} connected: status ${status}`);
    if (flags.json) deps.out(JSON.stringify({ connectionId, secretId, redirectUri, status }));
    return status === 'needs_reauth' ? EXIT.needsReauth : EXIT.ok;
  });
}

function stringField(answer: Record<string, unknown>, field: string): string {
  const value = answer[field];
  if (typeof value !== 'string' || value === '') {
    throw new ConfigError(`the connection-admin function answered without ${field}`);
  }
  return value;
}
