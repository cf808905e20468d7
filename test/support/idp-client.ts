import { importJWK, type JWK, SignJWT } from 'jose';
import {
  CLIENT_ASSERTION_TYPE,
  DEFAULT_SUBJECT,
  IDCS_AUDIENCE,
  type IdpClient,
} from '../../local/idp/index.ts';

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

export interface AssertionClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  expiresInSeconds?: number;
  iat?: number;
  /** Header members naming the certificate (IDCS wants kid = its alias, or x5t); none by default. */
  kid?: string;
  x5t?: string;
  /** Leaves `exp` out (an assertion that never expires). */
  omitExp?: boolean;
}

export async function signAssertion(privateJwk: JWK, claims: AssertionClaims): Promise<string> {
  const key = await importJWK(privateJwk, 'RS256');
  const now = Math.floor(Date.now() / 1000);
  const naming = { ...(claims.kid ? { kid: claims.kid } : {}), ...(claims.x5t ? { x5t: claims.x5t } : {}) };
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...naming })
    .setIssuer(claims.iss)
    .setSubject(claims.sub)
    .setAudience(claims.aud)
    .setIssuedAt(claims.iat ?? now)
    .setJti(crypto.randomUUID());
  if (!claims.omitExp) jwt.setExpirationTime((claims.iat ?? now) + (claims.expiresInSeconds ?? 300));
  return jwt.sign(key);
}

/** A user assertion as IDCS documents it: kid = the certificate alias, aud = IDCS, sub = a user. */
export function userAssertion(
  client: Pick<IdpClient, 'clientId' | 'privateJwk' | 'certificateAlias'>,
  overrides: Partial<AssertionClaims> = {},
): Promise<string> {
  return signAssertion(client.privateJwk, {
    iss: client.clientId,
    sub: DEFAULT_SUBJECT,
    aud: IDCS_AUDIENCE,
    kid: client.certificateAlias,
    ...overrides,
  });
}

/** The form members of a client assertion (RFC 7523 2.2): iss = sub = the client id. */
export async function clientAssertionForm(
  client: Pick<IdpClient, 'clientId' | 'privateJwk' | 'certificateAlias'>,
  overrides: Partial<AssertionClaims> = {},
): Promise<Record<string, string>> {
  return {
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: await userAssertion(client, { sub: client.clientId, ...overrides }),
  };
}
