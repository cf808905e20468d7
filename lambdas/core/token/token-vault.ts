import { EnvelopeCipher } from '../crypto/envelope.ts';
import { ReauthRequiredError } from '../errors.ts';
import type { IssuedToken, KeyProvider } from '../ports.ts';
import type { ConnectionItem } from './connection-item.ts';

/**
 * The only place tokens are encrypted or decrypted. The encryption context is the connection id, so an
 * envelope moved to another item fails to open. Decrypted access tokens are remembered per connection
 * while the stored envelope is unchanged: a warm broker answers `get` without a KMS call per request.
 */
export class TokenVault {
  private readonly cipher: EnvelopeCipher;
  private readonly opened = new Map<string, { envelope: string; issued: IssuedToken }>();

  constructor(keys: KeyProvider) {
    this.cipher = new EnvelopeCipher(keys);
  }

  seal(connectionId: string, plaintext: string): Promise<string> {
    return this.cipher.encrypt(plaintext, { connectionId });
  }

  /** The item's access token as IssuedToken; the caller has checked it is there. */
  async open(item: ConnectionItem): Promise<IssuedToken> {
    const envelope = item.accessToken;
    if (envelope === undefined || item.expiresAt === undefined) {
      throw new ReauthRequiredError(item.connectionId, 'no access token stored; connect again');
    }
    const cached = this.opened.get(item.connectionId);
    if (cached && cached.envelope === envelope) return { ...cached.issued };
    const accessToken = await this.cipher.decrypt(envelope, { connectionId: item.connectionId });
    const issued: IssuedToken = {
      accessToken,
      expiresAt: item.expiresAt,
      version: item.version,
      ...(item.issuedAt !== undefined ? { issuedAt: item.issuedAt } : {}),
    };
    this.opened.set(item.connectionId, { envelope, issued });
    return { ...issued };
  }

  async openRefreshToken(item: ConnectionItem): Promise<string | undefined> {
    if (item.refreshToken === undefined) return undefined;
    return this.cipher.decrypt(item.refreshToken, { connectionId: item.connectionId });
  }

  /** After a commit: the committer already holds the plaintext, no need to decrypt it again. */
  remember(connectionId: string, envelope: string, issued: IssuedToken): void {
    this.opened.set(connectionId, { envelope, issued: { ...issued } });
  }
}
