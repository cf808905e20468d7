import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { ConfigError } from '../../lambdas/core/errors.ts';
import { selfSignedCertificate } from './certificates.ts';
import type { IdpClient } from './idp-types.ts';

/** Everything secret the IdP needs across restarts: its token signing key and its clients. */
export interface KeyMaterial {
  /** Private RS256 JWK with kid/alg/use: the key behind the JWKS. */
  signingKey: JWK;
  /** Every client ever created in this state dir (a subset may be registered in one run). */
  clients: IdpClient[];
}

const KEYS_FILE = 'idp-keys.json';

/** An RS256 key pair as JWKs, kid = RFC 7638 thumbprint. */
export async function generateRsaJwkPair(): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const meta = { kid, alg: 'RS256', use: 'sig' };
  return { privateJwk: { ...(await exportJWK(privateKey)), ...meta }, publicJwk: { ...publicJwk, ...meta } };
}

/** The alias an administrator would give the client's certificate when importing it into the IDCS app. */
export const certificateAliasOf = (clientId: string): string => `${clientId}-cert`;

async function createClient(clientId: string, assertionOnly: boolean): Promise<IdpClient> {
  const { privateJwk, publicJwk } = await generateRsaJwkPair();
  return {
    clientId,
    clientSecret: assertionOnly ? '' : randomBytes(32).toString('base64url'),
    tokenEndpointAuthMethod: assertionOnly ? 'private_key_jwt' : 'client_secret_basic',
    privateJwk,
    publicJwk,
    certificateAlias: certificateAliasOf(clientId),
    certificatePem: selfSignedCertificate(privateJwk, publicJwk, clientId),
  };
}

/** A client stored before certificates existed gets one for its key; its identity stays the same. */
function withCertificate(client: IdpClient): IdpClient {
  if (client.certificatePem && client.certificateAlias) return client;
  return {
    ...client,
    certificateAlias: certificateAliasOf(client.clientId),
    certificatePem: selfSignedCertificate(client.privateJwk, client.publicJwk, client.clientId),
  };
}

/**
 * Loads the key material from `stateDir` (creating what is missing), or generates it in memory when there
 * is no state dir. Returns the material and the clients to register: `clientIds` (client_secret_basic)
 * then `assertionOnlyIds` (no secret: client_assertion only), each in the order given.
 */
export async function loadKeyMaterial(
  stateDir: string | undefined,
  clientIds: readonly string[],
  assertionOnlyIds: readonly string[] = [],
): Promise<{ material: KeyMaterial; registered: IdpClient[] }> {
  const both = clientIds.filter((id) => assertionOnlyIds.includes(id));
  if (both.length) throw new ConfigError(`clients cannot be both confidential and assertion-only: ${both}`);
  const file = stateDir ? join(stateDir, KEYS_FILE) : undefined;
  const stored =
    file && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as KeyMaterial) : undefined;
  let changed = stored === undefined;
  const material: KeyMaterial = stored ?? {
    signingKey: (await generateRsaJwkPair()).privateJwk,
    clients: [],
  };
  const registered: IdpClient[] = [];
  const wanted: [clientId: string, assertionOnly: boolean][] = [
    ...[...new Set(clientIds)].map((id): [string, boolean] => [id, false]),
    ...[...new Set(assertionOnlyIds)].map((id): [string, boolean] => [id, true]),
  ];
  for (const [clientId, assertionOnly] of wanted) {
    const known = material.clients.find((c) => c.clientId === clientId);
    let client = known && withCertificate(known);
    if (client !== known) changed = true;
    const method = assertionOnly ? 'private_key_jwt' : 'client_secret_basic';
    if (!client || client.tokenEndpointAuthMethod !== method) {
      // New, or its kind changed since the state dir was written: a fresh identity, not a half-reused one.
      client = await createClient(clientId, assertionOnly);
      changed = true;
    }
    material.clients = [...material.clients.filter((c) => c.clientId !== clientId), client];
    registered.push(client);
  }
  if (file && stateDir && changed) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(material, null, 2), { mode: 0o600 });
    renameSync(tmp, file);
  }
  return { material, registered };
}
