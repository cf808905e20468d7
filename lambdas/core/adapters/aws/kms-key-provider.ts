import { DecryptCommand, GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { asTransient } from '../../aws-errors.ts';
import { CryptoError } from '../../errors.ts';
import type { CallOptions, KeyProvider } from '../../ports.ts';

/**
 * KeyProvider over AWS KMS: GenerateDataKey (AES_256) and Decrypt, both with the EncryptionContext, so
 * CloudTrail shows which connection each key use was for and a data key cannot be unwrapped for another one.
 */
export class KmsKeyProvider implements KeyProvider {
  constructor(
    private readonly client: KMSClient,
    readonly keyId: string,
  ) {}

  async generateDataKey(
    context: Record<string, string>,
    options?: CallOptions,
  ): Promise<{ plaintext: Uint8Array; encrypted: Uint8Array }> {
    try {
      const out = await this.client.send(
        new GenerateDataKeyCommand({ KeyId: this.keyId, KeySpec: 'AES_256', EncryptionContext: context }),
        { abortSignal: options?.abortSignal },
      );
      if (!out.Plaintext || !out.CiphertextBlob) throw new CryptoError('KMS GenerateDataKey returned no key');
      return { plaintext: out.Plaintext, encrypted: out.CiphertextBlob };
    } catch (err) {
      throw asTransient(err, 'KMS GenerateDataKey');
    }
  }

  async decryptDataKey(
    encrypted: Uint8Array,
    context: Record<string, string>,
    options?: CallOptions,
  ): Promise<Uint8Array> {
    try {
      const out = await this.client.send(
        new DecryptCommand({ CiphertextBlob: encrypted, EncryptionContext: context, KeyId: this.keyId }),
        { abortSignal: options?.abortSignal },
      );
      if (!out.Plaintext) throw new CryptoError('KMS Decrypt returned no key');
      return out.Plaintext;
    } catch (err) {
      const mapped = asTransient(err, 'KMS Decrypt');
      if (mapped !== err) throw mapped;
      // InvalidCiphertextException / IncorrectKeyException / AccessDenied: the envelope cannot be opened.
      throw err instanceof CryptoError
        ? err
        : new CryptoError(`KMS Decrypt refused the data key (${(err as Error).name})`, { cause: err });
    }
  }
}
