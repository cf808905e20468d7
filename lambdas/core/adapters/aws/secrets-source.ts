import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { parseConnectionSecret, type TokenUrlPolicy } from '#core/token/index.ts';
import { asTransient } from '../../aws-errors.ts';
import { ConfigError } from '../../errors.ts';
import { type Clock, type ConnectionSecret, type SecretSource, systemClock } from '../../ports.ts';

export const DEFAULT_SECRET_TTL_MS = 5 * 60_000;

/**
 * Secrets Manager with a short TTL cache: warm Lambdas do not call GetSecretValue per token request,
 * yet a rotated client secret is picked up within the TTL (never cached forever, unlike
 * @middy/secrets-manager's default). Concurrent misses share one request.
 */
export class SecretsManagerSecretSource implements SecretSource {
  private readonly cache = new Map<string, { value: ConnectionSecret; fetchedAt: number }>();
  private readonly inFlight = new Map<string, Promise<ConnectionSecret>>();
  private readonly ttlMs: number;
  private readonly clock: Clock;
  private readonly tokenUrl: TokenUrlPolicy;

  /** `tokenUrl`: the composition root pins the stack's idpTokenUrl (a secret naming another is refused). */
  constructor(
    private readonly client: SecretsManagerClient,
    options: { ttlMs?: number; clock?: Clock; tokenUrl?: TokenUrlPolicy } = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_SECRET_TTL_MS;
    this.clock = options.clock ?? systemClock;
    this.tokenUrl = options.tokenUrl ?? {};
  }

  async getSecret(secretId: string, options: { bypassCache?: boolean } = {}): Promise<ConnectionSecret> {
    const cached = this.cache.get(secretId);
    if (!options.bypassCache && cached && this.clock.now() - cached.fetchedAt < this.ttlMs)
      return cached.value;
    const pending = this.inFlight.get(secretId);
    if (pending) return pending;
    const fetching = this.fetch(secretId).finally(() => this.inFlight.delete(secretId));
    this.inFlight.set(secretId, fetching);
    return fetching;
  }

  /** Drops cached copies (all, or one secret). */
  invalidate(secretId?: string): void {
    if (secretId === undefined) this.cache.clear();
    else this.cache.delete(secretId);
  }

  private async fetch(secretId: string): Promise<ConnectionSecret> {
    let raw: string | undefined;
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: secretId }));
      raw =
        out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
    } catch (err) {
      if (err instanceof ResourceNotFoundException)
        throw new ConfigError(`secret ${secretId} does not exist`);
      throw asTransient(err, 'Secrets Manager GetSecretValue');
    }
    if (raw === undefined) throw new ConfigError(`secret ${secretId} has no value`);
    const value = parseConnectionSecret(secretId, raw, this.tokenUrl);
    this.cache.set(secretId, { value, fetchedAt: this.clock.now() });
    return value;
  }
}
