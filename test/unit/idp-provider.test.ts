import { describe, expect, it } from 'vitest';
import { mintRefreshToken } from '../../local/idp/grant-handlers.ts';
import { GrantStore } from '../../local/idp/grant-store.ts';
import { createProvider } from '../../local/idp/provider.ts';
import { loadKeyMaterial } from '../../local/idp/signing-keys.ts';

describe('IdP provider wiring', () => {
  it('turns a racing second consume of a refresh token into invalid_grant and reports the grant', async () => {
    const { material, registered } = await loadKeyMaterial(undefined, ['racer']);
    const reused: (string | undefined)[] = [];
    const provider = await createProvider({
      issuer: 'http://127.0.0.1:1',
      signingKey: material.signingKey,
      clients: registered,
      basicSecretOf: () => 'secret',
      certificatesOf: () => [],
      assertionAudiences: [],
      isKnownUser: () => true,
      store: GrantStore.open(),
      settings: { accessTokenTtlSeconds: 60, refreshTokenTtlSeconds: 600, forceInvalidGrant: () => false },
      onConcurrentReuse: (grantId) => reused.push(grantId),
    });
    const { refreshToken, grantId } = await mintRefreshToken(provider, { clientId: 'racer' });
    // Both "requests" read the token before either consumes it: the window the store must close.
    const [a, b] = await Promise.all([
      provider.RefreshToken.find(refreshToken),
      provider.RefreshToken.find(refreshToken),
    ]);
    await a!.consume();
    await expect(b!.consume()).rejects.toMatchObject({ error: 'invalid_grant' });
    expect(reused).toEqual([grantId]);
  });
});
