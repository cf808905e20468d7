import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HCM_AUDIENCE } from '../../local/constants.ts';
import { fetchHcmTimeline, GOAL_PLANS, type HcmSim, startHcmSim } from '../../local/hcm/index.ts';
import { fetchIdpTimeline, type IdpSim, startIdp } from '../../local/idp/index.ts';
import { PerSecondCounts, Ring } from '../../local/timeline/per-second.ts';
import { personId, planGoals, topGoals } from '../support/hcm-sim-http.ts';
import { refreshGrant } from '../support/idp-client.ts';

const TTL = 30;
let idp: IdpSim;
let hcm: HcmSim;

beforeAll(async () => {
  idp = await startIdp({ accessTokenTtlSeconds: TTL });
  hcm = await startHcmSim({
    jwksUrl: idp.jwksUrl,
    issuer: idp.issuer,
    audience: HCM_AUDIENCE,
    persons: 10,
    faults: { rateLimitPerSecond: 0 },
  });
});
afterAll(async () => {
  await hcm?.close();
  await idp?.close();
});

async function accessToken(): Promise<string> {
  const client = idp.clients[0]!;
  const { refreshToken } = await idp.issueRefreshToken({ clientId: client.clientId });
  const res = await refreshGrant(idp.tokenUrl, client, refreshToken);
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

const goals = (token?: string) =>
  fetch(`${hcm.url}${topGoals}?limit=1`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });

describe('simulator timelines (the run report charts)', () => {
  it('the IdP records each issued access token with its lifetime, and its answers per second', async () => {
    idp.resetStats();
    const before = Math.floor(Date.now() / 1000);
    await accessToken();
    const t = await fetchIdpTimeline(idp.url);
    expect(t.tokens).toHaveLength(1);
    const [token] = t.tokens;
    expect(token!.iat).toBeGreaterThanOrEqual(before);
    expect(token!.exp - token!.iat).toBe(TTL);
    expect(token!.grant).toBe('refresh_token');
    expect(t.requests).toEqual([expect.objectContaining({ status: 200, n: 1 })]);
  });

  it('HCM records route, status and the token iat per second, for refused tokens too', async () => {
    hcm.resetStats();
    const token = await accessToken();
    const iat = (await fetchIdpTimeline(idp.url)).tokens.at(-1)!.iat;
    expect((await goals(token)).status).toBe(200);
    expect((await goals()).status).toBe(401);
    // A tampered signature: refused, but the report still sees which token it was.
    const [h, p, s] = token.split('.');
    expect((await goals(`${h}.${p}.${s!.slice(0, -4)}AAAA`)).status).toBe(401);
    const t = await fetchHcmTimeline(hcm.url);
    const seen = t.requests.map(({ route, status, tokenIat, n }) => ({ route, status, tokenIat, n }));
    expect(seen).toEqual(
      expect.arrayContaining([
        { route: 'GET goals', status: 200, tokenIat: iat, n: 1 },
        { route: 'GET goals', status: 401, tokenIat: null, n: 1 },
        { route: 'GET goals', status: 401, tokenIat: iat, n: 1 },
      ]),
    );
    expect(t.requests.reduce((n, b) => n + b.n, 0)).toBe(3);
  });

  it('HCM counts goals written per second from its store, and resetStats clears the timeline', async () => {
    hcm.resetStats();
    const token = await accessToken();
    const res = await fetch(`${hcm.url}${planGoals(GOAL_PLANS[0]!.GoalPlanId)}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        GoalName: 'Timeline goal',
        PersonId: personId(0),
        StartDate: '2026-02-01',
        TargetCompletionDate: '2026-11-30',
        StatusCode: 'NOT_STARTED',
      }),
    });
    expect(res.status).toBe(201);
    const t = await fetchHcmTimeline(hcm.url);
    expect(t.writes.reduce((n, w) => n + w.n, 0)).toBe(1);
    expect(t.requests).toEqual([expect.objectContaining({ route: 'POST goals', status: 201, n: 1 })]);
    hcm.resetStats();
    expect(await fetchHcmTimeline(hcm.url)).toEqual({ requests: [], writes: [], droppedSeconds: 0 });
  });
});

describe('bounded timeline stores', () => {
  it('PerSecondCounts keeps the newest maxSeconds seconds and says how many it dropped', () => {
    const counts = new PerSecondCounts(3);
    for (let s = 0; s < 5; s++) for (let i = 0; i <= s; i++) counts.add(s * 1000 + i, i % 2 ? 'a' : 'b');
    expect(counts.entries().map((e) => e.second)).toEqual([2, 2, 3, 3, 4, 4]);
    expect(counts.entries().filter((e) => e.second === 4)).toEqual([
      { second: 4, key: 'b', n: 3 },
      { second: 4, key: 'a', n: 2 },
    ]);
    expect(counts.droppedSeconds).toBe(2);
  });

  it('Ring keeps the last max items', () => {
    const ring = new Ring<number>(3);
    for (let i = 0; i < 10; i++) ring.push(i);
    expect(ring.values()).toEqual([7, 8, 9]);
    expect(ring.dropped).toBe(7);
  });
});
