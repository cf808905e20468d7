import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  defaultFaults,
  fetchIdpClients,
  fetchIdpStats,
  type IdpClient,
  type IdpSim,
  issueIdpRefreshToken,
  JWT_BEARER_GRANT,
  postIdpFaults,
  resetIdpStats,
  revokeIdpGrants,
  startIdp,
} from '../../local/idp/index.ts';
import { basicAuth, postForm, refreshGrant, userAssertion } from '../support/idp-client.ts';

let idp: IdpSim;
let client: IdpClient;
let defaultRate: number;
let defaultPerMinute: number;

beforeAll(async () => {
  idp = await startIdp({ accessTokenTtlSeconds: 10 });
  client = idp.clients[0]!;
  defaultRate = idp.faults().rateLimitPerSecond;
  defaultPerMinute = idp.faults().rateLimitPerMinute;
});
afterAll(() => idp.close());
beforeEach(() => {
  // No fault leaks between tests; a generous limit so only the rate-limit test is ever throttled.
  idp.setFaults({ ...defaultFaults(), rateLimitPerSecond: 1000 });
  idp.resetStats();
});

const mint = () => idp.issueRefreshToken({ clientId: client.clientId });

describe('IdP simulator faults: rate limit', () => {
  it('defaults to the IDCS Oracle Apps limits of 40 requests per second and 1000 per minute', () => {
    expect(defaultRate).toBe(40);
    expect(defaultPerMinute).toBe(1000);
  });

  it('answers 429 once the per-minute limit is used up, with the per-second limit far away', async () => {
    idp.setFaults({ rateLimitPerSecond: 1000, rateLimitPerMinute: 5 });
    const cc = () => postForm(idp.tokenUrl, client, { grant_type: 'client_credentials' });
    // One after the other: seven requests take far less than the minute the window spans.
    const results = [];
    for (let i = 0; i < 7; i++) results.push(await cc());
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429, 429]);
    for (const r of results.slice(5)) {
      expect(r.body.error).toBe('temporarily_unavailable');
      const retryAfter = Number(r.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
    expect(idp.stats()).toMatchObject({
      rateLimited: 2,
      rateLimitedPerMinute: 2,
      accessTokensIssued: 5,
      byStatus: { '200': 5, '429': 2 },
    });
  });

  it('answers 429 with Retry-After above the limit and counts it', async () => {
    idp.setFaults({ rateLimitPerSecond: 2 });
    const results = await Promise.all(
      Array.from({ length: 8 }, () => postForm(idp.tokenUrl, client, { grant_type: 'client_credentials' })),
    );
    const limited = results.filter((r) => r.status === 429);
    const ok = results.filter((r) => r.status === 200);
    // A burst of 2, then one more every 500 ms: a slow machine may let a third one through.
    expect(ok.length).toBeGreaterThanOrEqual(2);
    expect(ok.length).toBeLessThanOrEqual(3);
    expect(limited.length).toBe(8 - ok.length);
    for (const r of limited) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.body.error).toBe('temporarily_unavailable');
    }
    expect(idp.stats()).toMatchObject({
      tokenRequests: 8,
      rateLimited: limited.length,
      accessTokensIssued: ok.length,
      byStatus: { '200': ok.length, '429': limited.length },
      byGrant: { client_credentials: 8 },
      errors: { temporarily_unavailable: limited.length },
    });
  });

  it('refills the bucket over time', async () => {
    idp.setFaults({ rateLimitPerSecond: 1 });
    const burst = await Promise.all(
      Array.from({ length: 3 }, () => postForm(idp.tokenUrl, client, { grant_type: 'client_credentials' })),
    );
    expect(burst.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 1100)); // 1/s: a token is back
    const after = await postForm(idp.tokenUrl, client, { grant_type: 'client_credentials' });
    expect(after.status).toBe(200);
  });
});

describe('IdP simulator faults: injected errors and latency', () => {
  it('answers 503 without touching the refresh token', async () => {
    const { refreshToken } = await mint();
    idp.setFaults({ errorRate: 1, errorStatus: 503 });
    const res = await refreshGrant(idp.tokenUrl, client, refreshToken);
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('temporarily_unavailable');
    idp.setFaults({ errorRate: 0 });
    expect((await refreshGrant(idp.tokenUrl, client, refreshToken)).status).toBe(200);
    expect(idp.stats()).toMatchObject({
      injectedErrors: 1,
      refreshes: 1,
      reuseDetections: 0,
      byStatus: { '503': 1, '200': 1 },
      byGrant: { refresh_token: 2 },
    });
  });

  it('can answer 500 instead', async () => {
    idp.setFaults({ errorRate: 1, errorStatus: 500 });
    const res = await postForm(idp.tokenUrl, client, { grant_type: 'client_credentials' });
    expect(res.status).toBe(500);
    expect(idp.stats().errors).toEqual({ server_error: 1 });
  });

  it('adds the configured latency to token requests', async () => {
    idp.setFaults({ latencyMs: 150, jitterMs: 50 });
    const started = performance.now();
    expect((await postForm(idp.tokenUrl, client, { grant_type: 'client_credentials' })).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
  });
});

describe('IdP simulator faults: drop after issue', () => {
  it('commits the rotation, then kills the socket: the old token is consumed and replaying it revokes the grant', async () => {
    const { refreshToken } = await mint();
    idp.setFaults({ dropAfterIssueRate: 1 });
    await expect(
      fetch(idp.tokenUrl, {
        method: 'POST',
        headers: { authorization: basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
      }),
    ).rejects.toThrow();
    idp.setFaults({ dropAfterIssueRate: 0 });

    const retry = await refreshGrant(idp.tokenUrl, client, refreshToken);
    expect(retry.status).toBe(400);
    expect(retry.body.error).toBe('invalid_grant');
    expect(idp.stats()).toMatchObject({
      tokenRequests: 2,
      droppedResponses: 1,
      refreshes: 1,
      reuseDetections: 1,
      revocations: 1,
      byStatus: { '400': 1 },
    });
  });
});

describe('IdP simulator faults: gateway 5xx after issue', () => {
  it('commits the rotation, then answers 502 as a gateway would: the old token is consumed all the same', async () => {
    const { refreshToken } = await mint();
    idp.setFaults({ gatewayErrorAfterIssueRate: 1 });
    const gateway = await fetch(idp.tokenUrl, {
      method: 'POST',
      headers: { authorization: basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
    });
    expect(gateway.status).toBe(502);
    expect(await gateway.text()).toContain('Bad Gateway');
    idp.setFaults({ gatewayErrorAfterIssueRate: 0 });

    const retry = await refreshGrant(idp.tokenUrl, client, refreshToken);
    expect(retry.body.error).toBe('invalid_grant');
    expect(idp.stats()).toMatchObject({
      tokenRequests: 2,
      gatewayErrorsAfterIssue: 1,
      refreshes: 1,
      reuseDetections: 1,
      byStatus: { '400': 1, '502': 1 },
    });
  });
});

describe('IdP simulator faults: forceInvalidGrant', () => {
  it('answers invalid_grant to refresh_token and jwt-bearer, consumes nothing, leaves client_credentials alone', async () => {
    const { refreshToken } = await mint();
    idp.setFaults({ forceInvalidGrant: true });
    const refresh = await refreshGrant(idp.tokenUrl, client, refreshToken);
    expect(refresh.status).toBe(400);
    expect(refresh.body.error).toBe('invalid_grant');
    const assertion = await userAssertion(client);
    const bearer = await postForm(idp.tokenUrl, client, { grant_type: JWT_BEARER_GRANT, assertion });
    expect(bearer.body.error).toBe('invalid_grant');
    expect((await postForm(idp.tokenUrl, client, { grant_type: 'client_credentials' })).status).toBe(200);

    idp.setFaults({ forceInvalidGrant: false });
    expect((await refreshGrant(idp.tokenUrl, client, refreshToken)).status).toBe(200);
    expect(idp.stats()).toMatchObject({
      errors: { invalid_grant: 2 },
      reuseDetections: 0,
      revocations: 0,
      refreshes: 1,
    });
  });
});

describe('IdP simulator: /__sim HTTP surface', () => {
  it('merges faults, rejects bad ones, serves stats, resets them, revokes and mints', async () => {
    await idp.revokeClientGrants(client.clientId); // grants left by earlier tests
    idp.resetStats();
    const merged = await postIdpFaults(idp.url, { latencyMs: 5 });
    expect(merged).toMatchObject({ latencyMs: 5, rateLimitPerSecond: 1000, errorStatus: 503 });
    expect(await postIdpFaults(idp.url, { jitterMs: 1 })).toMatchObject({ latencyMs: 5, jitterMs: 1 });
    await expect(postIdpFaults(idp.url, { errorRate: 2 })).rejects.toThrow(/400/);
    await expect(postIdpFaults(idp.url, { bogus: true } as never)).rejects.toThrow(/400/);
    expect(idp.faults().latencyMs).toBe(5);

    const [remote] = await fetchIdpClients(idp.url);
    expect(remote).toMatchObject({ clientId: client.clientId, clientSecret: client.clientSecret });
    const { refreshToken, grantId } = await issueIdpRefreshToken(idp.url, { clientId: client.clientId });
    expect((await refreshGrant(idp.tokenUrl, client, refreshToken)).status).toBe(200);
    expect(await fetchIdpStats(idp.url)).toMatchObject({ tokenRequests: 1, refreshes: 1, grantsIssued: 1 });

    expect(await revokeIdpGrants(idp.url, { grantId })).toEqual({ revoked: 1 });
    expect(await revokeIdpGrants(idp.url, { grantId })).toEqual({ revoked: 0 });
    await mint();
    expect(await revokeIdpGrants(idp.url, { clientId: client.clientId })).toEqual({ revoked: 1 });
    expect((await fetchIdpStats(idp.url)).revocations).toBe(2);

    const cleared = await resetIdpStats(idp.url);
    expect(cleared).toMatchObject({ tokenRequests: 0, revocations: 0, byStatus: {} });
    const missing = await fetch(new URL('/__sim/nope', idp.url));
    expect(missing.status).toBe(404);
  });
});
