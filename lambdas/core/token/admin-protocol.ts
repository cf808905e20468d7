import { ConfigError } from '../errors.ts';
import * as z from '../zod.ts';

const connectionId = z.string().check(z.minLength(1), z.maxLength(256));
const nonEmpty = z.string().check(z.minLength(1), z.maxLength(8_192));

/**
 * What a connection admin sends the connection-admin function (`goal-sync connect`). It hands in a
 * one-time authorization code (with its PKCE verifier and redirect URI) or a refresh token obtained
 * elsewhere, or names a grant without a user (client credentials, JWT assertion); the answer is the
 * connection's state, never a token. The token hand-out (get/refresh) is not reachable from here.
 */
export const adminRequestSchema = z.discriminatedUnion('action', [
  /** The non-secret fields the browser step needs: client id, scope, token endpoint. */
  z.object({ action: z.literal('describe'), connectionId }),
  z.object({
    action: z.literal('connect'),
    connectionId,
    grant: z.optional(z.enum(['refresh_token', 'client_credentials', 'jwt_bearer'])),
    authorization: z.optional(z.object({ code: nonEmpty, codeVerifier: nonEmpty, redirectUri: z.url() })),
    refreshToken: z.optional(nonEmpty),
  }),
]);

export type AdminRequest = z.infer<typeof adminRequestSchema>;

/** Parses a request; the error lists field paths only (a request may carry a code or a refresh token). */
export function parseAdminRequest(event: unknown): AdminRequest {
  const parsed = adminRequestSchema.safeParse(event);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || 'action'))].join(', ');
    throw new ConfigError(`invalid connection admin request (${fields})`);
  }
  const req = parsed.data;
  if (req.action === 'connect') {
    const given = [req.authorization, req.refreshToken].filter((v) => v !== undefined).length;
    if (given > 1) throw new ConfigError('connect takes an authorization code or a refresh token, not both');
    const grant = req.grant ?? 'refresh_token';
    if (grant === 'refresh_token' && given === 0) {
      throw new ConfigError(
        'connect with the refresh_token grant needs an authorization code or a refresh token',
      );
    }
    if (grant !== 'refresh_token' && given > 0) {
      throw new ConfigError(`connect with the ${grant} grant takes no code or refresh token`);
    }
  }
  return req;
}
