import { ConfigError } from '../../errors.ts';
import type { ConnectionSecret } from '../../ports.ts';
import * as z from '../../zod.ts';

const nonEmpty = z.string().check(z.minLength(1));

/**
 * Shape of the JSON kept per connection in Secrets Manager (or the local secrets file). `tokenUrl` may
 * be left out where the token endpoint is pinned by configuration (the stack's `idpTokenUrl`).
 */
export const connectionSecretSchema = z.object({
  tokenUrl: z.optional(z.url()),
  clientId: nonEmpty,
  clientSecret: z.optional(nonEmpty),
  scope: z.optional(z.string()),
  privateKeyPem: z.optional(nonEmpty),
  keyId: z.optional(z.string()),
  subject: z.optional(z.string()),
  audience: z.optional(z.string()),
  bootstrapRefreshToken: z.optional(nonEmpty),
});

/**
 * Where the broker may send a connection's credentials. The AWS composition roots pin the stack's
 * `idpTokenUrl`: whoever may write a secret must not be able to redirect the next refresh (client
 * secret and refresh token included) to a host of their choosing.
 */
export interface TokenUrlPolicy {
  /** The one token endpoint allowed; a secret naming another is refused. */
  pinned?: string;
  /** `http://` to 127.0.0.1 / localhost / [::1] (the embedded default's IdP); never in AWS. */
  allowLoopbackHttp?: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https only, or http to a loopback host where allowed; the error names the rule, not the URL's query. */
export function checkTokenUrl(url: string, policy: TokenUrlPolicy, what: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`${what}: tokenUrl is not a URL`);
  }
  if (parsed.protocol === 'https:') return;
  if (parsed.protocol === 'http:' && policy.allowLoopbackHttp && LOOPBACK.has(parsed.hostname)) return;
  throw new ConfigError(
    `${what}: tokenUrl must be https:// (${parsed.protocol}//${parsed.host} refused: credentials would travel in clear text)`,
  );
}

/** Validates a secret; the error names the bad fields, never their values. */
export function parseConnectionSecret(
  secretId: string,
  raw: unknown,
  policy: TokenUrlPolicy = {},
): ConnectionSecret {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ConfigError(`secret ${secretId} is not JSON`);
    }
  }
  const parsed = connectionSecretSchema.safeParse(value);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))].join(', ');
    throw new ConfigError(`secret ${secretId} is invalid (fields: ${fields})`);
  }
  const own = parsed.data.tokenUrl;
  if (policy.pinned !== undefined && own !== undefined && own !== policy.pinned) {
    throw new ConfigError(
      `secret ${secretId}: tokenUrl differs from the configured token endpoint (the stack's idpTokenUrl); ` +
        'remove tokenUrl from the secret or redeploy with the right -c idpTokenUrl',
    );
  }
  const tokenUrl = policy.pinned ?? own;
  if (tokenUrl === undefined) {
    throw new ConfigError(`secret ${secretId} is invalid (fields: tokenUrl)`);
  }
  checkTokenUrl(tokenUrl, policy, `secret ${secretId}`);
  return { ...parsed.data, tokenUrl };
}
