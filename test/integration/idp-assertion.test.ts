import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HCM_AUDIENCE } from '../../local/constants.ts';
import { certificateThumbprint } from '../../local/idp/certificates.ts';
import {
  CLIENT_ASSERTION_TYPE,
  DEFAULT_SUBJECT,
  IDCS_AUDIENCE,
  type IdpClient,
  type IdpSim,
  JWT_BEARER_GRANT,
  startIdp,
} from '../../local/idp/index.ts';
import { type AssertionClaims, clientAssertionForm, postForm, userAssertion } from '../support/idp-client.ts';

/**
 * The IdP simulator checks assertions as IDCS documents them (ClientAssertion.htm): header kid (the
 * imported certificate's alias) or x5t (its thumbprint), aud containing https://identity.oraclecloud.com/
 * or the domain URL, iss the client id, sub a user of the domain (user assertion) or the client id
 * (client assertion), exp and iat. Every case is one real HTTP request.
 */
let idp: IdpSim;
let client: IdpClient;
let other: IdpClient;
let keyOnly: IdpClient;
let jwks: ReturnType<typeof createRemoteJWKSet>;

beforeAll(async () => {
  idp = await startIdp({
    clientIds: ['goal-sync', 'other-app'],
    assertionOnlyClientIds: ['goal-sync-key'],
    users: [DEFAULT_SUBJECT, 'casey.brown'],
    rateLimitPerSecond: 0,
    rateLimitPerMinute: 0,
  });
  [client, other, keyOnly] = idp.clients as [IdpClient, IdpClient, IdpClient];
  jwks = createRemoteJWKSet(new URL(idp.jwksUrl));
});
afterAll(() => idp.close());
beforeEach(() => idp.resetStats());

const bearer = async (
  assertion: string,
  auth: IdpClient | null = client,
  extra: Record<string, string> = {},
) => postForm(idp.tokenUrl, auth, { grant_type: JWT_BEARER_GRANT, assertion, ...extra });

async function accessTokenClaims(token: unknown) {
  const { payload } = await jwtVerify(token as string, jwks, { issuer: idp.issuer, audience: HCM_AUDIENCE });
  return payload;
}

describe('IdP simulator: user assertion (jwt-bearer grant)', () => {
  it('every client has a certificate imported under an alias', () => {
    for (const c of idp.clients) {
      expect(c.certificateAlias).toBe(`${c.clientId}-cert`);
      expect(c.certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    }
  });

  it('accepts kid = the certificate alias, aud = IDCS, sub = a Fusion user: a user token, no refresh token', async () => {
    const res = await bearer(await userAssertion(client, { sub: 'casey.brown' }));
    expect(res.status).toBe(200);
    expect(res.body.refresh_token).toBeUndefined();
    expect(await accessTokenClaims(res.body.access_token)).toMatchObject({
      sub: 'casey.brown',
      sub_type: 'user',
      client_id: client.clientId,
    });
  });

  it('accepts x5t (the certificate thumbprint) instead of kid, and the domain URL as aud', async () => {
    const x5t = certificateThumbprint(client.certificatePem);
    for (const aud of [idp.issuer, `${idp.issuer}/`, ['https://elsewhere.example/', IDCS_AUDIENCE]]) {
      const res = await bearer(await userAssertion(client, { kid: undefined, x5t, aud }));
      expect(res.status, JSON.stringify(aud)).toBe(200);
    }
  });

  it('refuses each broken rule with 400 invalid_grant and issues nothing', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const stranger = { ...client, privateJwk: await exportJWK(privateKey) };
    const now = Math.floor(Date.now() / 1000);
    const cases: Record<string, Partial<AssertionClaims> | (() => Promise<string>)> = {
      'no kid and no x5t': { kid: undefined },
      'kid is the key thumbprint, not the certificate alias': { kid: client.privateJwk.kid },
      'kid is another client certificate alias': { kid: other.certificateAlias },
      "x5t is another certificate's thumbprint": {
        kid: undefined,
        x5t: certificateThumbprint(other.certificatePem),
      },
      'aud is the token URL': { aud: idp.tokenUrl },
      'aud is elsewhere': { aud: 'https://identity.example.com/' },
      'sub is not a user of the domain': { sub: 'nobody.known' },
      'sub is the client (an app, not a user)': { sub: client.clientId },
      'iss is another client': { iss: other.clientId },
      expired: { iat: now - 120, expiresInSeconds: 60 },
      'issued in the future': { iat: now + 3600 },
      'older than an hour': { iat: now - 7200, expiresInSeconds: 10_800 },
      'no exp': { omitExp: true },
      'signed by another key under the right kid': () => userAssertion(stranger),
      'signed by the other client': () =>
        userAssertion({ ...other, certificateAlias: client.certificateAlias }),
    };
    for (const [name, rule] of Object.entries(cases)) {
      const assertion = typeof rule === 'function' ? await rule() : await userAssertion(client, rule);
      const res = await bearer(assertion);
      expect({ name, status: res.status, error: res.body.error }).toEqual({
        name,
        status: 400,
        error: 'invalid_grant',
      });
    }
    const garbage = await bearer('not-a-jwt');
    expect(garbage.body.error).toBe('invalid_grant');
    expect(idp.stats()).toMatchObject({
      accessTokensIssued: 0,
      errors: { invalid_grant: Object.keys(cases).length + 1 },
    });
  });
});

describe('IdP simulator: client authentication by client_assertion', () => {
  it('authenticates a client with a secret by client_assertion instead of HTTP Basic', async () => {
    const cc = await postForm(idp.tokenUrl, null, {
      grant_type: 'client_credentials',
      ...(await clientAssertionForm(client)),
    });
    expect(cc.status).toBe(200);
    expect(await accessTokenClaims(cc.body.access_token)).toMatchObject({
      sub: client.clientId,
      sub_type: 'client',
    });
    const user = await bearer(await userAssertion(client), null, {
      client_id: client.clientId,
      ...(await clientAssertionForm(client)),
    });
    expect(user.status).toBe(200);
    expect(await accessTokenClaims(user.body.access_token)).toMatchObject({ sub: DEFAULT_SUBJECT });
  });

  it('a client without a secret: client_assertion is its only credential', async () => {
    expect(keyOnly).toMatchObject({ clientSecret: '', tokenEndpointAuthMethod: 'private_key_jwt' });
    const ok = await bearer(await userAssertion(keyOnly), null, await clientAssertionForm(keyOnly));
    expect(ok.status).toBe(200);
    expect(await accessTokenClaims(ok.body.access_token)).toMatchObject({
      sub: DEFAULT_SUBJECT,
      client_id: keyOnly.clientId,
    });
    // Neither an empty Basic secret nor a bare client_id in the body authenticates it.
    const emptyBasic = await bearer(await userAssertion(keyOnly), keyOnly);
    expect(emptyBasic.status).toBeGreaterThanOrEqual(400);
    expect(emptyBasic.status).toBeLessThan(500);
    const bare = await bearer(await userAssertion(keyOnly), null, { client_id: keyOnly.clientId });
    expect({ status: bare.status, error: bare.body.error }).toEqual({ status: 401, error: 'invalid_client' });
    expect(idp.stats().accessTokensIssued).toBe(1);
  });

  it('refuses each broken client assertion with 401 invalid_client, even beside a good user assertion', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const stranger = { ...keyOnly, privateJwk: await exportJWK(privateKey) };
    const now = Math.floor(Date.now() / 1000);
    const cases: Record<string, () => Promise<Record<string, string>>> = {
      'sub is a user, not the client': () => clientAssertionForm(keyOnly, { sub: DEFAULT_SUBJECT }),
      'aud is the token URL': () => clientAssertionForm(keyOnly, { aud: idp.tokenUrl }),
      'no kid and no x5t': () => clientAssertionForm(keyOnly, { kid: undefined }),
      'kid of another certificate': () => clientAssertionForm(keyOnly, { kid: client.certificateAlias }),
      'signed by another key': () => clientAssertionForm(stranger),
      expired: () => clientAssertionForm(keyOnly, { iat: now - 120, expiresInSeconds: 60 }),
      'iss is not a registered client': () => clientAssertionForm(keyOnly, { iss: 'nobody', sub: 'nobody' }),
      'client_id differs from iss': async () => ({
        ...(await clientAssertionForm(keyOnly)),
        client_id: client.clientId,
      }),
      'wrong client_assertion_type': async () => ({
        ...(await clientAssertionForm(keyOnly)),
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
      }),
      'assertion missing': async () => ({ client_assertion_type: CLIENT_ASSERTION_TYPE }),
    };
    const grant = await userAssertion(keyOnly);
    for (const [name, form] of Object.entries(cases)) {
      const res = await bearer(grant, null, await form());
      expect({ name, status: res.status, error: res.body.error }).toEqual({
        name,
        status: 401,
        error: 'invalid_client',
      });
    }
    expect(idp.stats()).toMatchObject({
      accessTokensIssued: 0,
      errors: { invalid_client: Object.keys(cases).length },
    });
  });

  it('refuses HTTP Basic and client_assertion together (one mechanism only), and no client authentication', async () => {
    const both = await postForm(idp.tokenUrl, client, {
      grant_type: 'client_credentials',
      ...(await clientAssertionForm(client)),
    });
    expect({ status: both.status, error: both.body.error }).toEqual({
      status: 400,
      error: 'invalid_request',
    });
    const none = await postForm(idp.tokenUrl, null, {
      grant_type: 'client_credentials',
      client_id: client.clientId,
    });
    expect({ status: none.status, error: none.body.error }).toEqual({ status: 401, error: 'invalid_client' });
  });
});
