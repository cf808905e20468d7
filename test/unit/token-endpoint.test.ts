import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { basicAuthorization, obtainToken, parseTokenResponse } from '#core/token/index.ts';
import {
  AmbiguousTokenResponseError,
  GrantRejectedError,
  RefreshTokenMayBeConsumedError,
  TransientError,
} from '../../lambdas/core/errors.ts';
import type { ConnectionSecret } from '../../lambdas/core/ports.ts';

type Step = (req: IncomingMessage, res: ServerResponse, body: string) => void;
interface Peer {
  url: string;
  requests: { body: URLSearchParams; authorization?: string; connection?: string; socket: unknown }[];
  close(): Promise<void>;
}

/** A token endpoint on 127.0.0.1 that plays `steps` in order (the last one repeats). */
async function peer(steps: Step[]): Promise<Peer> {
  const requests: Peer['requests'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      requests.push({
        body: new URLSearchParams(body),
        authorization: req.headers.authorization,
        connection: req.headers.connection,
        socket: req.socket,
      });
      const step = steps[Math.min(requests.length - 1, steps.length - 1)]!;
      step(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/oauth2/v1/token`,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Step =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  };
const ok = json(200, {
  access_token: 'opaque-access-token-1',
  token_type: 'Bearer',
  expires_in: 3600,
  refresh_token: 'rt-2-rotated',
});
const reset: Step = (req) => req.socket.destroy();
const hang: Step = () => undefined;

const fast = { baseMs: 1, capMs: 5, timeoutMs: 1_000 };
const peers: Peer[] = [];
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.close()));
});
async function endpoint(...steps: Step[]): Promise<Peer> {
  const p = await peer(steps);
  peers.push(p);
  return p;
}
const secretFor = (p: Peer, extra: Partial<ConnectionSecret> = {}): ConnectionSecret => ({
  tokenUrl: p.url,
  clientId: 'goal sync',
  clientSecret: 's3cr3t:with&chars',
  ...extra,
});

describe('parseTokenResponse classification', () => {
  it.each(['invalid_grant', 'invalid_client', 'unauthorized_client'])('400 %s is fatal', (code) => {
    expect(() => parseTokenResponse(400, JSON.stringify({ error: code }), null)).toThrow(GrantRejectedError);
  });

  it('401 is fatal even without an OAuth body', () => {
    const err = catchErr(() => parseTokenResponse(401, 'Unauthorized', null));
    expect(err).toBeInstanceOf(GrantRejectedError);
    expect((err as GrantRejectedError).oauthError).toBe('unauthorized');
  });

  it('other 4xx (invalid_scope, invalid_request) need a human too', () => {
    expect(() => parseTokenResponse(400, JSON.stringify({ error: 'invalid_scope' }), null)).toThrow(
      GrantRejectedError,
    );
    expect(() => parseTokenResponse(404, 'nope', null)).toThrow(GrantRejectedError);
  });

  it.each([500, 502, 503, 504, 408])('%i is transient', (status) => {
    const err = catchErr(() => parseTokenResponse(status, '<html>oops</html>', null));
    expect(err).toBeInstanceOf(TransientError);
    expect(err).not.toBeInstanceOf(AmbiguousTokenResponseError);
    expect((err as TransientError).status).toBe(status);
  });

  it('429 carries Retry-After in ms (seconds and HTTP-date forms)', () => {
    const now = Date.UTC(2030, 0, 1);
    const a = catchErr(() => parseTokenResponse(429, '{}', '3', now)) as TransientError;
    expect(a.retryAfterMs).toBe(3_000);
    const b = catchErr(() =>
      parseTokenResponse(503, '{}', new Date(now + 7_000).toUTCString(), now),
    ) as TransientError;
    expect(b.retryAfterMs).toBe(7_000);
  });

  it('a 200 without a usable body is ambiguous (the IdP acted on it)', () => {
    expect(() => parseTokenResponse(200, '{"token_type":"Bearer"}', null)).toThrow(
      AmbiguousTokenResponseError,
    );
    expect(() => parseTokenResponse(200, '{"access_tok', null)).toThrow(AmbiguousTokenResponseError);
  });

  it('masks token-like text the IdP echoes in error_description', () => {
    const jwt = `eyJhbGciOiJSUzI1NiJ9.${'a'.repeat(40)}.${'b'.repeat(40)}`;
    const err = catchErr(() =>
      parseTokenResponse(
        400,
        JSON.stringify({
          error: 'invalid_grant',
          error_description: `bad refresh_token=${'r'.repeat(30)} ${jwt}`,
        }),
        null,
      ),
    );
    expect(err.message).toContain('invalid_grant');
    expect(err.message).not.toContain('r'.repeat(30));
    expect(err.message).not.toContain(jwt);
  });
});

describe('obtainToken over HTTP', () => {
  it('sends a form-encoded refresh with HTTP Basic auth and returns the rotated pair', async () => {
    const p = await endpoint(ok);
    const set = await obtainToken(
      { grant: 'refresh_token', secret: secretFor(p), refreshToken: 'rt-1-current' },
      fast,
    );
    expect(set.accessToken).toBe('opaque-access-token-1');
    expect(set.refreshToken).toBe('rt-2-rotated');
    expect(set.expiresAt - set.issuedAt).toBe(3_600_000);
    expect(p.requests).toHaveLength(1);
    expect(p.requests[0]!.body.get('grant_type')).toBe('refresh_token');
    expect(p.requests[0]!.body.get('refresh_token')).toBe('rt-1-current');
    expect(p.requests[0]!.authorization).toBe(
      basicAuthorization({ clientId: 'goal sync', clientSecret: 's3cr3t:with&chars' }),
    );
    const decoded = Buffer.from(p.requests[0]!.authorization!.slice(6), 'base64').toString();
    expect(decoded).toBe('goal%20sync:s3cr3t%3Awith%26chars');
  });

  it('opens a connection per token request (Connection: close), so a kept-alive socket the server closed is never taken for an unclear send', async () => {
    const p = await endpoint(ok);
    for (const refreshToken of ['rt-1', 'rt-2', 'rt-3'])
      await obtainToken({ grant: 'refresh_token', secret: secretFor(p), refreshToken }, fast);
    expect(p.requests.map((r) => r.connection)).toEqual(['close', 'close', 'close']);
    expect(new Set(p.requests.map((r) => r.socket)).size).toBe(3);
  });

  it('retries 503 twice with backoff, then succeeds (client_credentials)', async () => {
    const p = await endpoint(json(503, { error: 'temporarily_unavailable' }), json(503, {}), ok);
    const delays: number[] = [];
    const set = await obtainToken(
      { grant: 'client_credentials', secret: secretFor(p, { scope: 'urn:x' }) },
      { ...fast, onRetry: (i) => delays.push(i.delayMs) },
    );
    expect(set.accessToken).toBe('opaque-access-token-1');
    expect(p.requests).toHaveLength(3);
    expect(delays).toHaveLength(2);
    expect(p.requests[0]!.body.get('scope')).toBe('urn:x');
  });

  it('honours Retry-After on 429 before retrying', async () => {
    const p = await endpoint(json(429, { error: 'temporarily_unavailable' }, { 'retry-after': '1' }), ok);
    const started = Date.now();
    await obtainToken({ grant: 'client_credentials', secret: secretFor(p) }, fast);
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(p.requests).toHaveLength(2);
  });

  it('stops after the bounded number of attempts', async () => {
    const p = await endpoint(json(500, {}));
    await expect(
      obtainToken({ grant: 'client_credentials', secret: secretFor(p) }, { ...fast, attempts: 4 }),
    ).rejects.toBeInstanceOf(TransientError);
    expect(p.requests).toHaveLength(4);
  });

  it('never retries invalid_grant', async () => {
    const p = await endpoint(json(400, { error: 'invalid_grant' }));
    await expect(
      obtainToken({ grant: 'refresh_token', secret: secretFor(p), refreshToken: 'rt-1' }, fast),
    ).rejects.toBeInstanceOf(GrantRejectedError);
    expect(p.requests).toHaveLength(1);
  });

  it('never resends a refresh token whose response was lost (socket reset after send)', async () => {
    const p = await endpoint(reset, ok);
    const err = await obtainToken(
      { grant: 'refresh_token', secret: secretFor(p), refreshToken: 'rt-1' },
      fast,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefreshTokenMayBeConsumedError);
    expect((err as RefreshTokenMayBeConsumedError).reason).toBe(
      'token response lost; refresh token may have been rotated',
    );
    expect(p.requests).toHaveLength(1);
  });

  it('never resends a refresh token after a timeout', async () => {
    const p = await endpoint(hang);
    const err = await obtainToken(
      { grant: 'refresh_token', secret: secretFor(p), refreshToken: 'rt-1' },
      { ...fast, timeoutMs: 150 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefreshTokenMayBeConsumedError);
    expect(p.requests).toHaveLength(1);
  });

  it.each([500, 502, 504, 408])(
    'never resends a refresh token after a %i (a gateway may answer so after the IdP rotated)',
    async (status) => {
      const p = await endpoint(json(status, {}), ok);
      const err = await obtainToken(
        { grant: 'refresh_token', secret: secretFor(p), refreshToken: 'rt-1' },
        fast,
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RefreshTokenMayBeConsumedError);
      expect((err as Error).message).toContain(String(status));
      expect(p.requests).toHaveLength(1);
    },
  );

  it('never resends a refresh token after a 503 without Retry-After; resends after one with it, and after a 429', async () => {
    const bare = await endpoint(json(503, {}), ok);
    await expect(
      obtainToken({ grant: 'refresh_token', secret: secretFor(bare), refreshToken: 'rt-1' }, fast),
    ).rejects.toBeInstanceOf(RefreshTokenMayBeConsumedError);
    expect(bare.requests).toHaveLength(1);
    const said = await endpoint(
      json(503, {}, { 'retry-after': '0' }),
      json(429, {}, { 'retry-after': '0' }),
      ok,
    );
    const set = await obtainToken(
      { grant: 'refresh_token', secret: secretFor(said), refreshToken: 'rt-1' },
      fast,
    );
    expect(set.refreshToken).toBe('rt-2-rotated');
    expect(said.requests).toHaveLength(3);
  });

  it('never resends a refresh token after an unreadable 200', async () => {
    const p = await endpoint((_q, res) => res.writeHead(200).end('<html>'), ok);
    await expect(
      obtainToken({ grant: 'refresh_token', secret: secretFor(p), refreshToken: 'rt-1' }, fast),
    ).rejects.toBeInstanceOf(RefreshTokenMayBeConsumedError);
    expect(p.requests).toHaveLength(1);
  });

  it('does retry a lost response for client_credentials (nothing is consumed)', async () => {
    const p = await endpoint(reset, ok);
    const set = await obtainToken({ grant: 'client_credentials', secret: secretFor(p) }, fast);
    expect(set.accessToken).toBe('opaque-access-token-1');
    expect(p.requests).toHaveLength(2);
  });

  it('retries a refused connection, even for refresh_token (the request never left)', async () => {
    const p = await endpoint(ok);
    const url = p.url;
    await p.close();
    peers.splice(0);
    const retries: unknown[] = [];
    const err = await obtainToken(
      {
        grant: 'refresh_token',
        secret: { tokenUrl: url, clientId: 'c', clientSecret: 's' },
        refreshToken: 'rt-1',
      },
      { ...fast, onRetry: (i) => retries.push(i.error) },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err).not.toBeInstanceOf(AmbiguousTokenResponseError);
    expect((err as Error).message).toContain('ECONNREFUSED');
    expect(retries).toHaveLength(3);
  });
});

function catchErr(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}
