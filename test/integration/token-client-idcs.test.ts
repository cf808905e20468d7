import { createPrivateKey, type JsonWebKey } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { obtainToken } from '#core/token/index.ts';
import { GrantRejectedError } from '../../lambdas/core/errors.ts';
import type { ConnectionSecret, GrantType } from '../../lambdas/core/ports.ts';
import { DEFAULT_SUBJECT, type IdpClient, type IdpSim, startIdp } from '../../local/idp/index.ts';

/**
 * The token client against the strict IdP simulator: the secret an operator writes for IDCS (the key,
 * its certificate's alias, the Fusion user) gets a token with HTTP Basic and with a client assertion,
 * and each thing IDCS would refuse comes back as a GrantRejectedError with the RFC 6749 code.
 */
let idp: IdpSim;
let withSecret: IdpClient;
let keyOnly: IdpClient;

beforeAll(async () => {
  idp = await startIdp({
    assertionOnlyClientIds: ['goal-sync-key'],
    rateLimitPerSecond: 0,
    rateLimitPerMinute: 0,
  });
  [withSecret, keyOnly] = idp.clients as [IdpClient, IdpClient];
});
afterAll(() => idp.close());

const pemOf = (c: IdpClient) =>
  createPrivateKey({ key: c.privateJwk as JsonWebKey, format: 'jwk' })
    .export({ type: 'pkcs8', format: 'pem' })
    .toString();

function secretFor(c: IdpClient, over: Partial<ConnectionSecret> = {}): ConnectionSecret {
  return {
    tokenUrl: idp.tokenUrl,
    clientId: c.clientId,
    ...(c.clientSecret ? { clientSecret: c.clientSecret } : {}),
    privateKeyPem: pemOf(c),
    keyId: c.certificateAlias,
    subject: DEFAULT_SUBJECT,
    ...over,
  };
}
const obtain = (grant: GrantType, secret: ConnectionSecret) =>
  obtainToken({ grant, secret }, { attempts: 1 });
const refusal = async (grant: GrantType, secret: ConnectionSecret) => {
  const err = await obtain(grant, secret).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(GrantRejectedError);
  return (err as GrantRejectedError).oauthError;
};

describe('token client against the strict IdP simulator', () => {
  it('gets a user token by JWT assertion, authenticated by HTTP Basic or by client assertion', async () => {
    for (const c of [withSecret, keyOnly]) {
      const set = await obtain('jwt_bearer', secretFor(c));
      expect(decodeJwt(set.accessToken)).toMatchObject({ sub: DEFAULT_SUBJECT, client_id: c.clientId });
      expect(set.refreshToken).toBeUndefined();
    }
    // A client without a secret gets its own app token with client_credentials and a client assertion.
    const app = await obtain('client_credentials', secretFor(keyOnly));
    expect(decodeJwt(app.accessToken)).toMatchObject({ sub: keyOnly.clientId });
  });

  it('a wrong user, certificate alias or audience in the user assertion: invalid_grant', async () => {
    expect(await refusal('jwt_bearer', secretFor(withSecret, { subject: 'nobody.known' }))).toBe(
      'invalid_grant',
    );
    expect(await refusal('jwt_bearer', secretFor(withSecret, { keyId: 'not-the-alias' }))).toBe(
      'invalid_grant',
    );
    expect(await refusal('jwt_bearer', secretFor(withSecret, { audience: idp.tokenUrl }))).toBe(
      'invalid_grant',
    );
  });

  it('a wrong certificate alias in the client assertion: invalid_client', async () => {
    expect(await refusal('jwt_bearer', secretFor(keyOnly, { keyId: 'not-the-alias' }))).toBe(
      'invalid_client',
    );
    expect(
      await refusal('client_credentials', secretFor(keyOnly, { privateKeyPem: pemOf(withSecret) })),
    ).toBe('invalid_client');
  });
});
