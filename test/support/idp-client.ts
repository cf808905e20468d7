import { importJWK, type JWK, SignJWT } from 'jose';
import type { IdpClient } from '../../local/idp/index.ts';

/** A bare OAuth client for the IdP simulator tests: what the token broker will do, without the broker. */

export interface TokenResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export function basicAuth(client: Pick<IdpClient, 'clientId' | 'clientSecret'>): string {
  // RFC 6749 2.3.1: form-encode id and secret before base64.
  const pair = `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`;
  return `Basic ${Buffer.from(pair).toString('base64')}`;
}

/** POSTs a form with client_secret_basic, or with no client authentication when `client` is null. */
export async function postForm(
  url: string,
  client: Pick<IdpClient, 'clientId' | 'clientSecret'> | null,
  form: Record<string, string>,
): Promise<TokenResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client) headers.authorization = basicAuth(client);
  const res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(form) });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

export function refreshGrant(
  tokenUrl: string,
  client: IdpClient,
  refreshToken: string,
): Promise<TokenResponse> {
  return postForm(tokenUrl, client, { grant_type: 'refresh_token', refresh_token: refreshToken });
}

export async function signAssertion(
  privateJwk: JWK,
  claims: { iss: string; sub: string; aud: string | string[]; expiresInSeconds?: number; iat?: number },
): Promise<string> {
  const key = await importJWK(privateJwk, 'RS256');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid: privateJwk.kid, typ: 'JWT' })
    .setIssuer(claims.iss)
    .setSubject(claims.sub)
    .setAudience(claims.aud)
    .setIssuedAt(claims.iat ?? now)
    .setExpirationTime((claims.iat ?? now) + (claims.expiresInSeconds ?? 300))
    .setJti(crypto.randomUUID())
    .sign(key);
}
