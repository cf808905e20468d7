import { AmbiguousTokenResponseError, GrantRejectedError, TransientError } from '../../errors.ts';
import { maskSecrets } from '../../mask.ts';
import { parseRetryAfter } from '../../retry.ts';
import * as z from '../../zod.ts';

export const DEFAULT_TOKEN_TIMEOUT_MS = 5_000;

/** RFC 6749 section 5.1, what we need of it. */
const tokenResponseSchema = z.object({
  access_token: z.string().check(z.minLength(1)),
  token_type: z.optional(z.string()),
  expires_in: z.optional(z.coerce.number().check(z.positive())),
  refresh_token: z.optional(z.string().check(z.minLength(1))),
  scope: z.optional(z.string()),
});
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

const FATAL_OAUTH_ERRORS = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client']);

/** Socket errors raised before a single byte of the request was sent: always safe to resend. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export interface TokenRequest {
  tokenUrl: string;
  form: URLSearchParams;
  /** client_secret_basic; absent for a client that authenticates with the assertion alone. */
  basicAuth?: { clientId: string; clientSecret: string };
  timeoutMs?: number;
  now?: () => number;
  fetch?: typeof fetch;
  timeout?: (ms: number) => AbortSignal;
}

/** One POST to the token endpoint, classified: resolves with a parsed response or throws a typed error. */
export async function postTokenRequest(req: TokenRequest): Promise<TokenResponse> {
  const timeoutMs = req.timeoutMs ?? DEFAULT_TOKEN_TIMEOUT_MS;
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
    // A fresh connection per request: a pooled socket that the server closed while idle fails after
    // the request was written, which for a rotating grant would be an outcome we cannot know.
    connection: 'close',
  };
  if (req.basicAuth) headers.authorization = basicAuthorization(req.basicAuth);
  let response: Response;
  let text: string;
  try {
    response = await (req.fetch ?? fetch)(req.tokenUrl, {
      method: 'POST',
      headers,
      body: req.form.toString(),
      signal: req.timeout ? req.timeout(timeoutMs) : AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (err) {
    throw classifyNetworkError(err, timeoutMs);
  }
  return parseTokenResponse(response.status, text, response.headers.get('retry-after'), req.now?.());
}

/** RFC 6749 2.3.1: both parts are form-urlencoded before being joined and base64-encoded. */
export function basicAuthorization(auth: { clientId: string; clientSecret: string }): string {
  const user = encodeURIComponent(auth.clientId);
  const pass = encodeURIComponent(auth.clientSecret);
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

/** Maps an HTTP answer to a token response or a typed error (exported for unit tests). */
export function parseTokenResponse(
  status: number,
  body: string,
  retryAfterHeader: string | null,
  now?: number,
): TokenResponse {
  const json = safeJson(body);
  if (status >= 200 && status < 300) {
    const parsed = tokenResponseSchema.safeParse(json);
    // The IdP processed the request (and may have rotated the refresh token) but we cannot read the result.
    if (!parsed.success)
      throw new AmbiguousTokenResponseError(`token endpoint answered ${status} with an unreadable body`);
    return parsed.data;
  }
  const oauthError = typeof json?.error === 'string' ? json.error : undefined;
  const description = typeof json?.error_description === 'string' ? json.error_description : undefined;
  if (status === 429 || status >= 500 || status === 408) {
    const retryAfterMs = parseRetryAfter(retryAfterHeader, now);
    throw new TransientError(
      `token endpoint answered ${status}${oauthError ? ` ${oauthError}` : ''}${describe(description)}`,
      retryAfterMs,
      { status },
    );
  }
  if (status === 401 || (oauthError !== undefined && FATAL_OAUTH_ERRORS.has(oauthError))) {
    throw new GrantRejectedError(oauthError ?? 'unauthorized', status, description);
  }
  // Other 4xx (invalid_request, invalid_scope, unsupported_grant_type): a configuration a human must fix.
  throw new GrantRejectedError(oauthError ?? `http_${status}`, status, description);
}

/** fetch failures: a timeout or reset after sending is ambiguous; a refused connection is not. */
export function classifyNetworkError(err: unknown, timeoutMs: number): TransientError {
  if (isTimeout(err)) {
    return new AmbiguousTokenResponseError(
      `token endpoint did not answer within ${timeoutMs} ms`,
      undefined,
      {
        cause: err,
      },
    );
  }
  const code = networkCode(err);
  if (code && NOT_SENT_CODES.has(code)) {
    return new TransientError(`token endpoint unreachable (${code})`, undefined, { cause: err });
  }
  return new AmbiguousTokenResponseError(
    `token endpoint connection failed (${code ?? 'unknown'})`,
    undefined,
    {
      cause: err,
    },
  );
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

/** undici wraps the socket error: TypeError('fetch failed', { cause: { code } }), sometimes nested. */
function networkCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) current = errors[0];
    else current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function safeJson(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function describe(description: string | undefined): string {
  return description ? `: ${maskSecrets(description).slice(0, 200)}` : '';
}
