import { decodeJwt } from 'jose';

/**
 * The `iat` of a bearer token the verifier refused (expired, too old, bad signature): which token a
 * 401 answered is what the report's token chart shows. Unverified on purpose, and only a number leaves.
 */
export function bearerIat(authorization: string | undefined): number | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) return null;
  try {
    const { iat } = decodeJwt(match[1]!);
    return typeof iat === 'number' ? iat : null;
  } catch {
    return null;
  }
}
