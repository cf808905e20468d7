import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { canonicalContext } from '#core/crypto/index.ts';
import { CryptoError } from '../../lambdas/core/errors.ts';
import type { CallOptions, KeyProvider } from '../../lambdas/core/ports.ts';

const MASTER_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const LOCAL_KEY_FILE = 'token-master.key';

/**
 * The laptop's stand-in for KMS: data keys are wrapped with AES-256-GCM under a 32-byte master key kept
 * in a 0600 file, with the encryption context as additional data (as KMS binds its EncryptionContext).
 * The envelopes it produces have exactly the KMS format; only `kid` and the wrapped-key bytes differ.
 * Wrapped key layout: iv(12) | tag(16) | ciphertext(32).
 */
export class LocalKeyProvider implements KeyProvider {
  /** `--faults kms.latencyMs`: every data-key call waits this long first, as a slow KMS would. */
  latencyMs = 0;

  private constructor(
    private readonly masterKey: Buffer,
    readonly keyId: string,
  ) {}

  /** Opens the key file, creating it (mode 0600, exclusive) on first use. */
  static async open(keyFile: string): Promise<LocalKeyProvider> {
    const key = await readOrCreateKey(keyFile);
    const fingerprint = createHash('sha256').update(key).digest('hex').slice(0, 16);
    return new LocalKeyProvider(key, `local:${fingerprint}`);
  }

  /** Key file at `<stateDir>/token-master.key`. */
  static inStateDir(stateDir: string): Promise<LocalKeyProvider> {
    return LocalKeyProvider.open(join(stateDir, LOCAL_KEY_FILE));
  }

  async generateDataKey(
    context: Record<string, string>,
    options?: CallOptions,
  ): Promise<{ plaintext: Uint8Array; encrypted: Uint8Array }> {
    await this.latency(options);
    const plaintext = randomBytes(MASTER_KEY_BYTES);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv);
    cipher.setAAD(Buffer.from(canonicalContext(context)));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { plaintext, encrypted: Buffer.concat([iv, cipher.getAuthTag(), ct]) };
  }

  async decryptDataKey(
    encrypted: Uint8Array,
    context: Record<string, string>,
    options?: CallOptions,
  ): Promise<Uint8Array> {
    await this.latency(options);
    const bytes = Buffer.from(encrypted);
    if (bytes.length !== IV_BYTES + TAG_BYTES + MASTER_KEY_BYTES)
      throw new CryptoError('malformed wrapped data key');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.masterKey, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(canonicalContext(context)));
      decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch (err) {
      throw new CryptoError('wrapped data key failed authentication (wrong master key or context)', {
        cause: err,
      });
    }
  }

  /** Simulated KMS round trip; an abort ends it the way the SDK rejects an aborted request. */
  private async latency(options: CallOptions | undefined): Promise<void> {
    const signal = options?.abortSignal;
    signal?.throwIfAborted();
    if (this.latencyMs <= 0) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason ?? Object.assign(new Error('aborted'), { name: 'AbortError' }));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, this.latencyMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

async function readOrCreateKey(keyFile: string): Promise<Buffer> {
  try {
    const key = await readFile(keyFile);
    await assertPrivate(keyFile);
    if (key.length !== MASTER_KEY_BYTES)
      throw new CryptoError(`${keyFile} is not a ${MASTER_KEY_BYTES}-byte key`);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dirname(keyFile), { recursive: true, mode: 0o700 });
  const key = randomBytes(MASTER_KEY_BYTES);
  try {
    // 'wx': two processes starting at once must not each write a different key.
    await writeFile(keyFile, key, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readOrCreateKey(keyFile);
    throw err;
  }
}

/** Refuses a key file others can read: it protects every stored refresh token. */
async function assertPrivate(keyFile: string): Promise<void> {
  if (process.platform === 'win32') return;
  const { mode } = await stat(keyFile);
  if ((mode & 0o077) !== 0) {
    throw new CryptoError(`${keyFile} must be readable by its owner only (chmod 600)`);
  }
}
