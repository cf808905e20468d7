import { z } from 'zod';
import { ConfigError } from '../../errors.ts';
import type { ConnectionSecret } from '../../ports.ts';

/** Shape of the JSON kept per connection in Secrets Manager (or the local secrets file). */
export const connectionSecretSchema = z.object({
  tokenUrl: z.url(),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1).optional(),
  scope: z.string().optional(),
  privateKeyPem: z.string().min(1).optional(),
  keyId: z.string().optional(),
  subject: z.string().optional(),
  audience: z.string().optional(),
  bootstrapRefreshToken: z.string().min(1).optional(),
});

/** Validates a secret; the error names the bad fields, never their values. */
export function parseConnectionSecret(secretId: string, raw: unknown): ConnectionSecret {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ConfigError(`secret ${secretId} is not JSON`);
    }
  }
  const parsed = connectionSecretSchema.safeParse(value);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))].join(', ');
    throw new ConfigError(`secret ${secretId} is invalid (fields: ${fields})`);
  }
  return parsed.data;
}
