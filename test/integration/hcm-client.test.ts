import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AdaptiveLimiter,
  diffGoal,
  type GoalPayload,
  type HcmClientOptions,
  HcmGoalsClient,
  hcmResources,
  type PlanGoal,
  toGoalPayload,
} from '#core/hcm/index.ts';
import type { GoalRecord } from '#core/source/index.ts';
import {
  ConnectionRecoveringError,
  HcmRequestError,
  isAmbiguousWrite,
  ReauthRequiredError,
  TransientError,
} from '../../lambdas/core/errors.ts';
import type { IssuedToken, RefreshTrigger, TokenProvider } from '../../lambdas/core/ports.ts';
import { protocolGuards } from '../../lambdas/core/protocol-guards.ts';
import { HCM_AUDIENCE } from '../../local/constants.ts';
import { GOAL_PLANS, type HcmSim, startHcmSim } from '../../local/hcm/index.ts';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

const ISSUER = 'https://idcs.test.invalid/';
const PLAN = GOAL_PLANS[0]!;

/**
 * Stands in for the token broker: mints RS256 access tokens with a bumping version, caches the
 * current one, and replaces it only when asked for a newer version (invalidate-if-same).
 * `backdateSeconds` makes the next minted tokens look old (the simulator's session timeout fault).
 */
class FakeTokens implements TokenProvider {
  readonly calls: Array<{ minVersion?: number; trigger?: RefreshTrigger }> = [];
  backdateSeconds = 0;
  /** Seconds from now to `exp` of the next minted tokens, one entry each (negative: already expired). */
  expiresIn: number[] = [];
  failWith: Error | undefined;
  private current: IssuedToken | undefined;

  constructor(
    private readonly key: SigningKey,
    private readonly clientId: string,
  ) {}

  async getToken(
    _id: string,
    o: { minVersion?: number; trigger?: RefreshTrigger } = {},
  ): Promise<IssuedToken> {
    this.calls.push(o);
    if (this.failWith) throw this.failWith;
    if (!this.current || this.current.version < (o.minVersion ?? 0)) {
      const version = (this.current?.version ?? 0) + 1;
      const now = Math.floor(Date.now() / 1000);
      const iat = now - this.backdateSeconds;
      const shifted = this.expiresIn.shift();
      const exp = shifted === undefined ? iat + 3600 : now + shifted;
      const accessToken = await new SignJWT({
        client_id: this.clientId,
        scope: 'urn:opc:resource:fusion:hcm',
      })
        .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
        .setIssuer(ISSUER)
        .setAudience(HCM_AUDIENCE)
        .setSubject(this.clientId)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(this.key);
      this.current = { accessToken, expiresAt: exp * 1000, issuedAt: iat * 1000, version };
    }
    return this.current;
  }
}

let jwks: Server;
let sim: HcmSim;
let privateKey: SigningKey;
let clients = 0;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const { port } = jwks.address() as AddressInfo;
  sim = await startHcmSim({ jwksUrl: `http://127.0.0.1:${port}/jwks`, issuer: ISSUER, persons: 200 });
});

afterAll(async () => {
  await sim?.close();
  await new Promise((resolve) => jwks?.close(resolve));
});

beforeEach(() => {
  sim.setFaults({
    latencyMs: 0,
    errorRate: 0,
    commitThenDropRate: 0,
    lateCommitRate: 0,
    tokenMaxAgeSeconds: null,
    rateLimitPerSecond: 0,
  });
});

/** A client with its own client_id (own rate-limit bucket at the simulator) and fast backoff. */
function setup(over: Partial<HcmClientOptions> = {}) {
  const tokens = new FakeTokens(privateKey, `client-${++clients}`);
  const client = new HcmGoalsClient({
    baseUrl: sim.url,
    connectionId: 'conn-1',
    tokens,
    backoff: { baseMs: 20, capMs: 200 },
    ...over,
  });
  return { tokens, client };
}

/** A small GET that needs no goal: the first page of the plan's assignees. */
const PAGE = { offset: 0, limit: 5 };

/** The record's mapped attributes and its worker (PersonId, AssignmentId) from the plan's assignees. */
async function payloadFor(r: GoalRecord): Promise<GoalPayload> {
  const { client } = setup();
  const workers = await client.listPlanAssignees(r.goalPlanId, { offset: 0, limit: 500 });
  const w = workers.items.find((a) => a.PersonNumber === r.personNumber);
  if (!w) throw new Error(`${r.personNumber} is not on plan ${r.goalPlanId} in the simulator`);
  return { ...toGoalPayload(r), PersonId: w.PersonId, AssignmentId: w.AssignmentId };
}

/** The natural-key finder as the sync uses it: the worker's PersonId, then the plan child's q. */
async function findKey(client: HcmGoalsClient, r: GoalRecord, goalName = r.goalName): Promise<PlanGoal[]> {
  const { PersonId } = await payloadFor(r);
  return client.findGoals(r.goalPlanId, { personId: PersonId!, goalName });
}

let seq = 0;
function record(over: Partial<GoalRecord> = {}): GoalRecord {
  seq += 1;
  return {
    externalKey: `IT-${seq}`,
    personNumber: `E${String((seq % 150) + 1).padStart(6, '0')}`,
    goalName: `Integration goal ${seq}`,
    startDate: '2026-02-01',
    targetCompletionDate: '2026-11-30',
    status: 'NOT_STARTED',
    goalPlanId: PLAN.GoalPlanId,
    reviewPeriodId: PLAN.ReviewPeriodId,
    weight: 20,
    ...over,
  };
}

describe('HcmGoalsClient against the HCM simulator', () => {
  it("create -> find by natural key -> diff -> update -> a worker's goals in the plan (all pages): keys only from links", async () => {
    const { client } = setup({ pageSize: 2 });
    const goal = record({ goalName: "Lead the team's planning; Q1", description: 'first' });
    const created = await client.create(goal.goalPlanId, await payloadFor(goal));
    expect(created).toMatchObject({ GoalName: goal.goalName, Weighting: 20 });
    expect(created.Description).toBe('first');
    // The key is the self link's last segment, on the plan's child collection.
    expect(created.ref.path).toMatch(
      new RegExp(`/goalPlans/${goal.goalPlanId}/child/performanceGoals/[^/]+$`),
    );
    expect(created.ref.path.endsWith(`/${encodeURIComponent(created.ref.uniqId)}`)).toBe(true);

    const [found, ...more] = await findKey(client, goal);
    expect(more).toEqual([]);
    expect(found!.GoalId).toBe(created.GoalId);
    expect(found!.ref).toEqual(created.ref);
    expect(diffGoal(found!, toGoalPayload(goal))).toBeNull();

    const changed = { ...goal, status: 'IN_PROGRESS' as const, percentComplete: 30, description: undefined };
    const patch = diffGoal(found!, toGoalPayload(changed));
    expect(patch).toEqual({ StatusCode: 'IN_PROGRESS', PercentCompletion: '25', Description: null });
    const updated = await client.update(found!.ref, patch!);
    expect(updated).toMatchObject({
      GoalId: created.GoalId,
      StatusCode: 'IN_PROGRESS',
      PercentCompletion: '25',
    });
    expect(updated.Description ?? null).toBeNull();

    for (let i = 0; i < 4; i++)
      await client.create(goal.goalPlanId, await payloadFor({ ...goal, goalName: `Sibling ${seq}-${i}` }));
    const all = await client.findGoals(goal.goalPlanId, {
      personId: found!.PersonId ?? (await payloadFor(goal)).PersonId!,
    });
    expect(all.filter((g) => g.GoalName.startsWith(`Sibling ${seq}-`))).toHaveLength(4);
    expect(new Set(all.map((g) => g.GoalId)).size).toBe(all.length);
    expect(await findKey(client, goal, 'nothing like it')).toEqual([]);
    expect(client.stats).toMatchObject({ unauthorized: 0, throttled: 0, retries: 0 });
  });

  it('401: asks for the next token version once, then succeeds (exactly one retry)', async () => {
    sim.setFaults({ tokenMaxAgeSeconds: 60 });
    const { tokens, client } = setup();
    tokens.backdateSeconds = 120; // the first token is already past the session limit
    const first = await tokens.getToken('conn-1');
    tokens.backdateSeconds = 0;
    const goals = await client.listPlanAssignees(PLAN.GoalPlanId, PAGE);
    expect(Array.isArray(goals.items)).toBe(true);
    expect(client.stats).toMatchObject({
      requests: 2,
      unauthorized: 1,
      refreshesAfterUnauthorized: 1,
      retries: 0,
    });
    expect(tokens.calls.at(-1)).toEqual({ minVersion: first.version + 1, trigger: 'afterUnauthorized' });
  });

  it('401 again after the refresh: HcmRequestError(401), no third request', async () => {
    sim.setFaults({ tokenMaxAgeSeconds: 60 });
    const { tokens, client } = setup();
    tokens.backdateSeconds = 120; // every token it mints is too old
    const err = await client.listPlanAssignees(PLAN.GoalPlanId, PAGE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HcmRequestError);
    expect((err as HcmRequestError).status).toBe(401);
    expect((err as Error).message).toMatch(/session has timed out/);
    expect((err as Error).message).toMatch(/fresh when sent was refused again/);
    expect(client.stats).toMatchObject({ requests: 2, unauthorized: 2, refreshesAfterUnauthorized: 1 });
  });

  it('401 on tokens that expired on the way: a newer token each time, and the call succeeds', async () => {
    const { tokens, client } = setup();
    // A slow machine: the first two tokens are already past `exp` when HCM checks them.
    tokens.expiresIn = [-2, -1];
    const goals = await client.listPlanAssignees(PLAN.GoalPlanId, PAGE);
    expect(Array.isArray(goals.items)).toBe(true);
    expect(client.stats).toMatchObject({ requests: 3, unauthorized: 2, refreshesAfterUnauthorized: 2 });
    expect(tokens.calls.slice(1).map((c) => c.minVersion)).toEqual([2, 3]);
  });

  it('401 on a token that was fresh, then on one that expired on the way: both retried', async () => {
    sim.setFaults({ tokenMaxAgeSeconds: 60 });
    const { tokens, client } = setup();
    tokens.backdateSeconds = 120; // the first token is refused while fresh (session limit) ...
    await tokens.getToken('conn-1');
    tokens.backdateSeconds = 0;
    tokens.expiresIn = [-1]; // ... and its replacement expires on the way
    await client.listPlanAssignees(PLAN.GoalPlanId, PAGE);
    expect(client.stats).toMatchObject({ requests: 3, unauthorized: 2, refreshesAfterUnauthorized: 2 });
  });

  it('401 on every token because each expires on the way: a TransientError after bounded retries, not a 401 failure', async () => {
    const { tokens, client } = setup();
    tokens.expiresIn = Array.from({ length: 20 }, () => -1);
    const err = await client.listPlanAssignees(PLAN.GoalPlanId, PAGE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).not.toBeInstanceOf(HcmRequestError);
    expect((err as TransientError).status).toBe(401);
    expect((err as Error).message).toMatch(/expired on the way/);
    // The first attempt and MAX_LATE_TOKEN_RETRIES (4) retries, each on a newer token.
    expect(client.stats).toMatchObject({ requests: 5, unauthorized: 5, refreshesAfterUnauthorized: 4 });
  });

  it('a connection recovering by itself before anything was sent: ConnectionRecoveringError marked notSent', async () => {
    const { tokens, client } = setup();
    tokens.failWith = new ConnectionRecoveringError('conn-1', 'invalid_client', Date.now() + 60_000);
    const err = await client.listPlanAssignees(PLAN.GoalPlanId, PAGE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionRecoveringError);
    expect((err as ConnectionRecoveringError).notSent).toBe(true);
    expect(tokens.failWith).toMatchObject({ notSent: false }); // the shared error is not mutated
    expect(client.stats.requests).toBe(0);
  });

  it('passes ReauthRequiredError from the token provider through unchanged', async () => {
    const { tokens, client } = setup();
    const dead = new ReauthRequiredError('conn-1', 'invalid_grant');
    tokens.failWith = dead;
    await expect(client.listPlanAssignees(PLAN.GoalPlanId, PAGE)).rejects.toBe(dead);
    expect(client.stats.requests).toBe(0);
  });

  it('429: pauses the pacer for Retry-After, slows it, and retries past maxAttempts until every call completes', async () => {
    sim.setFaults({ rateLimitPerSecond: 3 });
    const limiter = new AdaptiveLimiter({ initialRate: 50 });
    // maxAttempts bounds 5xx/network retries only: a 429 was not taken on, so it is always safe to repeat.
    const { client } = setup({ limiter, maxAttempts: 1 });
    const onOverload = vi.spyOn(limiter, 'onOverload');
    const sentFrom = Date.now();
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => client.listPlanAssignees(PLAN.GoalPlanId, PAGE)),
    );
    expect(results).toHaveLength(6);
    // 3 of 6 fit the bucket; the rest were throttled at least once. The pause then lets the bucket
    // refill before anyone tries again, so there is no storm of repeated 429s.
    expect(client.stats.throttled).toBeGreaterThanOrEqual(1);
    expect(client.stats.throttled).toBeLessThanOrEqual(3);
    expect(client.stats.retries).toBe(client.stats.throttled);
    expect(client.stats.requests).toBe(6 + client.stats.throttled);
    // The simulator says Retry-After: 1 (second): the retries waited for it.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(limiter.rate).toBeLessThan(50);
    // Each 429 tells the pacer when its request left, so the 429s of one overload cut the rate once.
    expect(onOverload).toHaveBeenCalledTimes(client.stats.throttled);
    for (const [, sentAt] of onOverload.mock.calls) {
      expect(sentAt).toBeGreaterThanOrEqual(sentFrom);
      expect(sentAt).toBeLessThanOrEqual(Date.now());
    }
  });

  it('429 with no time left for the pause plus a request: TransientError(429) at once, through withTimeBudget too', async () => {
    sim.setFaults({ rateLimitPerSecond: 1 });
    const { client } = setup({ timeoutMs: 2_000 });
    await client.listPlanAssignees(PLAN.GoalPlanId, PAGE); // takes the only token of this second
    const bounded = client.withTimeBudget(() => 2_500); // < 1 s Retry-After + 2 s request timeout
    const t0 = performance.now();
    const err = await bounded.listPlanAssignees(PLAN.GoalPlanId, PAGE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).status).toBe(429);
    expect((err as TransientError).retryAfterMs).toBe(1000);
    expect(performance.now() - t0).toBeLessThan(900);
    expect(client.stats).toMatchObject({ requests: 2, throttled: 1, retries: 0 });
    // The same client without that budget waits and succeeds.
    await expect(client.listPlanAssignees(PLAN.GoalPlanId, PAGE)).resolves.toHaveProperty('items');
  });

  it("a worker's goals in two plans: one finder per plan, each on that plan's child collection", async () => {
    const { client } = setup();
    const other = GOAL_PLANS[1]!;
    const person = 'E000190';
    const inFirst = record({ personNumber: person });
    const inSecond = record({
      personNumber: person,
      goalPlanId: other.GoalPlanId,
      reviewPeriodId: other.ReviewPeriodId,
      startDate: other.StartDate,
      targetCompletionDate: other.EndDate,
    });
    await client.create(inFirst.goalPlanId, await payloadFor(inFirst));
    await client.create(inSecond.goalPlanId, await payloadFor(inSecond));
    const { PersonId } = await payloadFor(inFirst);
    const first = await client.findGoals(PLAN.GoalPlanId, { personId: PersonId! });
    const second = await client.findGoals(other.GoalPlanId, { personId: PersonId! });
    expect(first.map((g) => g.GoalName)).toContain(inFirst.goalName);
    expect(first.map((g) => g.GoalName)).not.toContain(inSecond.goalName);
    expect(second.map((g) => g.GoalName)).toEqual([inSecond.goalName]);
    expect(second[0]!.ref.goalPlanId).toBe(other.GoalPlanId);
  });

  it('a POST whose connection drops after the commit is ambiguous, is not retried, and the goal exists', async () => {
    sim.setFaults({ commitThenDropRate: 1 });
    const { client } = setup();
    const goal = record();
    const before = sim.stats();
    const err = await client.create(goal.goalPlanId, await payloadFor(goal)).catch((e: unknown) => e);
    expect(isAmbiguousWrite(err)).toBe(true);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).name).toBe('TransientError');
    expect((err as Error).message).toMatch(/outcome unknown/);
    expect(client.stats).toMatchObject({ requests: 1, retries: 0, networkErrors: 1 });
    sim.setFaults({ commitThenDropRate: 0 });
    const found = await findKey(client, goal);
    expect(found).toHaveLength(1);
    expect(sim.stats().goalsStored).toBe(before.goalsStored + 1);
  });

  it('a 500 carrying o:errorDetails is HCM refusing the request: HcmRequestError with its message, never retried, never unclear', async () => {
    const { client } = setup({ maxAttempts: 3 });
    const payloads = [await payloadFor(record()), await payloadFor(record())];
    const goal = await client.create(PLAN.GoalPlanId, payloads[0]!);
    const before = client.stats.requests;
    // The business rule a real pod reports on PATCH (500 + o:errorDetails): the record's error.
    sim.setFaults({ patchRuleFailureRate: 1 });
    const patch = await client.update(goal.ref, { Weighting: 30 }).catch((e: unknown) => e);
    expect(patch).toBeInstanceOf(HcmRequestError);
    expect(patch).toMatchObject({ status: 500, businessRule: true });
    expect((patch as Error).message).toMatch(/business rule rejected the change/);
    expect(isAmbiguousWrite(patch)).toBe(false);
    expect(client.stats.requests - before).toBe(1);
    sim.setFaults({ patchRuleFailureRate: 0 });

    // Any 500 that carries o:errorDetails is Oracle refusing the request: on POST and GET alike.
    sim.setFaults({ errorRate: 1, errorStatus: 500, errorBody: 'oracle' });
    const post = await client.create(PLAN.GoalPlanId, payloads[1]!).catch((e: unknown) => e);
    expect(post).toMatchObject({ status: 500, businessRule: true });
    expect(isAmbiguousWrite(post)).toBe(false);
    const get = await client.listPlanAssignees(PLAN.GoalPlanId, PAGE).catch((e: unknown) => e);
    expect(get).toMatchObject({ status: 500, businessRule: true });
    expect(client.stats.requests - before).toBe(3);
    expect(client.stats.retries).toBe(0);
    sim.setFaults({ errorRate: 0, errorBody: 'bare' });
  });

  it('a bare 500 (an HTML page: a crashed server or the gateway) leaves a POST unclear and retries a GET', async () => {
    const { client } = setup({ maxAttempts: 2 });
    const payload = await payloadFor(record());
    sim.setFaults({ errorRate: 1, errorStatus: 500, errorBody: 'bare' });
    const post = await client.create(PLAN.GoalPlanId, payload).catch((e: unknown) => e);
    expect(post).toMatchObject({ status: 500 });
    expect(post).not.toMatchObject({ businessRule: true });
    expect(isAmbiguousWrite(post)).toBe(true);
    expect(client.stats.requests).toBe(1);
    const get = await client.listPlanAssignees(PLAN.GoalPlanId, PAGE).catch((e: unknown) => e);
    expect(get).toMatchObject({ status: 500 });
    expect(client.stats.requests).toBe(3);
    sim.setFaults({ errorRate: 0 });
  });

  it('a write takes the token before the claim check: a token failure marks nothing and sends nothing', async () => {
    const { tokens, client } = setup({ maxAttempts: 1 });
    const payload = await payloadFor(record());
    const refuse = vi.spyOn(tokens, 'getToken').mockRejectedValue(new TransientError('broker unavailable'));
    const guard = vi.fn(async () => {});
    const before = client.stats.requests;
    await expect(client.create(PLAN.GoalPlanId, payload, guard)).rejects.toBeInstanceOf(TransientError);
    expect(guard).not.toHaveBeenCalled();
    expect(client.stats.requests).toBe(before);
    // Control: the pre-issue-25 order checked (and marked) the claim first, then met the token failure.
    protocolGuards.markOnlyWhenSent = false;
    try {
      await expect(client.create(PLAN.GoalPlanId, payload, guard)).rejects.toBeInstanceOf(TransientError);
      expect(guard).toHaveBeenCalledTimes(1);
    } finally {
      protocolGuards.markOnlyWhenSent = true;
      refuse.mockRestore();
    }
    // With the token in hand, the guard runs once, right before the one request.
    const created = await client.create(PLAN.GoalPlanId, payload, guard);
    expect(guard).toHaveBeenCalledTimes(2);
    expect(created.etag).toMatch(/^".+"$/);
  });

  it('a PATCH carries If-Match: 412 when the goal changed since; a 504 on PATCH is ambiguous and not retried', async () => {
    const { client } = setup({ maxAttempts: 3 });
    const created = await client.create(PLAN.GoalPlanId, await payloadFor(record()));
    const updated = await client.update(created.ref, { Description: 'second' }, created.etag);
    expect(updated.etag).not.toBe(created.etag);
    const stale = await client
      .update(created.ref, { Description: 'third' }, created.etag)
      .catch((e: unknown) => e);
    expect(stale).toMatchObject({ status: 412 });
    sim.setFaults({ lateCommitRate: 1, lateCommitDelayMs: 50 });
    const before = client.stats.requests;
    const late = await client
      .update(created.ref, { Description: 'late' }, updated.etag)
      .catch((e: unknown) => e);
    expect(isAmbiguousWrite(late)).toBe(true);
    expect(client.stats.requests - before).toBe(1);
  });

  it('a 504 on POST (the pod may still commit) is ambiguous and not retried', async () => {
    const { client } = setup({ maxAttempts: 3 });
    const payloads = [await payloadFor(record()), await payloadFor(record())];
    sim.setFaults({ lateCommitRate: 1, lateCommitDelayMs: 50 });
    const late = await client.create(PLAN.GoalPlanId, payloads[0]!).catch((e: unknown) => e);
    expect(isAmbiguousWrite(late)).toBe(true);
    expect(client.stats.requests).toBe(1);
  });

  it('a 503 on POST is an unclear write, not retried (the pod may have taken it on); a 503 on GET is retried', async () => {
    const { client } = setup({ maxAttempts: 3 });
    const payload = await payloadFor(record()); // its assignee lookup is a GET of its own
    const base = client.stats.requests;
    sim.setFaults({ errorRate: 1, errorStatus: 503 });
    const post = await client.create(PLAN.GoalPlanId, payload).catch((e: unknown) => e);
    expect(isAmbiguousWrite(post)).toBe(true);
    expect((post as Error).message).toMatch(/HTTP 503/);
    expect(client.stats).toMatchObject({ requests: base + 1, retries: 0, serverErrors: 1 });

    const get = await client.listPlanAssignees(PLAN.GoalPlanId, PAGE).catch((e: unknown) => e);
    expect(get).toBeInstanceOf(TransientError);
    expect(isAmbiguousWrite(get)).toBe(false);
    expect(client.stats).toMatchObject({ requests: base + 4, retries: 2, serverErrors: 4 });
    // Each 503 is an overload: the pacer slowed (once per overload), from its starting 5 req/s.
    expect(client.limiter.cuts.overload).toBeGreaterThanOrEqual(1);
    expect(client.limiter.rate).toBeLessThan(5);
  });

  it('does not start a retry that cannot finish in the remaining time', async () => {
    sim.setFaults({ errorRate: 1, errorStatus: 503 });
    const { client } = setup({ timeoutMs: 1_000, remainingTimeMs: () => 900 });
    const err = await client.listPlanAssignees(PLAN.GoalPlanId, PAGE).catch((e: unknown) => e);
    expect((err as TransientError).status).toBe(503);
    expect(client.stats).toMatchObject({ requests: 1, retries: 0 });
  });

  it('400 validation: HcmRequestError with the server message, no retry', async () => {
    const { client } = setup();
    const goal = record({ startDate: '2025-01-01' }); // outside the FY2026 review period
    const err = await client.create(goal.goalPlanId, await payloadFor(goal)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HcmRequestError);
    expect((err as HcmRequestError).status).toBe(400);
    expect((err as Error).message).toMatch(
      /StartDate: The start date 2025-01-01 must be within the review period/,
    );
    expect(client.stats.requests).toBe(1);
    // A key no collection ever gave (only a test makes one up): 404.
    const path = `${hcmResources.planGoals(PLAN.GoalPlanId)}/no-such-goal`;
    const missing = await client
      .update({ goalPlanId: PLAN.GoalPlanId, path, uniqId: 'no-such-goal' }, { Weighting: 10 })
      .catch((e: unknown) => e);
    expect((missing as HcmRequestError).status).toBe(404);
  });

  it('timeout: GET retried then TransientError; a timed-out POST is ambiguous and not retried', async () => {
    sim.setFaults({ latencyMs: 300 });
    const { client } = setup({ timeoutMs: 100, maxAttempts: 2 });
    const get = await client.listPlanAssignees(PLAN.GoalPlanId, PAGE).catch((e: unknown) => e);
    expect(get).toBeInstanceOf(TransientError);
    expect(isAmbiguousWrite(get)).toBe(false);
    expect((get as Error).message).toMatch(/no answer within 100 ms/);
    expect(client.stats).toMatchObject({ requests: 2, networkErrors: 2, retries: 1 });

    const post = await client.create(PLAN.GoalPlanId, await payloadFor(record())).catch((e: unknown) => e);
    expect(isAmbiguousWrite(post)).toBe(true);
    expect(client.stats).toMatchObject({ requests: 3, networkErrors: 3, retries: 1 });
  });
});
