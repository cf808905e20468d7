import { authenticateClient, type ClientAuthDeps } from './client-auth.ts';
import { oauthErrorCode, readBody, replayRequest, type SimMiddleware, sleep } from './http-util.ts';
import { faultDelayMs, type SlidingMinute, type TokenBucket } from './idp-faults.ts';
import type { StatsRecorder } from './idp-stats.ts';
import type { IdpFaults } from './idp-types.ts';
import { IDP_ROUTES } from './provider.ts';

export interface GateDeps {
  stats: StatsRecorder;
  faults(): IdpFaults;
  bucket: TokenBucket;
  minute: SlidingMinute;
  clientAuth: ClientAuthDeps;
  /** The secret oidc-provider checks for a client (see provider.ts clientMetadata). */
  basicSecretOf(clientId: string): string;
  random?: () => number;
}

/** Where a grant.error listener leaves the error's detail so the gate can show it to the client. */
export const ERROR_DETAIL_STATE = 'idpErrorDetail';

/**
 * Sits in front of oidc-provider on the token endpoint: applies the rate limits (per second and per
 * minute, like IDCS) and the injected faults, authenticates the client the IDCS way (client_assertion
 * or HTTP Basic), and counts what clients saw. Requests it answers itself never reach oidc-provider,
 * so no token is touched by a 429, an injected 5xx or a refused client assertion.
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
    deps.minute.setLimit(faults.rateLimitPerMinute);
    // The minute is checked first and counted last, so a request refused by either limit costs neither.
    const minuteWaitMs = deps.minute.waitMs();
    const waitMs = minuteWaitMs > 0 ? minuteWaitMs : deps.bucket.take();
    if (waitMs > 0) {
      stats.counters.rateLimited++;
      if (minuteWaitMs > 0) stats.counters.rateLimitedPerMinute++;
      // Whole seconds (RFC 9110), never 0: a client honouring it must actually back off.
      ctx.set('Retry-After', String(Math.max(1, Math.ceil(waitMs / 1000))));
      const which = minuteWaitMs > 0 ? 'per minute' : 'per second';
      await answerHere(
        ctx,
        deps,
        429,
        'temporarily_unavailable',
        `token endpoint rate limit exceeded (${which})`,
      );
      return;
    }
    deps.minute.admit();
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

    const body = await readBody(ctx.req).catch(() => undefined);
    if (body === undefined) {
      await answerHere(ctx, deps, 400, 'invalid_request', 'request body too large', '');
      return;
    }
    const form = new URLSearchParams(body);
    const auth = await authenticateClient(form, ctx.get('authorization') || undefined, deps.clientAuth);
    if (auth.kind === 'refused') {
      await answerHere(ctx, deps, auth.status, auth.error, auth.description, body);
      return;
    }
    if (auth.kind === 'assertion') {
      // oidc-provider then sees the client authenticated the one way it is configured for.
      form.delete('client_assertion');
      form.delete('client_assertion_type');
      replayRequest(ctx, form.toString(), {
        authorization: basicAuthorization(auth.clientId, deps.basicSecretOf(auth.clientId)),
      });
    } else replayRequest(ctx, body);

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
    if (
      ctx.status === 200 &&
      faults.gatewayErrorAfterIssueRate > 0 &&
      random() < faults.gatewayErrorAfterIssueRate
    ) {
      // The tokens (and a rotated refresh token) are committed; a gateway answers for the lost upstream.
      stats.counters.gatewayErrorsAfterIssue++;
      ctx.status = 502;
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'text/html';
      ctx.body = '<html><body><h1>502 Bad Gateway</h1></body></html>';
      record(deps.stats, 502, undefined);
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
  alreadyRead?: string,
): Promise<void> {
  let body = alreadyRead ?? '';
  if (alreadyRead === undefined) {
    try {
      body = await readBody(ctx.req);
    } catch {
      // Oversized body: the grant type stays unknown, the answer is the same.
    }
  }
  deps.stats.countGrant(new URLSearchParams(body).get('grant_type') ?? undefined);
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error, error_description: description };
  if (status === 401) ctx.set('WWW-Authenticate', 'Basic realm="oauth2"');
  record(deps.stats, status, error);
}

/** RFC 6749 2.3.1: id and secret form-encoded, then joined and base64-encoded. */
function basicAuthorization(clientId: string, secret: string): string {
  const pair = `${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`;
  return `Basic ${Buffer.from(pair).toString('base64')}`;
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
