import type {
  errors as OidcErrors,
  Provider,
  ResourceServer,
  TokenEndpointGrantContext,
} from 'oidc-provider';
import { AssertionRejected, type TrustedCertificate, verifyIdcsAssertion } from './idcs-assertion.ts';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface JwtBearerDeps {
  provider: Provider;
  /** oidc-provider's error classes (passed in: the module is loaded lazily, see loadOidcProvider). */
  errors: typeof OidcErrors;
  /** What a user assertion's `aud` must contain one of. */
  audiences: readonly string[];
  /** The certificates imported for the client (none: it cannot use this grant). */
  certificatesOf(clientId: string): readonly TrustedCertificate[];
  /** Whether the identity domain has a user of this name (the Fusion user the token acts for). */
  isKnownUser(name: string): boolean;
  resource: string;
  resourceServerInfo(): ResourceServer;
  forceInvalidGrant(): boolean;
}

type Params = { assertion?: string };

/**
 * RFC 7523 JWT bearer grant with an IDCS user assertion: the client (authenticated by HTTP Basic or a
 * client assertion, like every token call) presents an assertion checked by verifyIdcsAssertion whose
 * `sub` is a user of the identity domain. The answer is an access token for that user only (no refresh
 * token), like IDCS. Every refusal of the assertion is invalid_grant.
 */
export function jwtBearerHandler(
  deps: JwtBearerDeps,
): (ctx: TokenEndpointGrantContext<Params>) => Promise<void> {
  const { provider, errors } = deps;
  return async (ctx) => {
    if (deps.forceInvalidGrant()) throw new errors.InvalidGrant('forced by the simulator');
    const { client, params } = ctx.oidc;
    if (!params.assertion) throw new errors.InvalidRequest("missing required parameter 'assertion'");
    let sub: string;
    try {
      ({ sub } = await verifyIdcsAssertion(params.assertion, {
        issuer: client.clientId,
        audiences: deps.audiences,
        certificates: deps.certificatesOf(client.clientId),
      }));
    } catch (err) {
      if (err instanceof AssertionRejected) throw new errors.InvalidGrant(err.message);
      throw err;
    }
    if (!deps.isKnownUser(sub)) throw new errors.InvalidGrant('assertion sub is not a user of this domain');

    const info = deps.resourceServerInfo();
    const resourceServer = new provider.ResourceServer(deps.resource, info);
    const requested = (params.scope ?? '').split(' ').filter((s) => resourceServer.scopes.has(s));
    const scope = requested.length ? requested.join(' ') : info.scope;
    const token = new provider.AccessToken({
      client,
      accountId: sub,
      gty: JWT_BEARER_GRANT,
      scope,
      resourceServer,
      // The model stores gty (the grant that minted it); @types/oidc-provider does not list it.
    } as ConstructorParameters<Provider['AccessToken']>[0]);

    ctx.oidc.entity('AccessToken', token);
    const accessToken = await token.save();
    ctx.body = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: token.expiration,
      scope,
    };
  };
}
