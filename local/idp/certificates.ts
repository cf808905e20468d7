import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type JsonWebKey as JsonWebKeyInput,
  X509Certificate,
} from 'node:crypto';
import type { JWK } from 'jose';
import forge from 'node-forge';

const VALIDITY_YEARS = 10;

/**
 * A self-signed X.509 certificate for a client's key pair: what an administrator would upload to the
 * IDCS app. node-forge builds it (node:crypto can read certificates but not write them); the keys
 * themselves stay node:crypto/JWK, converted through PEM.
 */
export function selfSignedCertificate(privateJwk: JWK, publicJwk: JWK, commonName: string): string {
  const privatePem = createPrivateKey({ key: privateJwk as JsonWebKeyInput, format: 'jwk' })
    .export({ type: 'pkcs1', format: 'pem' })
    .toString();
  const publicPem = createPublicKey({ key: publicJwk as JsonWebKeyInput, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  // A positive serial (leading byte below 0x80) from the key's own bytes: stable for a given key.
  cert.serialNumber = `01${createHash('sha256').update(publicPem).digest('hex').slice(0, 30)}`;
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime());
  cert.validity.notAfter.setFullYear(now.getFullYear() + VALIDITY_YEARS);
  const name = [{ name: 'commonName', value: commonName }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.sign(forge.pki.privateKeyFromPem(privatePem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** `x5t`: the base64url SHA-1 thumbprint of the certificate's DER encoding (RFC 7515 4.1.7). */
export function certificateThumbprint(pem: string): string {
  return createHash('sha1').update(new X509Certificate(pem).raw).digest('base64url');
}
