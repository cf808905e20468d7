import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { HCM_AUDIENCE } from '../constants.ts';

/**
 * A minimal token issuer for driving the HCM simulator without the full IdP: an RS256 key pair whose
 * public half is served as a JWKS on 127.0.0.1, and a mint() for access tokens shaped like IDCS's.
 * Tests use it; so can benchmarks that only need valid bearer tokens.
 */
export interface DevTokenIssuer {
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly audience: string;
  mint(options?: MintOptions): Promise<string>;
  close(): Promise<void>;
}

export interface MintOptions {
  clientId?: string;
  /** Seconds since epoch; default now. */
  iat?: number;
  /** Lifetime from iat in seconds (default 3600); ignored when exp is given. */
  ttlSeconds?: number;
  exp?: number;
  audience?: string;
  issuer?: string;
  /** Sign with a key the JWKS does not publish, under the published kid: a bad signature. */
  foreignKey?: boolean;
  claims?: JWTPayload;
}

const KID = 'dev-hcm-1';

export async function startDevTokenIssuer(
  options: { issuer?: string; audience?: string } = {},
): Promise<DevTokenIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  let foreign: typeof privateKey | undefined;
  const jwk = { ...(await exportJWK(publicKey)), kid: KID, alg: 'RS256', use: 'sig' };
  const jwks = JSON.stringify({ keys: [jwk] });
  const server = createServer((req, res) => {
    if (req.url === '/jwks') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(jwks);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  const issuer = options.issuer ?? `${base}/`;
  const audience = options.audience ?? HCM_AUDIENCE;

  return {
    jwksUrl: `${base}/jwks`,
    issuer,
    audience,
    async mint(o: MintOptions = {}) {
      const iat = o.iat ?? Math.floor(Date.now() / 1000);
      const clientId = o.clientId ?? 'dev-client';
      let key = privateKey;
      if (o.foreignKey) {
        foreign ??= (await generateKeyPair('RS256')).privateKey;
        key = foreign;
      }
      return new SignJWT({
        client_id: clientId,
        tok_type: 'AT',
        scope: 'urn:opc:resource:fusion:hcm',
        ...o.claims,
      })
        .setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' })
        .setIssuer(o.issuer ?? issuer)
        .setAudience(o.audience ?? audience)
        .setSubject(clientId)
        .setIssuedAt(iat)
        .setExpirationTime(o.exp ?? iat + (o.ttlSeconds ?? 3600))
        .setJti(`${clientId}-${iat}-${Math.random().toString(36).slice(2)}`)
        .sign(key);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
