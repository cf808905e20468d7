import { IncomingMessage } from 'node:http';
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

/**
 * Hands oidc-provider a request whose body was already read (to see how the client authenticates): a
 * fresh IncomingMessage on the same socket, with the same head plus `headers`, streaming `body` again.
 * oidc-provider then parses it as it would the original, with no "already parsed body" fallback.
 */
export function replayRequest(
  ctx: KoaContextWithOIDC,
  body: string,
  headers: Record<string, string> = {},
): void {
  const original = ctx.req;
  const bytes = Buffer.from(body, 'utf8');
  const replay = new IncomingMessage(original.socket);
  replay.method = original.method;
  replay.url = original.url;
  replay.httpVersion = original.httpVersion;
  replay.httpVersionMajor = original.httpVersionMajor;
  replay.httpVersionMinor = original.httpVersionMinor;
  replay.headers = { ...original.headers, ...headers, 'content-length': String(bytes.length) };
  // The body is all here; a message that ends incomplete destroys its socket (and our answer with it).
  replay.complete = true;
  replay.push(bytes);
  replay.push(null);
  ctx.req = replay;
  ctx.request.req = replay;
}
