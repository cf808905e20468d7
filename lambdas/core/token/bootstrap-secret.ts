import type { ConnectionSecret, SecretSource } from '../ports.ts';

/**
 * The connection's secret as the broker's `connect` reads it, with the refresh token a connect request
 * just obtained as its `bootstrapRefreshToken`: the token goes from the code exchange straight into the
 * broker's encrypted store, and is never written to Secrets Manager where people could read it.
 */
export function withBootstrapRefreshToken(
  secrets: SecretSource,
  secretId: string,
  refreshToken: string,
): SecretSource {
  return {
    async getSecret(id: string, options?: { bypassCache?: boolean }): Promise<ConnectionSecret> {
      const secret = await secrets.getSecret(id, options);
      return id === secretId ? { ...secret, bootstrapRefreshToken: refreshToken } : secret;
    },
  };
}
