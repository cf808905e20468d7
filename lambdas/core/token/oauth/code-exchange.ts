import { ConfigError, ReauthRequiredError, TransientError } from '../../errors.ts';
import { parseRetryAfter } from '../../retry.ts';

export interface CodeExchange {
  connectionId: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  code: string;
  redirectUri: string;
  codeVerifier: string;
  timeoutMs: number;
}

/** What the CLI keeps from the token response; the access token is dropped on purpose (the broker mints its own). */
export interface ExchangedGrant {
  refreshToken: string;
  scope?: string;
  expiresIn?: number;
}

// RFC 6749 section 2.3.1: client id and secret are form-encoded before they are joined and base64'd.
const formEncode = (value: string): string => encodeURIComponent(value).replace(/%20/g, '+');

export function basicAuthorization(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`;
}

/**
 * Exchanges an authorization code (with its PKCE verifier) at the token endpoint, authenticating
 * with client_secret_basic. Never retried: a code is single-use, and replaying it can make the IdP
 * revoke what it already issued. OAuth errors (invalid_grant, invalid_client, ...) mean the
 * connection still needs authorizing -> ReauthRequiredError; timeouts, 429 and 5xx -> TransientError.
 */
export async function exchangeAuthorizationCode(p: CodeExchange): Promise<ExchangedGrant> {
  let res: Response;
  try {
    res = await fetch(p.tokenUrl, {
      method: 'POST',
      headers: {
        authorization: basicAuthorization(p.clientId, p.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: p.code,
        redirect_uri: p.redirectUri,
        code_verifier: p.codeVerifier,
      }),
      signal: AbortSignal.timeout(p.timeoutMs),
      redirect: 'error',
    });
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    throw new TransientError(
      timedOut
        ? `the token endpoint did not answer within ${p.timeoutMs} ms`
        : `could not reach the token endpoint: ${err instanceof Error ? err.message : String(err)}`,
      undefined,
      { cause: err },
    );
  }
  const text = await res.text().catch(() => '');
  const body = parseJson(text);
  if (res.status === 429 || res.status >= 500) {
    throw new TransientError(
      `the token endpoint answered ${res.status}`,
      parseRetryAfter(res.headers.get('retry-after')),
      {
        status: res.status,
      },
    );
  }
  if (!res.ok) {
    const error = typeof body?.error === 'string' ? body.error : `HTTP ${res.status}`;
    const description = typeof body?.error_description === 'string' ? `: ${body.error_description}` : '';
    // AppError masks anything token-like in the message.
    throw new ReauthRequiredError(p.connectionId, `the code exchange failed with ${error}${description}`);
  }
  const refreshToken = body?.refresh_token;
  if (typeof refreshToken !== 'string' || refreshToken.length === 0) {
    throw new ConfigError(
      'the token endpoint issued no refresh token: the scope must include offline_access and the IdP app must allow token refresh',
    );
  }
  return {
    refreshToken,
    scope: typeof body?.scope === 'string' ? body.scope : undefined,
    expiresIn: typeof body?.expires_in === 'number' ? body.expires_in : undefined,
  };
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
