import fc from 'fast-check';
import { type Actor, cycle, type World } from './world.ts';

/** What one token request meets: an answer, a lost answer (processed, then the connection dropped), 429 or 503. */
/**
 * '502': the IdP rotates, then a gateway answers 502 (no client can tell it from a 5xx that touched
 * nothing); 'refused': 401 invalid_client before any token is touched (a client secret being rotated),
 * which the broker recovers from by itself.
 */
export type IdpFault = 'ok' | 'lost' | '429' | '503' | '502' | 'refused';
export const idpFaultArb: fc.Arbitrary<IdpFault> = fc.constantFrom<IdpFault>(
  'ok',
  'ok',
  'ok',
  'lost',
  '429',
  '503',
);
/** The recover plans' faults: also the two that lead to needs_reauth, one unknown, one self-recoverable. */
// First the faults these plans are for: fast-check's bias favours the first constants.
export const idpFaultRecoverArb: fc.Arbitrary<IdpFault> = fc.constantFrom<IdpFault>(
  'refused',
  'ok',
  '502',
  'ok',
  'refused',
  'lost',
  'ok',
  '503',
);
export const idpLatencyArb = fc.constantFrom(20, 200, 1_500);

/**
 * IDCS's refresh-token rotation, reduced to what the broker's promise is about: one grant, one valid
 * refresh token at a time; a valid one is exchanged for a new access token and a new refresh token; a
 * used one is a replay, and a replay revokes the whole grant (every later request fails invalid_grant).
 */
export class IdpModel {
  current: string;
  readonly used = new Set<string>();
  revoked = false;
  reuseDetections = 0;
  issued = 0;
  /** Access tokens issued, by value: whether a token a caller got is real. */
  readonly accessTokens = new Set<string>();

  constructor(
    readonly accessTokenTtlSeconds: number,
    bootstrap = 'rt-0',
  ) {
    this.current = bootstrap;
  }

  /** One POST /oauth2/v1/token; returns status and JSON body. */
  handle(form: URLSearchParams): { status: number; body: Record<string, unknown> } {
    if (form.get('grant_type') !== 'refresh_token')
      return { status: 400, body: { error: 'unsupported_grant_type' } };
    const token = form.get('refresh_token') ?? '';
    if (this.used.has(token)) {
      this.reuseDetections += 1;
      this.revoked = true;
      return {
        status: 400,
        body: { error: 'invalid_grant', error_description: 'refresh token reuse detected' },
      };
    }
    if (this.revoked || token !== this.current)
      return { status: 400, body: { error: 'invalid_grant', error_description: 'unknown refresh token' } };
    this.used.add(token);
    this.issued += 1;
    this.current = `rt-${this.issued}`;
    const accessToken = `at-${this.issued}`;
    this.accessTokens.add(accessToken);
    return {
      status: 200,
      body: {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: this.accessTokenTtlSeconds,
        refresh_token: this.current,
      },
    };
  }

  /** An actor's `fetch` to the token endpoint: one step per request, faults from its plan. */
  fetchFor(
    world: World,
    actor: Actor,
    faults: readonly IdpFault[],
    latencies: readonly number[],
  ): typeof fetch {
    let calls = 0;
    const modelFetch = (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const i = calls++;
      const fault = cycle(faults, i, 'ok');
      const form = new URLSearchParams(String(init?.body ?? ''));
      return world.step(
        actor,
        `IdP POST ${form.get('grant_type')} ${form.get('refresh_token') ?? ''} [${fault}]`,
        cycle(latencies, i, 20),
        () => {
          if (fault === '429' || fault === '503')
            return answerOf(Number(fault), { error: 'temporarily_unavailable' }, { 'retry-after': '1' });
          if (fault === 'refused') return answerOf(401, { error: 'invalid_client' });
          const answer = this.handle(form);
          if (fault === '502') return answerOf(502, { error: 'bad_gateway' });
          if (fault === 'lost')
            throw new TypeError('fetch failed', {
              cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
            });
          return answerOf(answer.status, answer.body);
        },
        init?.signal ?? undefined,
      );
    };
    return modelFetch as typeof fetch;
  }
}

/**
 * A Response with the three members the token client reads. Not undici's Response: reading its body
 * goes through streams, whose timing the scheduler does not control, and a seed must replay exactly.
 */
function answerOf(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  const text = JSON.stringify(body);
  const h = new Headers({ 'content-type': 'application/json', ...headers });
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: h,
    text: async () => text,
  } as unknown as Response;
}
