import { randomBytes } from 'node:crypto';
import { importJWK, type JWK } from 'jose';
import type {
  ClientMetadata,
  Configuration,
  KoaContextWithOIDC,
  Provider,
  ResourceServer,
} from 'oidc-provider';
import { HCM_AUDIENCE } from '../constants.ts';
import { ConsumedTwiceError, type GrantStore } from './grant-store.ts';
import type { IdpClient } from './idp-types.ts';
import { JWT_BEARER_GRANT, jwtBearerHandler, type VerifyKey } from './jwt-bearer.ts';

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

function clientMetadata(client: IdpClient): ClientMetadata {
  const common = {
    client_id: client.clientId,
    client_name: client.clientId,
    response_types: [],
    redirect_uris: [],
    jwks: { keys: [client.publicJwk] } as ClientMetadata['jwks'],
  };
  if (client.tokenEndpointAuthMethod === 'none') {
    // A public client: its signed assertion is its only credential, so that is the only grant it gets.
    return { ...common, grant_types: [JWT_BEARER_GRANT], token_endpoint_auth_method: 'none' };
  }
  return {
    ...common,
    client_secret: client.clientSecret,
    grant_types: ['refresh_token', 'client_credentials', JWT_BEARER_GRANT],
    token_endpoint_auth_method: 'client_secret_basic',
  };
}

export interface ProviderSetup {
  issuer: string;
  signingKey: JWK;
  clients: readonly IdpClient[];
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
    clients: setup.clients.map(clientMetadata),
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

  const publicKeys = new Map<string, VerifyKey>();
  for (const client of setup.clients) {
    publicKeys.set(client.clientId, await importJWK(client.publicJwk, 'RS256'));
  }
  provider.registerGrantType(
    JWT_BEARER_GRANT,
    jwtBearerHandler({
      provider,
      errors,
      tokenUrl: `${setup.issuer}${IDP_ROUTES.token}`,
      publicKeyFor: (clientId) => publicKeys.get(clientId),
      resource: HCM_AUDIENCE,
      resourceServerInfo: () => hcmResourceServer(settings),
      forceInvalidGrant: settings.forceInvalidGrant,
    }),
    ['assertion', 'scope', 'resource'],
  );
  return provider;
}
