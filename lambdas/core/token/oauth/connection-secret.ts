import { ConfigError } from '../../errors.ts';
import type { ConnectionSecret } from '../../ports.ts';
import * as z from '../../zod.ts';

const nonEmpty = z.string().check(z.minLength(1));

/** Shape of the JSON kept per connection in Secrets Manager (or the local secrets file). */
export const connectionSecretSchema = z.object({
  tokenUrl: z.url(),
  clientId: nonEmpty,
  clientSecret: z.optional(nonEmpty),
  scope: z.optional(z.string()),
  privateKeyPem: z.optional(nonEmpty),
  keyId: z.optional(z.string()),
  subject: z.optional(z.string()),
  audience: z.optional(z.string()),
  bootstrapRefreshToken: z.optional(nonEmpty),
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
