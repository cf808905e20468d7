import { CliUsageError } from '../cli.ts';
import type { Pkce } from './pkce.ts';

/** IDCS (OCI IAM identity domain) serves the authorize endpoint beside the token endpoint. */
export const IDCS_AUTHORIZE_PATH = '/oauth2/v1/authorize';
/** The scope IDCS needs to issue a refresh token. */
export const OFFLINE_ACCESS = 'offline_access';

/** `https://idcs-x.identity.oraclecloud.com/oauth2/v1/token` -> `.../oauth2/v1/authorize` (same origin). */
export function authorizeUrlFromTokenUrl(tokenUrl: string): string {
  let url: URL;
  try {
    url = new URL(tokenUrl);
  } catch {
    throw new CliUsageError(`the connection's tokenUrl is not a URL: ${tokenUrl}`);
  }
  return `${url.origin}${IDCS_AUTHORIZE_PATH}`;
}

/** The scope with offline_access added if it was missing (no refresh token without it). */
export function withOfflineAccess(scope: string): { scope: string; added: boolean } {
  const parts = scope.split(/\s+/).filter(Boolean);
  if (parts.includes(OFFLINE_ACCESS)) return { scope: parts.join(' '), added: false };
  return { scope: [...parts, OFFLINE_ACCESS].join(' '), added: true };
}

export function buildAuthorizeUrl(params: {
  authorizeEndpoint: string;
  clientId: string;
  redirectUri: string;
  scope: string;
  state: string;
  pkce: Pkce;
}): string {
  let url: URL;
  try {
    url = new URL(params.authorizeEndpoint);
  } catch {
    throw new CliUsageError(`--authorize-url is not a URL: ${params.authorizeEndpoint}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new CliUsageError('--authorize-url must be an http(s) URL');
  }
  const query = url.searchParams;
  query.set('response_type', 'code');
  query.set('client_id', params.clientId);
  query.set('redirect_uri', params.redirectUri);
  query.set('scope', params.scope);
  query.set('state', params.state);
  query.set('code_challenge', params.pkce.challenge);
  query.set('code_challenge_method', params.pkce.method);
  return url.toString();
}
