import type { Provider } from 'oidc-provider';
import { ConfigError } from '../../lambdas/core/errors.ts';
import { DEFAULT_SCOPE, HCM_AUDIENCE } from '../constants.ts';
import { DEFAULT_SUBJECT } from './provider.ts';

const OIDC_SCOPES = new Set(['openid', 'offline_access']);

export interface MintOptions {
  clientId: string;
  subject?: string;
  scope?: string;
}

/**
 * The browserless stand-in for "a user consented in the browser": a Grant plus its first refresh token,
 * written through oidc-provider's own models so the token endpoint treats it like any other.
 */
export async function mintRefreshToken(
  provider: Provider,
  options: MintOptions,
): Promise<{ refreshToken: string; grantId: string }> {
  const scope = options.scope ?? DEFAULT_SCOPE;
  const scopes = [...new Set(scope.split(' ').filter(Boolean))];
  if (!scopes.includes('offline_access')) {
    throw new ConfigError(`a refresh token needs the offline_access scope (asked for '${scope}')`);
  }
  const client = await provider.Client.find(options.clientId);
  if (!client) throw new ConfigError(`the IdP has no client '${options.clientId}'`);
  const accountId = options.subject ?? DEFAULT_SUBJECT;

  const grant = new provider.Grant({ accountId, clientId: client.clientId });
  grant.addOIDCScope(scopes.filter((s) => OIDC_SCOPES.has(s)));
  const resourceScopes = scopes.filter((s) => !OIDC_SCOPES.has(s));
  if (resourceScopes.length) grant.addResourceScope(HCM_AUDIENCE, resourceScopes);
  const grantId = await grant.save();

  const refreshToken = await new provider.RefreshToken({
    client,
    accountId,
    grantId,
    gty: 'authorization_code',
    scope: scopes.join(' '),
    // Bound to HCM: every refresh then yields a JWT access token for that audience.
    resource: HCM_AUDIENCE,
    expiresWithSession: false,
    rotations: 0,
  }).save();
  return { refreshToken, grantId };
}
