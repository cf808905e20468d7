import { z } from 'zod';
import { AppError } from '../../lambdas/core/errors.ts';
import type { IdpTimeline } from '../timeline/types.ts';
import { readBody, type SimMiddleware } from './http-util.ts';
import type { IdpClient, IdpFaults, IdpStats } from './idp-types.ts';

export interface SimControl {
  stats(): IdpStats;
  timeline(): IdpTimeline;
  resetStats(): void;
  faults(): IdpFaults;
  setFaults(patch: Partial<IdpFaults>): IdpFaults;
  revokeGrant(grantId: string): Promise<boolean>;
  revokeClientGrants(clientId: string): Promise<number>;
  issueRefreshToken(opts: {
    clientId: string;
    subject?: string;
    scope?: string;
  }): Promise<{ refreshToken: string; grantId: string }>;
  clients: readonly IdpClient[];
}

const revokeBody = z.union([
  z.object({ grantId: z.string().min(1) }).strict(),
  z.object({ clientId: z.string().min(1) }).strict(),
]);
const refreshTokenBody = z
  .object({
    clientId: z.string().min(1),
    subject: z.string().min(1).optional(),
    scope: z.string().optional(),
  })
  .strict();

type Handler = (body: unknown) => Promise<unknown> | unknown;

/**
 * The test surface under /__sim/ (loopback only, like the whole simulator). Besides stats and faults it
 * hands out client credentials and initial refresh tokens, so a process that only knows the URL (the
 * local runner with --idp-url) can connect.
 */
export function simRoutes(control: SimControl): SimMiddleware {
  const routes: Record<string, Handler> = {
    'GET /__sim/stats': () => control.stats(),
    'GET /__sim/timeline': () => control.timeline(),
    'GET /__sim/faults': () => control.faults(),
    'POST /__sim/faults': (body) => control.setFaults((body ?? {}) as Partial<IdpFaults>),
    'POST /__sim/reset-stats': () => {
      control.resetStats();
      return control.stats();
    },
    'POST /__sim/revoke': async (body) => {
      const parsed = revokeBody.parse(body);
      if ('grantId' in parsed) return { revoked: (await control.revokeGrant(parsed.grantId)) ? 1 : 0 };
      return { revoked: await control.revokeClientGrants(parsed.clientId) };
    },
    'POST /__sim/refresh-tokens': (body) => control.issueRefreshToken(refreshTokenBody.parse(body)),
    'GET /__sim/clients': () => control.clients,
  };

  return async (ctx, next) => {
    if (!ctx.path.startsWith('/__sim/')) {
      await next();
      return;
    }
    const handler = routes[`${ctx.method} ${ctx.path}`];
    ctx.set('Cache-Control', 'no-store');
    if (!handler) {
      ctx.status = 404;
      ctx.body = { error: 'not_found', error_description: `no simulator route ${ctx.method} ${ctx.path}` };
      return;
    }
    try {
      const text = ctx.method === 'POST' ? await readBody(ctx.req) : '';
      ctx.body = await handler(text ? JSON.parse(text) : undefined);
      ctx.status = 200;
    } catch (err) {
      ctx.status = isBadRequest(err) ? 400 : 500;
      ctx.body = {
        error: ctx.status === 400 ? 'invalid_request' : 'server_error',
        error_description: describe(err),
      };
    }
  };
}

function isBadRequest(err: unknown): boolean {
  return (
    err instanceof z.ZodError ||
    err instanceof SyntaxError ||
    err instanceof RangeError ||
    err instanceof AppError
  );
}

function describe(err: unknown): string {
  if (err instanceof z.ZodError)
    return err.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
  return err instanceof Error ? err.message : String(err);
}
