import { createHash, randomBytes } from 'node:crypto';

export interface Pkce {
  /** RFC 7636 code_verifier: 43-128 characters of [A-Za-z0-9-._~]; ours are 86 base64url characters. */
  verifier: string;
  /** BASE64URL(SHA256(verifier)). */
  challenge: string;
  method: 'S256';
}

/** S256 challenge of a verifier (exported so a test's token endpoint can check it the way an IdP does). */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** 64 random bytes: 512 bits of entropy, well above RFC 7636's 256-bit recommendation. */
export function createPkce(): Pkce {
  const verifier = randomBytes(64).toString('base64url');
  return { verifier, challenge: s256(verifier), method: 'S256' };
}

/** Unguessable `state` that ties the callback to this very authorization request (CSRF). */
export function createState(): string {
  return randomBytes(24).toString('base64url');
}
