import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DecryptCommand,
  type DecryptCommandInput,
  GenerateDataKeyCommand,
  type GenerateDataKeyCommandInput,
  InvalidCiphertextException,
  KMSClient,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { canonicalContext, EnvelopeCipher, parseEnvelope, serializeEnvelope } from '#core/crypto/index.ts';
import { KmsKeyProvider } from '../../lambdas/core/adapters/aws/kms-key-provider.ts';
import { CryptoError, TransientError } from '../../lambdas/core/errors.ts';
import type { KeyProvider } from '../../lambdas/core/ports.ts';
import { LocalKeyProvider } from '../../local/adapters/local-key-provider.ts';

const TOKEN = `eyJhbGciOiJSUzI1NiJ9.${'p'.repeat(120)}.${'s'.repeat(80)}`;
const ctx = { connectionId: 'conn-1' };

/**
 * A KMS stand-in behind aws-sdk-client-mock that behaves like KMS: the "ciphertext blob" really is the
 * data key sealed under a hidden key with the encryption context bound, so a wrong context fails.
 */
function fakeKms(kms: ReturnType<typeof mockClient>) {
  const hidden = randomBytes(32);
  const calls = { generate: [] as GenerateDataKeyCommandInput[], decrypt: [] as DecryptCommandInput[] };
  kms.on(GenerateDataKeyCommand).callsFake((input: GenerateDataKeyCommandInput) => {
    calls.generate.push(input);
    const plaintext = randomBytes(32);
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', hidden, iv);
    c.setAAD(Buffer.from(canonicalContext(input.EncryptionContext ?? {})));
    const blob = Buffer.concat([iv, c.update(plaintext), c.final(), c.getAuthTag()]);
    return { Plaintext: new Uint8Array(plaintext), CiphertextBlob: new Uint8Array(blob), KeyId: input.KeyId };
  });
  kms.on(DecryptCommand).callsFake((input: DecryptCommandInput) => {
    calls.decrypt.push(input);
    const blob = Buffer.from(input.CiphertextBlob!);
    try {
      const d = createDecipheriv('aes-256-gcm', hidden, blob.subarray(0, 12));
      d.setAAD(Buffer.from(canonicalContext(input.EncryptionContext ?? {})));
      d.setAuthTag(blob.subarray(blob.length - 16));
      return {
        Plaintext: new Uint8Array(Buffer.concat([d.update(blob.subarray(12, blob.length - 16)), d.final()])),
      };
    } catch {
      throw new InvalidCiphertextException({ message: 'invalid', $metadata: {} });
    }
  });
  return calls;
}

/** Flips one byte of one base64url part of an envelope. */
function tamper(envelope: string, part: number): string {
  const pieces = envelope.split('.');
  const bytes = Buffer.from(pieces[part]!, 'base64url');
  bytes[bytes.length - 1]! ^= 0x01;
  pieces[part] = bytes.toString('base64url');
  return pieces.join('.');
}

function roundTripSuite(name: string, makeKeys: () => KeyProvider) {
  describe(`envelope with ${name}`, () => {
    it('round-trips a token and never contains it in clear', async () => {
      const cipher = new EnvelopeCipher(makeKeys());
      const envelope = await cipher.encrypt(TOKEN, ctx);
      expect(envelope.startsWith('v1.')).toBe(true);
      expect(envelope).not.toContain(TOKEN.slice(0, 30));
      expect(await cipher.decrypt(envelope, ctx)).toBe(TOKEN);
    });

    it('uses a fresh data key and IV per envelope', async () => {
      const cipher = new EnvelopeCipher(makeKeys());
      const a = parseEnvelope(await cipher.encrypt(TOKEN, ctx));
      const b = parseEnvelope(await cipher.encrypt(TOKEN, ctx));
      expect(Buffer.from(a.iv).equals(Buffer.from(b.iv))).toBe(false);
      expect(Buffer.from(a.edk).equals(Buffer.from(b.edk))).toBe(false);
      expect(a.iv).toHaveLength(12);
    });

    it.each([
      ['wrapped data key', 2],
      ['iv', 3],
      ['tag', 4],
      ['ciphertext', 5],
    ])('detects a tampered %s', async (_label, part) => {
      const cipher = new EnvelopeCipher(makeKeys());
      const envelope = await cipher.encrypt(TOKEN, ctx);
      await expect(cipher.decrypt(tamper(envelope, part), ctx)).rejects.toBeInstanceOf(CryptoError);
    });

    it('detects a swapped key id', async () => {
      const cipher = new EnvelopeCipher(makeKeys());
      const parts = parseEnvelope(await cipher.encrypt(TOKEN, ctx));
      await expect(
        cipher.decrypt(serializeEnvelope({ ...parts, kid: 'other-key' }), ctx),
      ).rejects.toBeInstanceOf(CryptoError);
    });

    it('refuses an envelope moved to another connection (encryption context)', async () => {
      const cipher = new EnvelopeCipher(makeKeys());
      const envelope = await cipher.encrypt(TOKEN, ctx);
      await expect(cipher.decrypt(envelope, { connectionId: 'conn-2' })).rejects.toBeInstanceOf(CryptoError);
    });

    it('rejects malformed input as CryptoError', async () => {
      const cipher = new EnvelopeCipher(makeKeys());
      await expect(cipher.decrypt('plaintext-token', ctx)).rejects.toBeInstanceOf(CryptoError);
      await expect(cipher.decrypt('v2.a.b.c.d.e', ctx)).rejects.toBeInstanceOf(CryptoError);
    });
  });
}

const kms = mockClient(KMSClient);
let kmsCalls: ReturnType<typeof fakeKms>;
beforeEach(() => {
  kms.reset();
  kmsCalls = fakeKms(kms);
});

roundTripSuite(
  'KMS (client mock)',
  () => new KmsKeyProvider(new KMSClient({ region: 'us-east-1' }), 'alias/goal-sync-tokens'),
);

describe('KmsKeyProvider', () => {
  it('asks for AES_256 with the encryption context on both calls', async () => {
    const cipher = new EnvelopeCipher(new KmsKeyProvider(new KMSClient({ region: 'us-east-1' }), 'alias/k'));
    await cipher.decrypt(await cipher.encrypt(TOKEN, ctx), ctx);
    expect(kmsCalls.generate[0]).toMatchObject({
      KeyId: 'alias/k',
      KeySpec: 'AES_256',
      EncryptionContext: ctx,
    });
    expect(kmsCalls.decrypt[0]).toMatchObject({ KeyId: 'alias/k', EncryptionContext: ctx });
  });

  it('maps KMS throttling to TransientError', async () => {
    kms
      .on(GenerateDataKeyCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    const provider = new KmsKeyProvider(new KMSClient({ region: 'us-east-1', maxAttempts: 1 }), 'alias/k');
    await expect(new EnvelopeCipher(provider).encrypt(TOKEN, ctx)).rejects.toBeInstanceOf(TransientError);
  });
});

describe('LocalKeyProvider', () => {
  let dir: string;
  let local: LocalKeyProvider;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'crypto-test-'));
    local = await LocalKeyProvider.inStateDir(dir);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  roundTripSuite('the local key file', () => local);

  it('creates a 32-byte key file with mode 0600 and reuses it', async () => {
    const file = join(dir, 'token-master.key');
    const info = await stat(file);
    expect(info.size).toBe(32);
    expect(info.mode & 0o777).toBe(0o600);
    const again = await LocalKeyProvider.inStateDir(dir);
    expect(again.keyId).toBe(local.keyId);
    const envelope = await new EnvelopeCipher(local).encrypt(TOKEN, ctx);
    expect(await new EnvelopeCipher(again).decrypt(envelope, ctx)).toBe(TOKEN);
  });

  it('cannot open envelopes sealed under another master key', async () => {
    const other = await LocalKeyProvider.open(join(dir, 'other', 'k.key'));
    const envelope = await new EnvelopeCipher(other).encrypt(TOKEN, ctx);
    await expect(new EnvelopeCipher(local).decrypt(envelope, ctx)).rejects.toBeInstanceOf(CryptoError);
  });

  it('a decrypt that times out (slow KMS, the lease deadline) is a TransientError, not a wrong key', async () => {
    const envelope = await new EnvelopeCipher(local).encrypt(TOKEN, ctx);
    local.latencyMs = 1_000;
    try {
      const err = await new EnvelopeCipher(local)
        .decrypt(envelope, ctx, { abortSignal: AbortSignal.timeout(20) })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransientError);
      expect(err).not.toBeInstanceOf(CryptoError);
      expect((err as Error).message).toMatch(/KMS Decrypt failed transiently \(TimeoutError\)/);
    } finally {
      local.latencyMs = 0;
    }
  });

  it('refuses a key file readable by others', async () => {
    const file = join(dir, 'loose.key');
    await writeFile(file, randomBytes(32), { mode: 0o644 });
    await expect(LocalKeyProvider.open(file)).rejects.toBeInstanceOf(CryptoError);
  });

  it('produces the same envelope format as the KMS provider', async () => {
    const kmsEnvelope = await new EnvelopeCipher(
      new KmsKeyProvider(new KMSClient({ region: 'us-east-1' }), 'alias/k'),
    ).encrypt(TOKEN, ctx);
    const localEnvelope = await new EnvelopeCipher(local).encrypt(TOKEN, ctx);
    const shape = (e: string) => e.split('.').map((p, i) => (i === 0 ? p : typeof p));
    expect(shape(localEnvelope)).toEqual(shape(kmsEnvelope));
    expect(parseEnvelope(localEnvelope).kid).toBe(local.keyId);
  });
});
