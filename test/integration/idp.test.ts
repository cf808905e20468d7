import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HCM_AUDIENCE } from '../../local/constants.ts';
import { type IdpClient, type IdpSim, JWT_BEARER_GRANT, startIdp } from '../../local/idp/index.ts';
import { postForm, refreshGrant } from '../support/idp-client.ts';

const TTL = 30;
let idp: IdpSim;
let client: IdpClient;
let jwks: ReturnType<typeof createRemoteJWKSet>;

beforeAll(async () => {
  idp = await startIdp({
    accessTokenTtlSeconds: TTL,
    clientIds: ['goal-sync', 'other-app'],
    assertionOnlyClientIds: ['goal-sync-jwt'],
  });
  client = idp.clients[0]!;
  jwks = createRemoteJWKSet(new URL(idp.jwksUrl));
});
afterAll(() => idp.close());
beforeEach(() => idp.resetStats());

async function verifyAccessToken(token: unknown) {
  expect(typeof token).toBe('string');
  const { payload, protectedHeader } = await jwtVerify(token as string, jwks, {
    issuer: idp.issuer,
    audience: HCM_AUDIENCE,
    algorithms: ['RS256'],
  });
  expect(protectedHeader.alg).toBe('RS256');
  return payload;
}

describe('IdP simulator: endpoints', () => {
  it('serves IDCS paths on 127.0.0.1 and a public-only JWKS', async () => {
    expect(idp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(idp.tokenUrl).toBe(`${idp.issuer}/oauth2/v1/token`);
    expect(idp.revokeUrl).toBe(`${idp.issuer}/oauth2/v1/revoke`);
    const keys = (await (await fetch(idp.jwksUrl)).json()) as { keys: Record<string, unknown>[] };
    expect(keys.keys).toHaveLength(1);
    expect(keys.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(keys.keys[0]).not.toHaveProperty('d');
    const discovery = (await (
      await fetch(`${idp.issuer}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(discovery.token_endpoint).toBe(idp.tokenUrl);
    expect(discovery.jwks_uri).toBe(idp.jwksUrl);
    expect(discovery.grant_types_supported).toEqual(
      expect.arrayContaining(['refresh_token', 'client_credentials', JWT_BEARER_GRANT]),
    );
  });

  it('rejects a wrong client secret with 401 invalid_client', async () => {
    const res = await postForm(
      idp.tokenUrl,
      { ...client, clientSecret: 'wrong-secret' },
      {
        grant_type: 'client_credentials',
      },
    );
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(idp.stats()).toMatchObject({
      tokenRequests: 1,
      byStatus: { '401': 1 },
      errors: { invalid_client: 1 },
    });
  });
});

describe('IdP simulator: client_credentials', () => {
  it('issues an RS256 JWT for HCM with exp, iat, jti and IDCS claims', async () => {
    const res = await postForm(idp.tokenUrl, client, {
      grant_type: 'client_credentials',
      scope: HCM_AUDIENCE,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: TTL, scope: HCM_AUDIENCE });
    expect(res.body.refresh_token).toBeUndefined();
    const claims = await verifyAccessToken(res.body.access_token);
    expect(claims.exp! - claims.iat!).toBe(TTL);
    expect(claims).toMatchObject({
      sub: client.clientId,
      client_id: client.clientId,
      tok_type: 'AT',
      sub_type: 'client',
    });
    expect(typeof claims.jti).toBe('string');
    expect(idp.stats()).toMatchObject({
      accessTokensIssued: 1,
      byGrant: { client_credentials: 1 },
      byStatus: { '200': 1 },
    });
  });

  it('applies a changed access token lifetime to tokens issued afterwards', async () => {
    idp.setAccessTokenTtlSeconds(2);
    try {
      const res = await postForm(idp.tokenUrl, client, { grant_type: 'client_credentials' });
      const claims = decodeJwt(res.body.access_token as string);
      expect(claims.exp! - claims.iat!).toBe(2);
      expect(res.body.expires_in).toBe(2);
    } finally {
      idp.setAccessTokenTtlSeconds(TTL);
    }
  });
});

describe('IdP simulator: refresh_token with rotation', () => {
  it('needs offline_access to mint a refresh token', async () => {
    await expect(idp.issueRefreshToken({ clientId: client.clientId, scope: HCM_AUDIENCE })).rejects.toThrow(
      /offline_access/,
    );
    await expect(idp.issueRefreshToken({ clientId: 'nobody' })).rejects.toThrow(/no client/);
  });

  it('rotates: every refresh returns a new refresh token and a JWT access token for HCM', async () => {
    const { refreshToken } = await idp.issueRefreshToken({ clientId: client.clientId, subject: 'alice' });
    const first = await refreshGrant(idp.tokenUrl, client, refreshToken);
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).toEqual(expect.any(String));
    expect(first.body.refresh_token).not.toBe(refreshToken);
    const claims = await verifyAccessToken(first.body.access_token);
    expect(claims).toMatchObject({
      sub: 'alice',
      client_id: client.clientId,
      scope: HCM_AUDIENCE,
      sub_type: 'user',
    });
    expect(claims.exp! - claims.iat!).toBe(TTL);

    const second = await refreshGrant(idp.tokenUrl, client, first.body.refresh_token as string);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    expect(idp.stats()).toMatchObject({ refreshes: 2, accessTokensIssued: 2, reuseDetections: 0 });
  });

  it('replaying a rotated refresh token answers invalid_grant and revokes the whole grant', async () => {
    const { refreshToken: old } = await idp.issueRefreshToken({ clientId: client.clientId });
    const rotated = await refreshGrant(idp.tokenUrl, client, old);
    expect(rotated.status).toBe(200);

    const replay = await refreshGrant(idp.tokenUrl, client, old);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    // The legitimate holder of the newest token is locked out too: the grant is gone.
    const victim = await refreshGrant(idp.tokenUrl, client, rotated.body.refresh_token as string);
    expect(victim.status).toBe(400);
    expect(victim.body.error).toBe('invalid_grant');
    expect(idp.stats()).toMatchObject({
      refreshes: 1,
      reuseDetections: 1,
      revocations: 1,
      errors: { invalid_grant: 2 },
      byStatus: { '200': 1, '400': 2 },
    });
  });

  it('lets exactly one of several concurrent refreshes with the same token win, and treats the rest as reuse', async () => {
    const { refreshToken } = await idp.issueRefreshToken({ clientId: client.clientId });
    const results = await Promise.all(
      Array.from({ length: 5 }, () => refreshGrant(idp.tokenUrl, client, refreshToken)),
    );
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.body.error === 'invalid_grant')).toHaveLength(4);
    // The herd got the grant revoked: even the winner's rotated token is dead now.
    expect((await refreshGrant(idp.tokenUrl, client, winners[0]!.body.refresh_token as string)).status).toBe(
      400,
    );
    const stats = idp.stats();
    expect(stats.reuseDetections).toBeGreaterThanOrEqual(1);
    expect(stats.revocations).toBeGreaterThanOrEqual(1);
  });

  it('refuses a refresh token presented by another client without revoking it', async () => {
    const other = idp.clients[1]!;
    const { refreshToken } = await idp.issueRefreshToken({ clientId: client.clientId });
    const stolen = await refreshGrant(idp.tokenUrl, other, refreshToken);
    expect(stolen.body.error).toBe('invalid_grant');
    expect((await refreshGrant(idp.tokenUrl, client, refreshToken)).status).toBe(200);
  });
});

describe('IdP simulator: revocation', () => {
  it('revokeGrant (admin revoke / password change) makes the next refresh fail with invalid_grant', async () => {
    const { refreshToken, grantId } = await idp.issueRefreshToken({ clientId: client.clientId });
    await idp.revokeGrant(grantId);
    const res = await refreshGrant(idp.tokenUrl, client, refreshToken);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
    expect(idp.stats()).toMatchObject({ revocations: 1, reuseDetections: 0 });
  });

  it('revokeClientGrants revokes only that client’s live grants', async () => {
    const other = idp.clients[1]!;
    const kept = await idp.issueRefreshToken({ clientId: other.clientId });
    await idp.revokeClientGrants(client.clientId); // clean slate from earlier tests
    const a = await idp.issueRefreshToken({ clientId: client.clientId });
    const b = await idp.issueRefreshToken({ clientId: client.clientId });
    expect(await idp.revokeClientGrants(client.clientId)).toBe(2);
    expect((await refreshGrant(idp.tokenUrl, client, a.refreshToken)).body.error).toBe('invalid_grant');
    expect((await refreshGrant(idp.tokenUrl, client, b.refreshToken)).body.error).toBe('invalid_grant');
    expect((await refreshGrant(idp.tokenUrl, other, kept.refreshToken)).status).toBe(200);
  });

  it('RFC 7009 /oauth2/v1/revoke of a refresh token revokes its grant', async () => {
    const { refreshToken } = await idp.issueRefreshToken({ clientId: client.clientId });
    const res = await postForm(idp.revokeUrl, client, {
      token: refreshToken,
      token_type_hint: 'refresh_token',
    });
    expect(res.status).toBe(200);
    expect((await refreshGrant(idp.tokenUrl, client, refreshToken)).body.error).toBe('invalid_grant');
    expect(idp.stats()).toMatchObject({ revokeRequests: 1, revocations: 1, reuseDetections: 0 });
  });
});
