import { oauthErrorCode, readBody, type SimMiddleware, sleep } from './http-util.ts';
import { faultDelayMs, type TokenBucket } from './idp-faults.ts';
import type { StatsRecorder } from './idp-stats.ts';
import type { IdpFaults } from './idp-types.ts';
import { IDP_ROUTES } from './provider.ts';

export interface GateDeps {
  stats: StatsRecorder;
  faults(): IdpFaults;
  bucket: TokenBucket;
  random?: () => number;
}

/** Where a grant.error listener leaves the error's detail so the gate can show it to the client. */
export const ERROR_DETAIL_STATE = 'idpErrorDetail';

/**
 * Sits in front of oidc-provider on the token endpoint: applies the rate limit and the injected faults,
 * and counts what clients saw. Requests it answers itself never reach oidc-provider, so no token is
 * touched by a 429 or an injected 5xx.
 */
export function tokenEndpointGate(deps: GateDeps): SimMiddleware {
  const random = deps.random ?? Math.random;
  const { stats } = deps;
  return async (ctx, next) => {
    if (ctx.path === IDP_ROUTES.revocation && ctx.method === 'POST') stats.counters.revokeRequests++;
    if (ctx.path !== IDP_ROUTES.token || ctx.method !== 'POST') {
      await next();
      return;
    }
    stats.counters.tokenRequests++;
    stats.tokenRequestArrived(Date.now());
    const faults = deps.faults();
    deps.bucket.setRate(faults.rateLimitPerSecond);
    const waitMs = deps.bucket.take();
    if (waitMs > 0) {
      stats.counters.rateLimited++;
      // Whole seconds (RFC 9110), never 0: a client honouring it must actually back off.
      ctx.set('Retry-After', String(Math.max(1, Math.ceil(waitMs / 1000))));
      await answerHere(ctx, deps, 429, 'temporarily_unavailable', 'token endpoint rate limit exceeded');
      return;
    }
    const delayMs = faultDelayMs(faults, random);
    if (delayMs > 0) await sleep(delayMs);
    if (faults.errorRate > 0 && random() < faults.errorRate) {
      stats.counters.injectedErrors++;
      // The injected answer comes before any token is touched: a 503 says so with Retry-After (the only
      // 5xx a client of a rotating grant may resend after); a 500 says nothing, as a gateway would.
      if (faults.errorStatus === 503) ctx.set('Retry-After', '1');
      const code = faults.errorStatus === 503 ? 'temporarily_unavailable' : 'server_error';
      await answerHere(ctx, deps, faults.errorStatus, code, 'injected by the simulator');
      return;
    }

    await next();

    stats.countGrant(grantTypeOf(ctx.oidc?.params));
    if (ctx.status === 200 && faults.dropAfterIssueRate > 0 && random() < faults.dropAfterIssueRate) {
      // The tokens (and a rotated refresh token) are committed; the client just never hears about it.
      stats.counters.droppedResponses++;
      stats.timeline.answered(Date.now(), 0);
      ctx.respond = false;
      ctx.req.socket.destroy();
      return;
    }
    const detail: unknown = ctx.state[ERROR_DETAIL_STATE];
    const code = oauthErrorCode(ctx.body);
    if (code && typeof detail === 'string') ctx.body = { ...(ctx.body as object), error_description: detail };
    record(deps.stats, ctx.status, code);
  };
}

async function answerHere(
  ctx: Parameters<SimMiddleware>[0],
  deps: GateDeps,
  status: number,
  error: string,
  description: string,
): Promise<void> {
  let body = '';
  try {
    body = await readBody(ctx.req);
  } catch {
    // Oversized body: the grant type stays unknown, the answer is the same.
  }
  deps.stats.countGrant(new URLSearchParams(body).get('grant_type') ?? undefined);
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error, error_description: description };
  record(deps.stats, status, error);
}

function record(stats: StatsRecorder, status: number, errorCode: string | undefined): void {
  stats.countStatus(status);
  if (errorCode) stats.countError(errorCode);
}

function grantTypeOf(params: unknown): string | undefined {
  if (
    params &&
    typeof params === 'object' &&
    'grant_type' in params &&
    typeof params.grant_type === 'string'
  ) {
    return params.grant_type;
  }
  return undefined;
}
