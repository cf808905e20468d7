import { randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import type {
  ClientMetadata,
  Configuration,
  KoaContextWithOIDC,
  Provider,
  ResourceServer,
} from 'oidc-provider';
import { HCM_AUDIENCE } from '../constants.ts';
import { ConsumedTwiceError, type GrantStore } from './grant-store.ts';
import type { TrustedCertificate } from './idcs-assertion.ts';
import type { IdpClient } from './idp-types.ts';
import { JWT_BEARER_GRANT, jwtBearerHandler } from './jwt-bearer.ts';

/** IDCS paths: the token broker only ever sees these. */
export const IDP_ROUTES = {
  token: '/oauth2/v1/token',
  revocation: '/oauth2/v1/revoke',
  jwks: '/oauth2/v1/keys',
} as const;

/** Who a browserless grant belongs to when the caller names nobody. */
export const DEFAULT_SUBJECT = 'hcm.integration.user';
/** Grants outlive any refresh token: IDCS restarts the refresh window on every rotation. */
const GRANT_TTL_SECONDS = 365 * 24 * 3600;

/** Settings read on every request, so tests and benchmarks can change them on a running IdP. */
export interface LiveSettings {
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  forceInvalidGrant(): boolean;
}

type ProviderClass = typeof import('oidc-provider').default;
type ProviderModule = typeof import('oidc-provider');

let loaded: Promise<ProviderModule> | undefined;

/**
 * oidc-provider prints "Unsupported runtime" at import on Node 20 (it targets 22; it runs fine on 20.19+).
 * Import it once with that one notice filtered, so test and CLI output stay readable.
 */
export function loadOidcProvider(): Promise<ProviderModule> {
  loaded ??= (async () => {
    const warn = console.warn;
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('oidc-provider WARNING: Unsupported runtime'))
        return;
      warn(...args);
    };
    try {
      return await import('oidc-provider');
    } finally {
      console.warn = warn;
    }
  })();
  return loaded;
}

export function hcmResourceServer(settings: LiveSettings): ResourceServer {
  return {
    scope: HCM_AUDIENCE,
    audience: HCM_AUDIENCE,
    accessTokenTTL: settings.accessTokenTtlSeconds,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };
}

/**
 * Every client is client_secret_basic to oidc-provider. A client without a secret of its own gets one
 * that only the simulator knows: the gate puts it in an Authorization header once the client's
 * `client_assertion` has been verified, the IDCS way, which oidc-provider's private_key_jwt cannot do
 * (it wants `aud` = our URL, and one auth method per client where IDCS takes either).
 */
function clientMetadata(client: IdpClient, basicSecret: string): ClientMetadata {
  const assertionOnly = client.tokenEndpointAuthMethod === 'private_key_jwt';
  return {
    client_id: client.clientId,
    client_name: client.clientId,
    response_types: [],
    redirect_uris: [],
    client_secret: basicSecret,
    token_endpoint_auth_method: 'client_secret_basic',
    // Without a secret there is no user consent to refresh: the app's own token or a user assertion.
    grant_types: assertionOnly
      ? ['client_credentials', JWT_BEARER_GRANT]
      : ['refresh_token', 'client_credentials', JWT_BEARER_GRANT],
  };
}

export interface ProviderSetup {
  issuer: string;
  signingKey: JWK;
  clients: readonly IdpClient[];
  /** The secret oidc-provider checks for a client (its own, or the simulator's stand-in, see clientMetadata). */
  basicSecretOf(clientId: string): string;
  /** Certificates imported for a client: what its assertions' kid/x5t must name. */
  certificatesOf(clientId: string): readonly TrustedCertificate[];
  /** The audiences an assertion's `aud` must contain one of. */
  assertionAudiences: readonly string[];
  isKnownUser(name: string): boolean;
  store: GrantStore;
  settings: LiveSettings;
  /** A refresh token consumed by two concurrent requests: revoke its grant (the loser gets invalid_grant). */
  onConcurrentReuse(grantId: string | undefined): void;
}

export async function createProvider(setup: ProviderSetup): Promise<Provider> {
  const { default: ProviderCtor, errors } = await loadOidcProvider();
  const { settings } = setup;
  const configuration: Configuration = {
    adapter: (model: string) => {
      const base = setup.store.adapterFactory(model);
      if (model !== 'RefreshToken') return base;
      return {
        ...base,
        consume: async (id: string) => {
          try {
            await base.consume(id);
          } catch (err) {
            if (!(err instanceof ConsumedTwiceError)) throw err;
            setup.onConcurrentReuse(err.grantId);
            throw new errors.InvalidGrant('refresh token already used');
          }
        },
      };
    },
    clients: setup.clients.map((c) => clientMetadata(c, setup.basicSecretOf(c.clientId))),
    // Client assertions are checked by the gate (client-auth.ts); oidc-provider only ever sees Basic.
    clientAuthMethods: ['client_secret_basic'],
    jwks: { keys: [setup.signingKey] } as Configuration['jwks'],
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    routes: IDP_ROUTES,
    scopes: ['openid', 'offline_access'],
    claims: { openid: ['sub'] },
    clientBasedCORS: () => false,
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    findAccount: async (ctx: KoaContextWithOIDC, sub: string) => {
      // The refresh grant looks the account up before it consumes anything: the one place where a forced
      // invalid_grant leaves every token exactly as it was.
      if (ctx?.oidc?.route === 'token' && settings.forceInvalidGrant()) {
        throw new errors.InvalidGrant('forced by the simulator');
      }
      return { accountId: sub, claims: () => ({ sub }) };
    },
    extraTokenClaims: async (_ctx, token) => ({
      tok_type: 'AT',
      sub_type: token.kind === 'AccessToken' && token.accountId ? 'user' : 'client',
      client_name: token.clientId,
    }),
    ttl: {
      AccessToken: () => settings.accessTokenTtlSeconds,
      ClientCredentials: () => settings.accessTokenTtlSeconds,
      RefreshToken: () => settings.refreshTokenTtlSeconds,
      IdToken: () => settings.accessTokenTtlSeconds,
      Grant: GRANT_TTL_SECONDS,
      Session: 3600,
      Interaction: 600,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      userinfo: { enabled: false },
      revocation: {
        enabled: true,
        // RFC 7009: a client may only revoke its own tokens; others are silently ignored.
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf ?? HCM_AUDIENCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          if (resourceIndicator !== HCM_AUDIENCE) throw new errors.InvalidTarget();
          return hcmResourceServer(settings);
        },
      },
    },
  };
  const provider = new (ProviderCtor as ProviderClass)(setup.issuer, configuration);

  provider.registerGrantType(
    JWT_BEARER_GRANT,
    jwtBearerHandler({
      provider,
      errors,
      audiences: setup.assertionAudiences,
      certificatesOf: setup.certificatesOf,
      isKnownUser: setup.isKnownUser,
      resource: HCM_AUDIENCE,
      resourceServerInfo: () => hcmResourceServer(settings),
      forceInvalidGrant: settings.forceInvalidGrant,
    }),
    ['assertion', 'scope', 'resource'],
  );
  return provider;
}
