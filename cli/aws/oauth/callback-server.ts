import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ReauthRequiredError, TransientError } from '../../../lambdas/core/errors.ts';
import { maskSecrets } from '../../../lambdas/core/mask.ts';

export const CALLBACK_PATH = '/callback';

export interface CallbackServer {
  /** `http://127.0.0.1:<port>/callback`: register it (or its port) as a redirect URI on the IdP app. */
  redirectUri: string;
  /**
   * The authorization code of the first valid callback. Rejects on a state mismatch (possible CSRF),
   * an error answer from the IdP, or when nothing arrives within `timeoutMs`.
   */
  waitForCode(timeoutMs: number): Promise<string>;
  close(): Promise<void>;
}

const page = (title: string, text: string): string =>
  `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><p>${text}</p>`;

const formatDuration = (ms: number): string => (ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`);

function sameState(received: string, expected: string): boolean {
  // Hash first so the comparison is constant-time even when the lengths differ.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(received), digest(expected));
}

/**
 * A one-shot loopback server for the authorization-code redirect (RFC 8252 section 7.3). Only
 * 127.0.0.1 is bound. Requests to other paths (a browser's favicon probe) are answered 404 and do
 * not consume the one shot; the first request to /callback settles the outcome either way.
 */
export async function startCallbackServer(options: {
  port: number;
  expectedState: string;
  connectionId: string;
}): Promise<CallbackServer> {
  let settle: { resolve: (code: string) => void; reject: (err: Error) => void } | undefined;
  let settled = false;
  const outcome = new Promise<string>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // The outcome may be decided before anyone awaits it; keep that from being an unhandled rejection.
  outcome.catch(() => undefined);

  const finish = (res: ServerResponse, status: number, html: string, result: string | Error) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
    settled = true;
    if (typeof result === 'string') settle?.resolve(result);
    else settle?.reject(result);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== CALLBACK_PATH) {
      res.writeHead(404).end();
      return;
    }
    if (settled) {
      res
        .writeHead(410, { 'content-type': 'text/plain' })
        .end('this authorization callback was already used');
      return;
    }
    const q = url.searchParams;
    const state = q.get('state') ?? '';
    const idpError = q.get('error');
    const code = q.get('code');
    const fail = (reason: string) =>
      finish(
        res,
        400,
        page('Authorization failed', reason),
        new ReauthRequiredError(options.connectionId, reason),
      );
    if (!sameState(state, options.expectedState)) {
      fail(
        'the state parameter does not match this authorization request (possible CSRF); run connect again',
      );
    } else if (idpError) {
      const description = q.get('error_description');
      fail(maskSecrets(`the IdP answered ${idpError}${description ? `: ${description}` : ''}`));
    } else if (!code) {
      fail('the callback carries no authorization code');
    } else {
      finish(
        res,
        200,
        page('Authorization received', 'You can close this tab and return to the terminal.'),
        code,
      );
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    redirectUri: `http://127.0.0.1:${port}${CALLBACK_PATH}`,
    waitForCode(timeoutMs: number): Promise<string> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new TransientError(`no authorization callback within ${formatDuration(timeoutMs)}`)),
          timeoutMs,
        );
      });
      return Promise.race([outcome, timeout]).finally(() => clearTimeout(timer));
    },
    close(): Promise<void> {
      return new Promise((resolve) => {
        server.close(() => resolve());
        // Browsers keep connections alive; without this close() would wait for them to idle out.
        server.closeAllConnections();
      });
    },
  };
}
