import type { webcrypto } from 'node:crypto';
import { type JWTPayload, errors as jose, jwtVerify } from 'jose';
import type {
  errors as OidcErrors,
  Provider,
  ResourceServer,
  TokenEndpointGrantContext,
} from 'oidc-provider';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** The `aud` IDCS itself expects in assertions; accepted beside the token URL and our issuer. */
const IDCS_AUDIENCE = 'https://identity.oraclecloud.com/';
/** Assertions older than this are refused even if their `exp` is later (IDCS caps assertion age too). */
const MAX_ASSERTION_AGE = '1h';

export type VerifyKey = webcrypto.CryptoKey | Uint8Array;

export interface JwtBearerDeps {
  provider: Provider;
  /** oidc-provider's error classes (passed in: the module is loaded lazily, see loadOidcProvider). */
  errors: typeof OidcErrors;
  tokenUrl: string;
  /** The client's registered public key (from its JWKS), or undefined if it has none. */
  publicKeyFor(clientId: string): VerifyKey | undefined;
  resource: string;
  resourceServerInfo(): ResourceServer;
  forceInvalidGrant(): boolean;
}

type Params = { assertion?: string };

/**
 * RFC 7523 JWT bearer grant: the client (authenticated with client_secret_basic like every token call)
 * presents an RS256 assertion signed by its own private key: iss = client id, sub = the client id (the app
 * acts as itself) or a user, aud = token URL or issuer, exp and iat required. The answer is an access
 * token only (no refresh token), like IDCS.
 */
export function jwtBearerHandler(
  deps: JwtBearerDeps,
): (ctx: TokenEndpointGrantContext<Params>) => Promise<void> {
  const { provider, errors } = deps;
  return async (ctx) => {
    if (deps.forceInvalidGrant()) throw new errors.InvalidGrant('forced by the simulator');
    const { client, params } = ctx.oidc;
    if (!params.assertion) throw new errors.InvalidRequest("missing required parameter 'assertion'");
    const key = deps.publicKeyFor(client.clientId);
    if (!key) throw new errors.InvalidGrant('client has no registered public key');

    const claims = await verifyAssertion(errors, params.assertion, key, client.clientId, [
      deps.tokenUrl,
      provider.issuer,
      IDCS_AUDIENCE,
    ]);

    const info = deps.resourceServerInfo();
    const resourceServer = new provider.ResourceServer(deps.resource, info);
    const requested = (params.scope ?? '').split(' ').filter((s) => resourceServer.scopes.has(s));
    const scope = requested.length ? requested.join(' ') : info.scope;
    const asClient = claims.sub === client.clientId;
    const token = asClient
      ? new provider.ClientCredentials({ client, scope, resourceServer })
      : new provider.AccessToken({
          client,
          accountId: claims.sub,
          gty: JWT_BEARER_GRANT,
          scope,
          resourceServer,
          // The model stores gty (the grant that minted it); @types/oidc-provider does not list it.
        } as ConstructorParameters<Provider['AccessToken']>[0]);

    ctx.oidc.entity(asClient ? 'ClientCredentials' : 'AccessToken', token);
    const accessToken = await token.save();
    ctx.body = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: token.expiration,
      scope,
    };
  };
}

async function verifyAssertion(
  errors: typeof OidcErrors,
  assertion: string,
  key: VerifyKey,
  clientId: string,
  audience: string[],
): Promise<JWTPayload & { sub: string }> {
  try {
    const { payload } = await jwtVerify(assertion, key, {
      algorithms: ['RS256'],
      issuer: clientId,
      audience,
      requiredClaims: ['exp', 'iat', 'sub'],
      maxTokenAge: MAX_ASSERTION_AGE,
      clockTolerance: 15,
    });
    if (typeof payload.sub !== 'string' || !payload.sub)
      throw new errors.InvalidGrant('assertion sub is empty');
    return payload as JWTPayload & { sub: string };
  } catch (err) {
    if (err instanceof errors.InvalidGrant) throw err;
    throw new errors.InvalidGrant(describeJoseError(err));
  }
}

function describeJoseError(err: unknown): string {
  if (err instanceof jose.JWSSignatureVerificationFailed) return 'assertion signature verification failed';
  if (err instanceof jose.JWTExpired) return 'assertion is expired';
  if (err instanceof jose.JWTClaimValidationFailed) return `assertion claim ${err.claim} is invalid`;
  if (err instanceof jose.JOSEError) return `assertion rejected (${err.code})`;
  return 'assertion is malformed';
}
