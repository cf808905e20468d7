import { type KeyObject, X509Certificate } from 'node:crypto';
import {
  decodeProtectedHeader,
  type JWTPayload,
  errors as jose,
  jwtVerify,
  type ProtectedHeaderParameters,
} from 'jose';
import { certificateThumbprint } from './certificates.ts';
import type { IdpClient } from './idp-types.ts';

/** The `aud` IDCS documents for client and user assertions (ClientAssertion.htm). */
export const IDCS_AUDIENCE = 'https://identity.oraclecloud.com/';
/** Assertions older than this are refused even if their `exp` is later. */
const MAX_ASSERTION_AGE = '1h';
const CLOCK_TOLERANCE_SECONDS = 15;

/** A certificate imported into a client (IDCS app): found by `kid` (its alias) or `x5t` (its thumbprint). */
export interface TrustedCertificate {
  alias: string;
  x5t: string;
  key: KeyObject;
}

/** Why an assertion was refused; the caller turns it into invalid_grant or invalid_client. */
export class AssertionRejected extends Error {
  override readonly name = 'AssertionRejected';
}

export function trustedCertificate(
  client: Pick<IdpClient, 'certificateAlias' | 'certificatePem'>,
): TrustedCertificate {
  return {
    alias: client.certificateAlias,
    x5t: certificateThumbprint(client.certificatePem),
    key: new X509Certificate(client.certificatePem).publicKey,
  };
}

export interface AssertionRules {
  /** `iss` must equal it: the client id. */
  issuer: string;
  /** `aud` must contain one of these. */
  audiences: readonly string[];
  /** The certificates imported for the client; header `kid` or `x5t` must name one. */
  certificates: readonly TrustedCertificate[];
}

/**
 * Checks an assertion as IDCS documents it: RS256, header `kid` (certificate alias) or `x5t`
 * (certificate thumbprint) naming a certificate imported for the client, signed by that certificate's
 * key, `iss` the client id, `aud` containing an accepted audience, `sub`, `exp` and `iat` present, not
 * expired and not older than an hour. What `sub` must be depends on the kind (client or user assertion).
 */
export async function verifyIdcsAssertion(
  assertion: string,
  rules: AssertionRules,
): Promise<JWTPayload & { sub: string }> {
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    throw new AssertionRejected('assertion is malformed');
  }
  if (header.alg !== 'RS256') throw new AssertionRejected('assertion alg must be RS256');
  const certificate = certificateOf(header, rules.certificates);
  try {
    const { payload } = await jwtVerify(assertion, certificate.key, {
      algorithms: ['RS256'],
      issuer: rules.issuer,
      audience: [...rules.audiences],
      requiredClaims: ['exp', 'iat', 'sub'],
      maxTokenAge: MAX_ASSERTION_AGE,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    if (typeof payload.sub !== 'string' || !payload.sub)
      throw new AssertionRejected('assertion sub is empty');
    return payload as JWTPayload & { sub: string };
  } catch (err) {
    if (err instanceof AssertionRejected) throw err;
    throw new AssertionRejected(describeJoseError(err));
  }
}

function certificateOf(
  header: ProtectedHeaderParameters,
  certificates: readonly TrustedCertificate[],
): TrustedCertificate {
  const { kid, x5t } = header;
  if (kid === undefined && x5t === undefined)
    throw new AssertionRejected('assertion header has neither kid nor x5t');
  const byKid = kid === undefined ? undefined : certificates.find((c) => c.alias === kid);
  if (kid !== undefined && !byKid)
    throw new AssertionRejected('assertion kid is not the alias of a certificate imported for this client');
  const byX5t = x5t === undefined ? undefined : certificates.find((c) => c.x5t === x5t);
  if (x5t !== undefined && !byX5t)
    throw new AssertionRejected(
      'assertion x5t is not the thumbprint of a certificate imported for this client',
    );
  if (byKid && byX5t && byKid !== byX5t)
    throw new AssertionRejected('assertion kid and x5t name different certificates');
  return (byKid ?? byX5t) as TrustedCertificate;
}

function describeJoseError(err: unknown): string {
  if (err instanceof jose.JWSSignatureVerificationFailed) return 'assertion signature verification failed';
  if (err instanceof jose.JWTExpired) return 'assertion is expired';
  if (err instanceof jose.JWTClaimValidationFailed) return `assertion claim ${err.claim} is invalid`;
  if (err instanceof jose.JOSEError) return `assertion rejected (${err.code})`;
  return 'assertion is malformed';
}
