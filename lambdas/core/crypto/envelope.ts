import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { asTransient } from '../aws-errors.ts';
import { AppError, CryptoError } from '../errors.ts';
import type { CallOptions, KeyProvider } from '../ports.ts';

/**
 * Envelope encryption of one secret string (invariant 6): a fresh data key per envelope from the
 * KeyProvider (KMS GenerateDataKey AES_256, or the local key file), AES-256-GCM with a random 12-byte
 * IV, and the encryption context bound twice: by the provider (KMS EncryptionContext / local AAD) when
 * wrapping the data key, and as GCM additional data here. An envelope copied to another connection
 * therefore fails to open.
 *
 * Serialized form (compact, versioned, base64url parts):  v1.<kid>.<edk>.<iv>.<tag>.<ct>
 */
export const ENVELOPE_VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export interface EnvelopeParts {
  v: string;
  kid: string;
  edk: Uint8Array;
  iv: Uint8Array;
  tag: Uint8Array;
  ct: Uint8Array;
}

/** A data key fetched ahead of its one envelope (EnvelopeCipher.prepare). */
export interface PreparedSeal {
  seal(plaintext: string): string;
  discard(): void;
}

export class EnvelopeCipher {
  constructor(private readonly keys: KeyProvider) {}

  async encrypt(plaintext: string, context: Record<string, string>, options?: CallOptions): Promise<string> {
    return (await this.prepare(context, options)).seal(plaintext);
  }

  /**
   * Fetches the data key now, to encrypt later without another KMS call: the token broker takes both keys
   * before it sends a refresh token, so that nothing that can fail stands between the IdP's answer and the
   * commit. The key is used once; `discard()` zeroes it when no seal follows.
   */
  async prepare(context: Record<string, string>, options?: CallOptions): Promise<PreparedSeal> {
    const dataKey = await this.keys.generateDataKey(context, options);
    const key = Buffer.from(dataKey.plaintext);
    dataKey.plaintext.fill(0);
    const kid = this.keys.keyId;
    let used = false;
    const discard = (): void => {
      used = true;
      key.fill(0);
    };
    return {
      discard,
      seal: (plaintext: string): string => {
        if (used) throw new CryptoError('a prepared data key seals one envelope only');
        try {
          if (key.length !== KEY_BYTES) throw new CryptoError(`data key must be ${KEY_BYTES} bytes`);
          const iv = randomBytes(IV_BYTES);
          const cipher = createCipheriv('aes-256-gcm', key, iv);
          cipher.setAAD(additionalData(kid, context));
          const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
          return serializeEnvelope({
            v: ENVELOPE_VERSION,
            kid,
            edk: dataKey.encrypted,
            iv,
            tag: cipher.getAuthTag(),
            ct,
          });
        } finally {
          // Plaintext key material lives no longer than its one envelope.
          discard();
        }
      },
    };
  }

  async decrypt(envelope: string, context: Record<string, string>, options?: CallOptions): Promise<string> {
    const parts = parseEnvelope(envelope);
    let plainKey: Uint8Array;
    try {
      plainKey = await this.keys.decryptDataKey(parts.edk, context, options);
    } catch (err) {
      // A timeout or throttle says nothing about the envelope: only a refusal is permanent.
      const transient = asTransient(err, 'KMS Decrypt');
      if (transient instanceof AppError && transient.retryable) throw transient;
      throw new CryptoError('envelope data key could not be unwrapped (wrong key, context or tampered)', {
        cause: err,
      });
    }
    const key = Buffer.from(plainKey);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, parts.iv);
      decipher.setAAD(additionalData(parts.kid, context));
      decipher.setAuthTag(parts.tag);
      return Buffer.concat([decipher.update(parts.ct), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new CryptoError('envelope failed authentication (tampered or wrong context)', { cause: err });
    } finally {
      key.fill(0);
      plainKey.fill(0);
    }
  }
}

/** Canonical form of the encryption context: key order must not matter. */
export function canonicalContext(context: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(context)
      .sort()
      .map((k) => [k, context[k]]),
  );
}

function additionalData(kid: string, context: Record<string, string>): Buffer {
  return Buffer.from(`${ENVELOPE_VERSION}|${kid}|${canonicalContext(context)}`, 'utf8');
}

export function serializeEnvelope(parts: EnvelopeParts): string {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
  return [
    parts.v,
    Buffer.from(parts.kid, 'utf8').toString('base64url'),
    b64(parts.edk),
    b64(parts.iv),
    b64(parts.tag),
    b64(parts.ct),
  ].join('.');
}

export function parseEnvelope(envelope: string): EnvelopeParts {
  const pieces = envelope.split('.');
  if (pieces.length !== 6 || pieces[0] !== ENVELOPE_VERSION) {
    throw new CryptoError('not a v1 token envelope');
  }
  const [v, kid, edk, iv, tag, ct] = pieces as [string, string, string, string, string, string];
  const parts: EnvelopeParts = {
    v,
    kid: Buffer.from(kid, 'base64url').toString('utf8'),
    edk: Buffer.from(edk, 'base64url'),
    iv: Buffer.from(iv, 'base64url'),
    tag: Buffer.from(tag, 'base64url'),
    ct: Buffer.from(ct, 'base64url'),
  };
  if (parts.iv.length !== IV_BYTES || parts.tag.length !== TAG_BYTES || parts.edk.length === 0) {
    throw new CryptoError('malformed token envelope');
  }
  return parts;
}
