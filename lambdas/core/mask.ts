/**
 * The one masking function used by the logger, errors and events (invariant 6).
 * A secret shows as its first 4 and last 3 characters: `eyJh…x9Q`; short secrets show as `***`.
 */
export function mask(secret: string | undefined | null): string {
  if (!secret) return '';
  if (secret.length <= 12) return '***';
  return `${secret.slice(0, 4)}…${secret.slice(-3)}`;
}

// JWTs (three base64url segments starting with eyJ) and Bearer/Basic credentials inside free text.
const JWT_RE = /eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}/g;
const AUTH_RE = /\b(Bearer|Basic)\s+([A-Za-z0-9._~+/=-]{8,})/gi;
const KV_RE =
  /\b(access_token|refresh_token|client_secret|client_assertion|assertion|id_token|code_verifier|password)(["']?\s*[:=]\s*["']?)([^"'&\s,}]{8,})/gi;

/** Masks anything token-like inside a string (error messages, upstream bodies). */
export function maskSecrets(text: string): string {
  return text
    .replace(JWT_RE, (m) => mask(m))
    .replace(AUTH_RE, (_m, scheme: string, cred: string) => `${scheme} ${mask(cred)}`)
    .replace(KV_RE, (_m, key: string, sep: string, value: string) => `${key}${sep}${mask(value)}`);
}

const SECRET_KEYS = new Set(
  [
    'accessToken',
    'refreshToken',
    'idToken',
    'access_token',
    'refresh_token',
    'id_token',
    'clientSecret',
    'client_secret',
    'authorization',
    'assertion',
    'client_assertion',
    'clientAssertion',
    'privateKey',
    'privateKeyPem',
    'password',
    'token',
  ].map((k) => k.toLowerCase()),
);

/** Deep copy of a value with secret fields masked and token-like strings masked: safe to log or emit. */
export function redact<T>(value: T, depth = 0): T {
  if (depth > 8) return value;
  if (typeof value === 'string') return maskSecrets(value) as T;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1)) as T;
  if (value instanceof Error) {
    return { name: value.name, message: maskSecrets(value.message) } as T;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = SECRET_KEYS.has(k.toLowerCase()) && typeof v === 'string' ? mask(v) : redact(v, depth + 1);
    }
    return out as T;
  }
  return value;
}
