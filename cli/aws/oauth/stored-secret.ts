import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { connectionSecretSchema } from '#core/token/index.ts';
import { ConfigError, ConnectionNotFoundError } from '../../../lambdas/core/errors.ts';
import type { ConnectionSecret } from '../../../lambdas/core/ports.ts';

/** The field `connect` adds; the broker's `connect` action moves it into its encrypted store. */
export const BOOTSTRAP_REFRESH_TOKEN_FIELD = 'bootstrapRefreshToken';

// The broker's own schema (so connect never stores a secret the broker would reject), loose so fields
// it does not know survive the write-back, and tokenUrl optional because the stack may supply it.
const SecretSchema = z.looseObject({ ...connectionSecretSchema.shape, tokenUrl: z.url().optional() });

/**
 * What `connect` uses, plus the secret as it will be written back: unchanged, except that a tokenUrl
 * taken from the stack is added so the broker (which requires it) can use the secret.
 */
export interface ConnectCredentials extends Pick<ConnectionSecret, 'tokenUrl' | 'clientId' | 'scope'> {
  clientSecret: string;
  stored: Record<string, unknown>;
}

export const secretIdFor = (prefix: string, connectionId: string): string => `${prefix}${connectionId}`;

/**
 * Reads and validates the connection's secret. `fallbackTokenUrl` (the stack's IdpTokenUrl output)
 * fills a missing `tokenUrl`. Error messages name fields, never values.
 */
export async function readConnectionSecret(
  secrets: SecretsManagerClient,
  secretId: string,
  connectionId: string,
  fallbackTokenUrl?: string,
): Promise<ConnectCredentials> {
  let raw: string | undefined;
  try {
    raw = (await secrets.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  } catch (err) {
    if (err instanceof Error && err.name === 'ResourceNotFoundException')
      throw new ConnectionNotFoundError(connectionId);
    throw err;
  }
  if (!raw) throw new ConfigError(`secret ${secretId} has no SecretString`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError(`secret ${secretId} is not JSON`);
  }
  const parsed = SecretSchema.safeParse(json);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))].join(', ');
    throw new ConfigError(`secret ${secretId} is malformed (check: ${fields})`);
  }
  const tokenUrl = parsed.data.tokenUrl ?? fallbackTokenUrl;
  if (!tokenUrl)
    throw new ConfigError(`secret ${secretId} has no tokenUrl and the stack has no IdpTokenUrl output`);
  if (!parsed.data.clientSecret) {
    throw new ConfigError(
      `secret ${secretId} has no clientSecret: connect authenticates with client_secret_basic`,
    );
  }
  const { clientId, clientSecret, scope } = parsed.data;
  return { tokenUrl, clientId, clientSecret, scope, stored: { ...parsed.data, tokenUrl } };
}

/**
 * Writes the secret back with the bootstrap refresh token added. Secrets Manager has no
 * compare-and-set, so this overwrites: run `connect` when nobody is editing the secret.
 */
export async function storeBootstrapRefreshToken(
  secrets: SecretsManagerClient,
  secretId: string,
  stored: Record<string, unknown>,
  refreshToken: string,
): Promise<void> {
  await secrets.send(
    new PutSecretValueCommand({
      SecretId: secretId,
      SecretString: JSON.stringify({ ...stored, [BOOTSTRAP_REFRESH_TOKEN_FIELD]: refreshToken }),
    }),
  );
}
