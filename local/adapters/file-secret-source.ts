import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseConnectionSecret } from '#core/token/index.ts';
import { ConfigError } from '../../lambdas/core/errors.ts';
import type { ConnectionSecret, SecretSource } from '../../lambdas/core/ports.ts';

export const LOCAL_SECRETS_FILE = 'secrets.json';

/** The embedded default's IdP listens on 127.0.0.1 without TLS; nothing else may be plain http. */
const LOCAL_TOKEN_URLS = { allowLoopbackHttp: true } as const;

/**
 * The laptop's Secrets Manager: one JSON file (mode 0600) mapping secretId -> ConnectionSecret.
 * Read on every call (no cache): a human editing the file sees the change at once, and the file is tiny.
 */
export class FileSecretSource implements SecretSource {
  /** Serializes writers in this process: read-modify-write of one file. */
  private writes: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  /** Secrets file at `<stateDir>/secrets.json`. */
  static inStateDir(stateDir: string): FileSecretSource {
    return new FileSecretSource(join(stateDir, LOCAL_SECRETS_FILE));
  }

  async getSecret(secretId: string): Promise<ConnectionSecret> {
    const all = await this.readAll();
    if (!(secretId in all)) throw new ConfigError(`secret ${secretId} does not exist in ${this.file}`);
    return parseConnectionSecret(secretId, all[secretId], LOCAL_TOKEN_URLS);
  }

  /** Creates or replaces one secret; the write is atomic (temp file + rename) and stays 0600. */
  putSecret(secretId: string, secret: ConnectionSecret): Promise<void> {
    parseConnectionSecret(secretId, secret, LOCAL_TOKEN_URLS);
    const write = this.writes.then(() => this.write(secretId, secret));
    this.writes = write.catch(() => undefined);
    return write;
  }

  private async write(secretId: string, secret: ConnectionSecret): Promise<void> {
    const all = await this.readAll();
    all[secretId] = secret;
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const temp = `${this.file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temp, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
    await rename(temp, this.file);
    await chmod(this.file, 0o600);
  }

  private async readAll(): Promise<Record<string, unknown>> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    try {
      const value: unknown = JSON.parse(text);
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
      return value as Record<string, unknown>;
    } catch {
      throw new ConfigError(`${this.file} is not a JSON object of secrets`);
    }
  }
}
