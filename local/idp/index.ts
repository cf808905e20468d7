import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import { ConfigError } from '../../lambdas/core/errors.ts';
import { maskSecrets } from '../../lambdas/core/mask.ts';
import { ERROR_DETAIL_STATE, tokenEndpointGate } from './gate.ts';
import { mintRefreshToken } from './grant-handlers.ts';
import { GrantStore } from './grant-store.ts';
import { IDCS_AUDIENCE, type TrustedCertificate, trustedCertificate } from './idcs-assertion.ts';
import {
  DEFAULT_RATE_LIMIT_PER_MINUTE,
  DEFAULT_RATE_LIMIT_PER_SECOND,
  defaultFaults,
  mergeFaults,
  SlidingMinute,
  TokenBucket,
} from './idp-faults.ts';
import { StatsRecorder } from './idp-stats.ts';
import { type IssuedModel, issuedEvent } from './idp-timeline.ts';
import type { IdpOptions, IdpSim } from './idp-types.ts';
import { createProvider, DEFAULT_SUBJECT, IDP_ROUTES, type LiveSettings } from './provider.ts';
import { loadKeyMaterial } from './signing-keys.ts';
import { simRoutes } from './sim-routes.ts';

export type { IdpTimeline } from '../timeline/types.ts';
export { CLIENT_ASSERTION_TYPE } from './client-auth.ts';
export { IDCS_AUDIENCE } from './idcs-assertion.ts';
export { defaultFaults } from './idp-faults.ts';
export type { IdpClient, IdpFaults, IdpOptions, IdpSim, IdpStats } from './idp-types.ts';
export { JWT_BEARER_GRANT } from './jwt-bearer.ts';
export { DEFAULT_SUBJECT, IDP_ROUTES } from './provider.ts';
export {
  fetchIdpClients,
  fetchIdpStats,
  fetchIdpTimeline,
  issueIdpRefreshToken,
  postIdpFaults,
  resetIdpStats,
  revokeIdpGrants,
} from './sim-client.ts';

const DEFAULT_CLIENT_IDS = ['goal-sync'];
const GRANTS_FILE = 'idp-grants.jsonl';

/** Starts the IDCS stand-in: oidc-provider behind the IDCS paths, with faults, stats and optional state. */
export async function startIdp(options: IdpOptions = {}): Promise<IdpSim> {
  const host = options.host ?? '127.0.0.1';
  const clientIds = options.clientIds?.length ? options.clientIds : DEFAULT_CLIENT_IDS;
  const { material, registered } = await loadKeyMaterial(
    options.stateDir,
    clientIds,
    options.assertionOnlyClientIds ?? [],
  );
  const store = GrantStore.open(options.stateDir ? join(options.stateDir, GRANTS_FILE) : undefined);
  let faults = mergeFaults(
    defaultFaults(
      options.rateLimitPerSecond ?? DEFAULT_RATE_LIMIT_PER_SECOND,
      options.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE,
    ),
    options.faults ?? {},
  );
  const users = new Set(options.users?.length ? options.users : [DEFAULT_SUBJECT]);
  const certificates = new Map<string, readonly TrustedCertificate[]>(
    registered.map((c) => [c.clientId, [trustedCertificate(c)]]),
  );
  // A client without a secret of its own gets one only the simulator knows (provider.ts clientMetadata).
  const basicSecrets = new Map(
    registered.map((c) => [c.clientId, c.clientSecret || randomBytes(32).toString('base64url')]),
  );
  const basicSecretOf = (clientId: string) => basicSecrets.get(clientId) ?? '';
  const settings: LiveSettings = {
    accessTokenTtlSeconds: positiveSeconds(options.accessTokenTtlSeconds ?? 3600, 'accessTokenTtlSeconds'),
    refreshTokenTtlSeconds: positiveSeconds(
      options.refreshTokenTtlSeconds ?? 604_800,
      'refreshTokenTtlSeconds',
    ),
    forceInvalidGrant: () => faults.forceInvalidGrant,
  };
  const stats = new StatsRecorder();

  // The issuer needs the port, the port needs a listening server: listen first, attach the app after.
  let app: RequestListener = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => app(req, res));
  await listen(server, options.port ?? 0, host);
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${urlHost(host)}:${port}`;
  const tokenUrl = `${issuer}${IDP_ROUTES.token}`;
  // IDCS's own audience, or the domain URL (with or without its trailing slash); not the token URL.
  const assertionAudiences = [IDCS_AUDIENCE, issuer, `${issuer}/`];

  const revokeGrant = async (grantId: string): Promise<boolean> => {
    const existed = store.revokeGrant(grantId);
    if (existed) stats.counters.revocations++;
    return existed;
  };
  const provider = await createProvider({
    issuer,
    signingKey: material.signingKey,
    clients: registered,
    basicSecretOf,
    certificatesOf: (clientId) => certificates.get(clientId) ?? [],
    assertionAudiences,
    isKnownUser: (name) => users.has(name),
    store,
    settings,
    onConcurrentReuse: (grantId) => {
      stats.counters.reuseDetections++;
      if (grantId) void revokeGrant(grantId);
    },
  }).catch(async (err: unknown) => {
    await closeServer(server);
    throw err;
  });
  countProviderEvents(provider, stats);

  const sim: IdpSim = {
    issuer,
    url: issuer,
    tokenUrl,
    revokeUrl: `${issuer}${IDP_ROUTES.revocation}`,
    jwksUrl: `${issuer}${IDP_ROUTES.jwks}`,
    clients: registered,
    issueRefreshToken: async (opts) => {
      const minted = await mintRefreshToken(provider, opts);
      stats.counters.grantsIssued++;
      return minted;
    },
    revokeGrant: async (grantId) => {
      await revokeGrant(grantId);
    },
    revokeClientGrants: async (clientId) => {
      let revoked = 0;
      for (const grantId of store.grantIdsOfClient(clientId)) if (await revokeGrant(grantId)) revoked++;
      return revoked;
    },
    stats: () => stats.snapshot(),
    tokenRequestTimes: () => stats.tokenRequestTimes(),
    timeline: () => stats.timeline.snapshot(),
    resetStats: () => stats.reset(),
    setFaults: (patch) => {
      faults = mergeFaults(faults, patch);
      return { ...faults };
    },
    faults: () => ({ ...faults }),
    setAccessTokenTtlSeconds: (seconds) => {
      settings.accessTokenTtlSeconds = positiveSeconds(seconds, 'accessTokenTtlSeconds');
    },
    close: () => closeServer(server),
  };

  const gate = tokenEndpointGate({
    stats,
    bucket: new TokenBucket(faults.rateLimitPerSecond),
    minute: new SlidingMinute(faults.rateLimitPerMinute),
    faults: () => faults,
    clientAuth: { certificatesOf: (clientId) => certificates.get(clientId), audiences: assertionAudiences },
    basicSecretOf,
  });
  provider.use(simRoutes({ ...sim, revokeGrant }) as Parameters<Provider['use']>[0]);
  provider.use(gate as Parameters<Provider['use']>[0]);
  app = provider.callback();
  return sim;
}

/** Turns oidc-provider's events into the counters the benchmarks read. */
function countProviderEvents(provider: Provider, stats: StatsRecorder): void {
  const issued = (model: IssuedModel | undefined, grant: string) => {
    stats.counters.accessTokensIssued++;
    const event = model && issuedEvent(model, Date.now(), grant);
    if (event) stats.timeline.issued(event);
  };
  provider.on('access_token.issued', (t?: IssuedModel) => issued(t, 'access_token'));
  provider.on('access_token.saved', (t?: IssuedModel) => issued(t, 'access_token'));
  provider.on('client_credentials.issued', (t?: IssuedModel) => issued(t, 'client_credentials'));
  provider.on('client_credentials.saved', (t?: IssuedModel) => issued(t, 'client_credentials'));
  provider.on('grant.success', (ctx: KoaContextWithOIDC) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token') stats.counters.refreshes++;
  });
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC) => {
    stats.counters.revocations++;
    // On the token endpoint the only revoking path is a consumed refresh token presented again.
    if (ctx.oidc.route === 'token') stats.counters.reuseDetections++;
  });
  provider.on('grant.error', (ctx: KoaContextWithOIDC, err: { error_detail?: unknown }) => {
    // oidc-provider keeps the precise reason in error_detail; showing it makes failed runs easy to read.
    if (typeof err.error_detail === 'string') ctx.state[ERROR_DETAIL_STATE] = err.error_detail;
  });
  provider.on('server_error', (_ctx: KoaContextWithOIDC, err: Error) => {
    console.error(`idp simulator: server_error: ${maskSecrets(err.stack ?? err.message)}`);
  });
}

function positiveSeconds(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`${name} must be a positive integer`);
  return value;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
