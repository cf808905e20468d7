import { randomUUID } from 'node:crypto';
import { importPKCS8, SignJWT } from 'jose';
import { ConfigError } from '../../errors.ts';
import type { ConnectionSecret } from '../../ports.ts';

/** The `aud` IDCS documents for client and user assertions (ClientAssertion.htm); the secret's `audience` overrides it. */
export const IDCS_ASSERTION_AUDIENCE = 'https://identity.oraclecloud.com/';
/** RFC 7523 2.2: a JWT that authenticates the client instead of HTTP Basic. */
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ASSERTION_LIFETIME_SECONDS = 300;

/**
 * The user assertion of the jwt-bearer grant: `sub` is the Fusion user the token acts for (HCM checks
 * that user's roles), which IDCS requires to be a user of the identity domain.
 */
export function signUserAssertion(secret: ConnectionSecret, now: number): Promise<string> {
  if (!secret.subject) {
    throw new ConfigError(
      'jwt_bearer grant needs subject in the connection secret: the Fusion user name the token acts for',
    );
  }
  return signAssertion(secret, secret.subject, now);
}

/** The client assertion that authenticates a client without a secret: `sub` = `iss` = the client id. */
export function signClientAssertion(secret: ConnectionSecret, now: number): Promise<string> {
  return signAssertion(secret, secret.clientId, now);
}

/**
 * RS256, header `kid` = the alias the certificate was imported under in the IDCS app (IDCS finds the
 * key by it), `iss` = the client id, `aud` = IDCS unless configured, `exp` five minutes after `iat`.
 */
async function signAssertion(secret: ConnectionSecret, sub: string, now: number): Promise<string> {
  if (!secret.privateKeyPem)
    throw new ConfigError('an assertion needs privateKeyPem in the connection secret');
  if (!secret.keyId) {
    throw new ConfigError(
      'an assertion needs keyId in the connection secret: the alias of the certificate imported into the IDCS app',
    );
  }
  let key: Awaited<ReturnType<typeof importPKCS8>>;
  try {
    key = await importPKCS8(secret.privateKeyPem, 'RS256');
  } catch (err) {
    // The PEM itself must never reach a message.
    throw new ConfigError(`privateKeyPem is not a PKCS#8 RSA key (${(err as Error).name})`);
  }
  const iat = Math.floor(now / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: secret.keyId })
    .setIssuer(secret.clientId)
    .setSubject(sub)
    .setAudience(secret.audience || IDCS_ASSERTION_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ASSERTION_LIFETIME_SECONDS)
    .setJti(randomUUID())
    .sign(key);
}
