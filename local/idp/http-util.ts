import type { IncomingMessage } from 'node:http';
import type { KoaContextWithOIDC } from 'oidc-provider';

/** The Koa middleware shape the simulator adds in front of oidc-provider's router. */
export type SimMiddleware = (ctx: KoaContextWithOIDC, next: () => Promise<unknown>) => Promise<void>;

const MAX_BODY_BYTES = 64 * 1024;

/** Reads a small request body (the simulator's own routes and short-circuited token requests). */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new RangeError('request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The `error` member of an OAuth error body, if the body is one. */
export function oauthErrorCode(body: unknown): string | undefined {
  if (body && typeof body === 'object' && 'error' in body && typeof body.error === 'string')
    return body.error;
  return undefined;
}
