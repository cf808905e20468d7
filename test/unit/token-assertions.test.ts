import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JWT_BEARER_GRANT, obtainToken } from '#core/token/index.ts';
import { ConfigError } from '../../lambdas/core/errors.ts';
import type { ConnectionSecret, GrantType } from '../../lambdas/core/ports.ts';

/**
 * What the client sends IDCS for the JWT assertion grant and for client authentication by assertion:
 * each token request is captured by a bare endpoint on 127.0.0.1 and its assertions verified with the
 * public key (ClientAssertion.htm: kid = the certificate alias, aud https://identity.oraclecloud.com/,
 * iss the client id, sub the Fusion user or, for a client assertion, the client id).
 */
const IDCS = 'https://identity.oraclecloud.com/';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const spki = publicKey.export({ type: 'spki', format: 'pem' }).toString();

let tokenUrl: string;
let close: () => void;
let seen: { form: URLSearchParams; authorization?: string }[] = [];

beforeAll(async () => {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      seen.push({ form: new URLSearchParams(body), authorization: req.headers.authorization });
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ access_token: 'opaque-access-token', expires_in: 3600 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/v1/token`;
  close = () => server.close();
});
afterAll(() => close());
beforeEach(() => {
  seen = [];
});

const secret = (over: Partial<ConnectionSecret> = {}): ConnectionSecret => ({
  tokenUrl,
  clientId: 'goal-sync',
  privateKeyPem,
  keyId: 'goal-sync-cert',
  subject: 'hcm.integration.user',
  scope: 'urn:opc:resource:fusion:hcm',
  ...over,
});
const send = (grant: GrantType, s: ConnectionSecret) => obtainToken({ grant, secret: s }, { attempts: 1 });

async function verify(jwt: string, audience = IDCS) {
  const { payload } = await jwtVerify(jwt, await importSPKI(spki, 'RS256'), { audience });
  return { header: decodeProtectedHeader(jwt), payload };
}

describe('jwt_bearer: the user assertion', () => {
  it('is RS256 with kid = the certificate alias, aud IDCS, iss the client, sub the Fusion user, 5 minutes', async () => {
    await send('jwt_bearer', secret({ clientSecret: 'cs' }));
    const { form, authorization } = seen[0]!;
    expect(form.get('grant_type')).toBe(JWT_BEARER_GRANT);
    expect(authorization).toMatch(/^Basic /);
    expect(form.has('client_assertion')).toBe(false);
    const { header, payload } = await verify(form.get('assertion')!);
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'goal-sync-cert' });
    expect(payload).toMatchObject({ iss: 'goal-sync', sub: 'hcm.integration.user', aud: IDCS });
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(typeof payload.jti).toBe('string');
  });

  it('takes aud from the secret when set (a domain URL)', async () => {
    const domain = 'https://idcs-0123abcd.identity.oraclecloud.com';
    await send('jwt_bearer', secret({ clientSecret: 'cs', audience: domain }));
    expect((await verify(seen[0]!.form.get('assertion')!, domain)).payload.aud).toBe(domain);
  });

  it('refuses to send without subject or keyId, naming the field and never the key', async () => {
    for (const [missing, over] of [
      ['subject', { subject: undefined }],
      ['keyId', { keyId: undefined }],
    ] as const) {
      const err = await send('jwt_bearer', secret({ clientSecret: 'cs', ...over })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(missing);
      expect((err as Error).message).not.toContain('PRIVATE KEY');
    }
    const bad = await send('jwt_bearer', secret({ privateKeyPem: 'not a pem, secret-ish' })).catch(
      (e: unknown) => e,
    );
    expect(bad).toBeInstanceOf(ConfigError);
    expect((bad as Error).message).not.toContain('secret-ish');
    expect(seen).toHaveLength(0);
  });
});

describe('client authentication', () => {
  it('without a client secret: a client assertion (sub = iss = the client id, kid, aud IDCS), no Basic', async () => {
    for (const grant of ['jwt_bearer', 'client_credentials'] as const) {
      seen = [];
      await send(grant, secret());
      const { form, authorization } = seen[0]!;
      expect(authorization).toBeUndefined();
      expect(form.get('client_id')).toBe('goal-sync');
      expect(form.get('client_assertion_type')).toBe(
        'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      );
      const { header, payload } = await verify(form.get('client_assertion')!);
      expect(header).toMatchObject({ alg: 'RS256', kid: 'goal-sync-cert' });
      expect(payload).toMatchObject({ iss: 'goal-sync', sub: 'goal-sync', aud: IDCS });
    }
  });

  it('with neither a client secret nor a key: a ConfigError before anything is sent', async () => {
    const err = await send('client_credentials', secret({ privateKeyPem: undefined })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/clientSecret .* or privateKeyPem/);
    expect(seen).toHaveLength(0);
  });
});
