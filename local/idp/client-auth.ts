import { decodeJwt } from 'jose';
import { AssertionRejected, type TrustedCertificate, verifyIdcsAssertion } from './idcs-assertion.ts';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface ClientAuthDeps {
  /** A registered client's certificates, or undefined for an unknown client id. */
  certificatesOf(clientId: string): readonly TrustedCertificate[] | undefined;
  audiences: readonly string[];
}

/** How a token request authenticates its client, decided before oidc-provider sees it. */
export type ClientAuthOutcome =
  /** HTTP Basic: oidc-provider checks the secret. */
  | { kind: 'basic' }
  /** A verified client assertion: the request continues as this client. */
  | { kind: 'assertion'; clientId: string }
  | { kind: 'refused'; status: 400 | 401; error: 'invalid_request' | 'invalid_client'; description: string };

const refuse = (description: string): ClientAuthOutcome => ({
  kind: 'refused',
  status: 401,
  error: 'invalid_client',
  description,
});

/**
 * IDCS client authentication: HTTP Basic, or a signed client assertion in the body (RFC 7523 2.2:
 * `client_assertion_type` jwt-bearer, `client_assertion` with `iss` = `sub` = the client id and the
 * checks of verifyIdcsAssertion). Exactly one of them: a request with neither, or both, is refused, and
 * a bad assertion is invalid_client (401), never a grant error.
 */
export async function authenticateClient(
  form: URLSearchParams,
  authorization: string | undefined,
  deps: ClientAuthDeps,
): Promise<ClientAuthOutcome> {
  const assertion = form.get('client_assertion');
  const type = form.get('client_assertion_type');
  if (assertion === null && type === null) {
    return authorization ? { kind: 'basic' } : refuse('client authentication is required');
  }
  if (authorization) {
    return {
      kind: 'refused',
      status: 400,
      error: 'invalid_request',
      description: 'client authentication must use one mechanism, not both',
    };
  }
  if (type !== CLIENT_ASSERTION_TYPE) return refuse('unsupported client_assertion_type');
  if (!assertion) return refuse('client_assertion is empty');
  let iss: unknown;
  try {
    iss = decodeJwt(assertion).iss;
  } catch {
    return refuse('client assertion is malformed');
  }
  const clientId = typeof iss === 'string' ? iss : '';
  const named = form.get('client_id');
  if (named !== null && named !== clientId) return refuse('client_id differs from the client assertion iss');
  const certificates = deps.certificatesOf(clientId);
  if (!certificates) return refuse('client assertion iss is not a registered client');
  try {
    const { sub } = await verifyIdcsAssertion(assertion, {
      issuer: clientId,
      audiences: deps.audiences,
      certificates,
    });
    if (sub !== clientId) return refuse('client assertion sub must be the client id');
  } catch (err) {
    if (err instanceof AssertionRejected) return refuse(`client ${err.message}`);
    throw err;
  }
  return { kind: 'assertion', clientId };
}
