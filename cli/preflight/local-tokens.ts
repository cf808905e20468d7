import { readFile } from 'node:fs/promises';
import type { PreflightTokens } from '#core/preflight/index.ts';
import { obtainToken, parseConnectionSecret } from '#core/token/index.ts';
import type { ConnectionSecret, GrantType } from '../../lambdas/core/ports.ts';
import { simulatorSecret } from '../../local/runner/connection.ts';
import { remoteIdp } from '../../local/runner/peers.ts';
import { CliUsageError } from '../aws/cli.ts';

/** Re-obtained this long before expiry, so no check runs on a token about to lapse. */
const MARGIN_MS = 5_000;

/**
 * The local form's credentials, the way `goal-sync local` and `connect` define grants: a connection
 * secret file (README step 3's JSON; tokenUrl defaults to the IdP URL's /oauth2/v1/token), or, without
 * one, the IdP simulator's own client, as `goal-sync local --idp-url` takes it.
 */
export async function localSecret(o: {
  idpUrl: string;
  grant: GrantType;
  secretFile?: string;
}): Promise<ConnectionSecret> {
  if (!o.secretFile) {
    try {
      return await simulatorSecret(await remoteIdp(o.idpUrl), o.grant);
    } catch (err) {
      throw new CliUsageError(
        `${o.idpUrl} is not an IdP simulator (${(err as Error).message.slice(0, 120)}): give the connection's credentials with --secret FILE`,
        false,
      );
    }
  }
  let raw: string;
  try {
    raw = await readFile(o.secretFile, 'utf8');
  } catch {
    throw new CliUsageError(`cannot read --secret ${o.secretFile}`, false);
  }
  const json = JSON.parse(raw) as Record<string, unknown>;
  json.tokenUrl ??= new URL('/oauth2/v1/token', o.idpUrl).href;
  const secret = parseConnectionSecret(o.secretFile, json, { allowLoopbackHttp: true });
  if (o.grant === 'refresh_token') {
    // IDCS refresh tokens are single-use: spending the operator's one here would leave the broker a dead one.
    throw new CliUsageError(
      "--grant refresh-token would spend the connection's refresh token (IDCS refresh tokens are single-use): use --stack (the broker's token), or --grant client-credentials / jwt-bearer with --secret",
    );
  }
  return secret;
}

/** Tokens straight from the token endpoint, kept in memory only, renewed shortly before they expire. */
export function endpointTokens(secret: ConnectionSecret, grant: GrantType): PreflightTokens {
  let refreshToken = secret.bootstrapRefreshToken;
  let current: { accessToken: string; expiresAt: number } | undefined;
  return {
    grant,
    origin: `token endpoint ${new URL(secret.tokenUrl).host}`,
    async token() {
      if (current && current.expiresAt - MARGIN_MS > Date.now()) return current.accessToken;
      const set = await obtainToken({ grant, secret, refreshToken }, { attempts: 2 });
      if (set.refreshToken) refreshToken = set.refreshToken;
      current = { accessToken: set.accessToken, expiresAt: set.expiresAt };
      return set.accessToken;
    },
  };
}
