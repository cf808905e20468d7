import { EnvelopeCipher, type PreparedSeal } from '#core/crypto/index.ts';
import { ReauthRequiredError } from '../errors.ts';
import type { CallOptions, IssuedToken, KeyProvider } from '../ports.ts';
import type { ConnectionItem } from './connection/connection-item.ts';

/**
 * The only place tokens are encrypted or decrypted. The encryption context is {connectionId, purpose}:
 * an envelope moved to another item, or the access envelope swapped with the refresh one, fails to open. Decrypted access tokens are remembered per connection
 * while the stored envelope is unchanged: a warm broker answers `get` without a KMS call per request.
 */
export class TokenVault {
  private readonly cipher: EnvelopeCipher;
  private readonly opened = new Map<string, { envelope: string; issued: IssuedToken }>();

  constructor(keys: KeyProvider) {
    this.cipher = new EnvelopeCipher(keys);
  }

  seal(
    connectionId: string,
    purpose: TokenPurpose,
    plaintext: string,
    options?: CallOptions,
  ): Promise<string> {
    return this.cipher.encrypt(plaintext, encryptionContext(connectionId, purpose), options);
  }

  /** A data key for one later `seal` of this connection's `purpose`, fetched now (see EnvelopeCipher.prepare). */
  prepareSeal(connectionId: string, purpose: TokenPurpose, options?: CallOptions): Promise<PreparedSeal> {
    return this.cipher.prepare(encryptionContext(connectionId, purpose), options);
  }

  /** The item's access token as IssuedToken; the caller has checked it is there. */
  async open(item: ConnectionItem): Promise<IssuedToken> {
    const envelope = item.accessToken;
    if (envelope === undefined || item.expiresAt === undefined) {
      throw new ReauthRequiredError(item.connectionId, 'no access token stored; connect again');
    }
    const cached = this.opened.get(item.connectionId);
    if (cached && cached.envelope === envelope) return { ...cached.issued };
    const accessToken = await this.cipher.decrypt(envelope, encryptionContext(item.connectionId, 'access'));
    const issued: IssuedToken = {
      accessToken,
      expiresAt: item.expiresAt,
      version: item.version,
      ...(item.issuedAt !== undefined ? { issuedAt: item.issuedAt } : {}),
    };
    this.opened.set(item.connectionId, { envelope, issued });
    return { ...issued };
  }

  async openRefreshToken(item: ConnectionItem, options?: CallOptions): Promise<string | undefined> {
    if (item.refreshToken === undefined) return undefined;
    return this.cipher.decrypt(item.refreshToken, encryptionContext(item.connectionId, 'refresh'), options);
  }

  /** After a commit: the committer already holds the plaintext, no need to decrypt it again. */
  remember(connectionId: string, envelope: string, issued: IssuedToken): void {
    this.opened.set(connectionId, { envelope, issued: { ...issued } });
  }
}

export type TokenPurpose = 'access' | 'refresh';

/** KMS EncryptionContext (and GCM additional data) of one envelope. */
export const encryptionContext = (connectionId: string, purpose: TokenPurpose): Record<string, string> => ({
  connectionId,
  purpose,
});
