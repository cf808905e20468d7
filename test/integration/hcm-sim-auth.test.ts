import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type DevTokenIssuer, startDevTokenIssuer } from '../../local/hcm/dev-tokens.ts';
import { type HcmSim, startHcmSim } from '../../local/hcm/index.ts';
import { topGoals } from '../support/hcm-sim-http.ts';

let idp: DevTokenIssuer;
let sim: HcmSim;

async function get(token: string | undefined) {
  const res = await fetch(`${sim.url}${topGoals}?limit=1`, {
    headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
  });
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected field by field in assertions
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  idp = await startDevTokenIssuer();
  sim = await startHcmSim({
    jwksUrl: idp.jwksUrl,
    issuer: idp.issuer,
    persons: 10,
    faults: { rateLimitPerSecond: 0 },
  });
});

afterAll(async () => {
  await sim?.close();
  await idp?.close();
});

beforeEach(() => {
  sim.resetStats();
  sim.setFaults({ tokenMaxAgeSeconds: null, rateLimitPerSecond: 0 });
});

describe('HCM simulator: bearer tokens', () => {
  it('accepts a valid token', async () => {
    expect((await get(await idp.mint())).status).toBe(200);
  });

  it.each([
    ['missing', async () => undefined],
    ['garbage', async () => 'not-a-jwt'],
    ['expired', async () => idp.mint({ iat: now() - 120, exp: now() - 5 })],
    ['bad signature', async () => idp.mint({ foreignKey: true })],
    ['wrong audience', async () => idp.mint({ audience: 'urn:other' })],
    ['wrong issuer', async () => idp.mint({ issuer: 'https://elsewhere.example/' })],
  ])('%s token -> 401 with a Bearer challenge and no token echoed', async (_name, make) => {
    const token = await make();
    const res = await get(token);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    expect(res.body).toMatchObject({ title: 'Unauthorized', status: '401' });
    if (token) expect(JSON.stringify(res.body)).not.toContain(token.split('.')[2]);
    expect(sim.stats().unauthorized).toBe(1);
  });

  it('token-age fault: rejects a token older than N seconds although exp is in the future', async () => {
    const old = await idp.mint({ iat: now() - 1800, ttlSeconds: 3600 });
    expect((await get(old)).status).toBe(200);
    sim.setFaults({ tokenMaxAgeSeconds: 1200 });
    const res = await get(old);
    expect(res.status).toBe(401);
    expect(res.body.detail).toMatch(/no longer accepted/);
    expect((await get(await idp.mint())).status).toBe(200);
    expect(sim.stats()).toMatchObject({ unauthorized: 1, tokenAgeRejections: 1 });
  });
});

describe('HCM simulator: rate limit', () => {
  it('throttles per client_id with 429 and an integer Retry-After, other clients unaffected', async () => {
    sim.setFaults({ rateLimitPerSecond: 4 });
    const a = await idp.mint({ clientId: 'client-a' });
    const b = await idp.mint({ clientId: 'client-b' });
    const statuses: number[] = [];
    let throttled: Awaited<ReturnType<typeof get>> | undefined;
    for (let i = 0; i < 6; i++) {
      const res = await get(a);
      statuses.push(res.status);
      if (res.status === 429) throttled ??= res;
    }
    // Burst = rate: the first 4 pass, the bucket refills at 4/s, far slower than these requests.
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
    expect(statuses.slice(4)).toContain(429);
    const retryAfter = Number(throttled!.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
    expect((await get(b)).status).toBe(200);
    expect(sim.stats().throttled).toBe(statuses.filter((s) => s === 429).length);
    expect(sim.stats().requests.byStatus['429']).toBe(sim.stats().throttled);
  });

  it('defaults to 50 requests per second', async () => {
    const fresh = await startHcmSim({ jwksUrl: idp.jwksUrl, persons: 1 });
    try {
      expect(fresh.faults().rateLimitPerSecond).toBe(50);
    } finally {
      await fresh.close();
    }
  });
});
