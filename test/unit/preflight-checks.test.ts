import { describe, expect, it } from 'vitest';
import {
  checkDescribePlanChild,
  checkKeysetPaging,
  checkLookupCodes,
  checkPageSize,
  createHcmProbe,
  emptyDigest,
  factsOf,
  type HcmProbe,
  type PreflightContext,
  type ProbeAnswer,
  patchableAttributes,
} from '#core/preflight/index.ts';

/**
 * The comparisons the preflight makes, on answers shaped like ADF's (describe, collections): what
 * makes each check fail, warn or pass. The HTTP side is covered against the simulators in
 * test/e2e/cli-preflight.test.ts.
 */
function probeOf(
  answers: Record<string, ProbeAnswer | ((query: Record<string, string>) => ProbeAnswer)>,
): HcmProbe {
  return {
    requests: 0,
    async send(req) {
      const a = answers[req.path];
      if (!a) return { status: 404, message: 'no such resource' };
      return typeof a === 'function' ? a(req.query ?? {}) : a;
    },
  };
}

function ctxWith(probe: HcmProbe, create: string[] = ['GoalName', 'StartDate']): PreflightContext {
  const facts = factsOf(emptyDigest());
  for (const a of create) facts.createAttributes.add(a);
  return {
    probe,
    facts,
    options: { pageSize: 500, ceiling: { requestsPerSecond: 10, from: 'test' }, sampleSize: 5 },
    state: { existingPlans: [7], codesSeen: new Map(), codesRefused: new Map(), codesTaken: new Set() },
  };
}

const attr = (name: string, more: Record<string, unknown> = {}) => ({
  name,
  type: 'string',
  updatable: true,
  mandatory: false,
  ...more,
});
/** Every attribute the mapping patches, updatable: the baseline a pod that fits the client describes. */
const fitting = () => [...new Set([...patchableAttributes(), 'GoalName', 'StartDate'])].map((n) => attr(n));
const describeAnswer = (attributes: unknown[]): ProbeAnswer => ({
  status: 200,
  json: { Resources: { performanceGoals: { attributes } } },
  message: '',
});
const DESCRIBE = 'goalPlans/7/child/performanceGoals/describe';

describe('describe-plan-child', () => {
  it('passes when every attribute sent exists and may be set', async () => {
    const r = await checkDescribePlanChild(ctxWith(probeOf({ [DESCRIBE]: describeAnswer(fitting()) })));
    expect(r.status).toBe('pass');
  });

  it('names an attribute the resource does not have', async () => {
    const ctx = ctxWith(probeOf({ [DESCRIBE]: describeAnswer(fitting()) }), ['GoalName', 'PersonNumber']);
    const r = await checkDescribePlanChild(ctx);
    expect(r).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('the resource has no PersonNumber (sent on create)'),
    });
  });

  it('names a patched attribute describe marks not updatable', async () => {
    const [first, ...rest] = fitting();
    const r = await checkDescribePlanChild(
      ctxWith(
        probeOf({
          [DESCRIBE]: describeAnswer([{ ...first, updatable: false, allowChanges: 'never' }, ...rest]),
        }),
      ),
    );
    expect(r).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining(`${first!.name} not updatable`),
    });
  });

  it("names a mandatory settable attribute the mapping never sends; a mandatory read-only one is the server's", async () => {
    const attrs = [
      ...fitting(),
      attr('PersonId', { mandatory: true, updatable: false, allowChanges: 'createOnly' }),
      attr('GoalId', { mandatory: true, updatable: false, allowChanges: 'never' }),
    ];
    const r = await checkDescribePlanChild(ctxWith(probeOf({ [DESCRIBE]: describeAnswer(attrs) })));
    expect(r).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('mandatory PersonId never sent'),
    });
    expect(r.detail).not.toContain('GoalId');
  });

  it('reads the child under its parent when the child path has no describe', async () => {
    const parent: ProbeAnswer = {
      status: 200,
      json: {
        Resources: {
          goalPlans: { attributes: [], children: { performanceGoals: { attributes: fitting() } } },
        },
      },
      message: '',
    };
    const r = await checkDescribePlanChild(ctxWith(probeOf({ 'goalPlans/describe': parent })));
    expect(r.status).toBe('pass');
  });

  it('a 403 on describe names the privilege', async () => {
    const r = await checkDescribePlanChild(
      ctxWith(probeOf({ [DESCRIBE]: { status: 403, message: 'forbidden' } })),
    );
    expect(r).toMatchObject({ status: 'fail', fix: expect.stringContaining('Describe action') });
  });
});

describe('lookup-codes', () => {
  const withCodes = () => {
    const ctx = ctxWith(probeOf({}));
    ctx.facts.codes.set('StatusCode', new Set(['NOT_STARTED', 'ON_HOLD']));
    return ctx;
  };
  it('warns about codes nothing on the pod confirmed, and points at --write-test', () => {
    const r = checkLookupCodes(withCodes());
    expect(r).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('StatusCode=NOT_STARTED, StatusCode=ON_HOLD'),
    });
    expect(r.fix).toContain('--write-test');
  });
  it('passes when existing goals or the write test show every code', () => {
    const ctx = withCodes();
    ctx.state.codesSeen.set('StatusCode', new Set(['NOT_STARTED']));
    ctx.state.codesTaken.add('StatusCode=ON_HOLD');
    expect(checkLookupCodes(ctx).status).toBe('pass');
  });
  it('fails naming a code HCM refused', () => {
    const ctx = withCodes();
    ctx.state.codesRefused.set('StatusCode=ON_HOLD', 'HTTP 400: not a valid value');
    expect(checkLookupCodes(ctx)).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('StatusCode=ON_HOLD (HTTP 400'),
    });
  });
});

describe('page-size and keyset-paging', () => {
  const LIST = 'goalPlans/7/child/performanceGoals';
  it('a limit the pod lowers is the cap: a warning (the read adapts), named with the setting to change', async () => {
    const r = await checkPageSize(
      ctxWith(
        probeOf({ [LIST]: { status: 200, json: { items: [], limit: 200, hasMore: false }, message: '' } }),
      ),
    );
    expect(r).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('asked limit=500, HCM applied 200'),
    });
    expect(r.fix).toContain('page size to 200');
    const refused = await checkPageSize(
      ctxWith(probeOf({ [LIST]: { status: 400, message: 'limit too large' } })),
    );
    expect(refused).toMatchObject({ status: 'fail', detail: 'limit=500: HTTP 400: limit too large' });
  });
  it('keyset: orderBy refused is a warning (offset paging stays), honoured order and filter pass', async () => {
    const refused = await checkKeysetPaging(
      ctxWith(probeOf({ [LIST]: { status: 400, message: 'orderBy not valid' } })),
    );
    expect(refused.status).toBe('warn');
    const items = (ids: number[]) => ({
      status: 200,
      json: { items: ids.map((GoalId) => ({ GoalId })) },
      message: '',
    });
    const honoured = await checkKeysetPaging(
      ctxWith(probeOf({ [LIST]: (q) => (q.q ? items([12, 15]) : items([10, 12, 15])) })),
    );
    expect(honoured).toMatchObject({
      status: 'pass',
      detail: expect.stringContaining('q=GoalId > 10 honoured'),
    });
    const ignored = await checkKeysetPaging(
      ctxWith(probeOf({ [LIST]: (q) => (q.q ? items([10, 12]) : items([10, 12])) })),
    );
    expect(ignored).toMatchObject({ status: 'warn', detail: expect.stringContaining('answered GoalId 10') });
  });
});

describe('the probe', () => {
  it('stays under the ceiling: requests are spaced 1/rate apart on the given clock, one at a time', async () => {
    let t = 0;
    const sent: number[] = [];
    const probe = createHcmProbe({
      baseUrl: 'http://hcm.invalid',
      token: async () => 'tok',
      maxRequestsPerSecond: 4,
      now: () => t,
      sleep: async (ms) => {
        t += ms;
      },
      fetch: (async () => {
        sent.push(t);
        return new Response('{}', { status: 200 });
      }) as typeof fetch,
    });
    await Promise.all([1, 2, 3].map(() => probe.send({ path: 'goalPlans/1' })));
    expect(sent).toEqual([0, 250, 500]);
    expect(probe.requests).toBe(3);
  });

  it('sends REST-Framework-Version 4 and the bearer token; a network failure is status 0, not a throw', async () => {
    let headers: Headers | undefined;
    const probe = createHcmProbe({
      baseUrl: 'http://hcm.invalid/',
      token: async () => 'tok-1',
      maxRequestsPerSecond: 1000,
      fetch: (async (_url: URL, init: RequestInit) => {
        headers = new Headers(init.headers);
        return new Response('{}', { status: 200 });
      }) as unknown as typeof fetch,
    });
    await probe.send({ path: 'goalPlans/1' });
    expect(headers?.get('rest-framework-version')).toBe('4');
    expect(headers?.get('authorization')).toBe('Bearer tok-1');
    const down = createHcmProbe({
      baseUrl: 'http://127.0.0.1:9',
      token: async () => 'x',
      maxRequestsPerSecond: 1000,
    });
    const a = await down.send({ path: 'goalPlans/1' });
    expect(a.status).toBe(0);
    expect(a.error).toContain('127.0.0.1:9');
  });
});
