import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CliDeps, defaultDeps } from '../../cli/aws/cli.ts';
import { s256 } from '../../cli/aws/oauth/pkce.ts';
import { run } from '../../cli/commands/connect.ts';
import { mask } from '../../lambdas/core/mask.ts';

const cfn = mockClient(CloudFormationClient);
const secrets = mockClient(SecretsManagerClient);
const lambda = mockClient(LambdaClient);

const CLIENT_ID = 'goal-sync-app';
const CLIENT_SECRET = 'cs-7f3a9c0e5b2d4f6a8c1e3b5d7f9a';
const SECRET_PREFIX = 'goal-sync/prod/connections/';
const SECRET_ID = `${SECRET_PREFIX}hcm-eu`;

/**
 * A tiny IDCS-like token endpoint: it knows the codes the "browser" obtained (with the PKCE
 * challenge each was issued for) and checks client_secret_basic, redirect_uri and the S256 verifier
 * the way an IdP does. Everything it issues is recorded so the test can grep the CLI output for it.
 */
interface IssuedCode {
  challenge: string;
  redirectUri: string;
}
const idp = {
  server: undefined as Server | undefined,
  base: '',
  codes: new Map<string, IssuedCode>(),
  calls: [] as Array<{ status: number; verifier?: string }>,
  issued: [] as string[],
  mode: 'ok' as 'ok' | 'hang' | 'no-refresh',
};

function answer(res: import('node:http').ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

beforeAll(async () => {
  idp.server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => {
      raw += c.toString();
    });
    req.on('end', () => {
      const form = new URLSearchParams(raw);
      const verifier = form.get('code_verifier') ?? undefined;
      const reply = (status: number, body: unknown) => {
        idp.calls.push({ status, verifier });
        answer(res, status, body);
      };
      if (req.method !== 'POST' || req.url !== '/oauth2/v1/token') return reply(404, { error: 'not_found' });
      if (idp.mode === 'hang') return; // never answers: the CLI's exchange timeout must fire
      const expectedAuth = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
      if (req.headers.authorization !== expectedAuth) return reply(401, { error: 'invalid_client' });
      if (form.get('grant_type') !== 'authorization_code')
        return reply(400, { error: 'unsupported_grant_type' });
      const issued = idp.codes.get(form.get('code') ?? '');
      idp.codes.delete(form.get('code') ?? ''); // single use
      if (!issued) return reply(400, { error: 'invalid_grant', error_description: 'unknown or used code' });
      if (form.get('redirect_uri') !== issued.redirectUri) return reply(400, { error: 'invalid_grant' });
      if (!verifier || !/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || s256(verifier) !== issued.challenge) {
        return reply(400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
      }
      const accessToken = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: 'u1', exp: 2e9 })).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
      const refreshToken = `rt-${randomBytes(24).toString('hex')}`;
      idp.issued.push(accessToken, refreshToken);
      const body: Record<string, unknown> = {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: 3600,
      };
      if (idp.mode !== 'no-refresh') body.refresh_token = refreshToken;
      reply(200, body);
    });
  });
  await new Promise<void>((resolve) => idp.server?.listen(0, '127.0.0.1', resolve));
  idp.base = `http://127.0.0.1:${(idp.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  idp.server?.closeAllConnections();
  await new Promise((resolve) => idp.server?.close(resolve));
});

const payload = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)) as unknown as InvokeCommandOutput['Payload'];

let storedSecret: Record<string, unknown>;
beforeEach(() => {
  idp.codes.clear();
  idp.calls = [];
  idp.issued = [];
  idp.mode = 'ok';
  storedSecret = {
    tokenUrl: `${idp.base}/oauth2/v1/token`,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    scope: 'urn:opc:resource:fusion:hcm',
    grant: 'refresh_token',
  };
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'prod',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [
          { OutputKey: 'ConnectionSecretPrefix', OutputValue: SECRET_PREFIX },
          { OutputKey: 'TokenBrokerFunctionName', OutputValue: 'goal-sync-token-broker' },
        ],
      },
    ],
  });
  secrets
    .on(GetSecretValueCommand, { SecretId: SECRET_ID })
    .callsFake(() => ({ SecretString: JSON.stringify(storedSecret) }));
  secrets.on(PutSecretValueCommand).resolves({ VersionId: 'v2' });
  lambda.on(InvokeCommand).resolves({
    StatusCode: 200,
    Payload: payload({ connectionId: 'hcm-eu', status: 'active', version: 1 }),
  });
});
afterEach(() => {
  for (const m of [cfn, secrets, lambda]) m.reset();
  vi.restoreAllMocks();
});

/**
 * The user's browser: logs in at the IdP (here: the test registers a code for the request's PKCE
 * challenge), then follows the redirect back to the CLI's callback. `tamper` lets a test forge it.
 */
function browser(
  tamper: { state?: string; challenge?: string; idpError?: string; probeFavicon?: boolean } = {},
) {
  const seen: { url?: URL; callbackStatus?: number; replayStatus?: number; done?: Promise<void> } = {};
  const open = async (authorizeUrl: string): Promise<boolean> => {
    const url = new URL(authorizeUrl);
    seen.url = url;
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri') ?? '';
    const code = `code-${randomBytes(8).toString('hex')}`;
    idp.codes.set(code, { challenge: tamper.challenge ?? q.get('code_challenge') ?? '', redirectUri });
    const back = new URL(redirectUri);
    back.searchParams.set('state', tamper.state ?? q.get('state') ?? '');
    if (tamper.idpError) back.searchParams.set('error', tamper.idpError);
    else back.searchParams.set('code', code);
    // Not awaited by the CLI's opener contract: a real browser returns at once.
    seen.done = (async () => {
      if (tamper.probeFavicon) await fetch(new URL('/favicon.ico', redirectUri));
      seen.callbackStatus = (await fetch(back)).status;
      seen.replayStatus = await fetch(back).then(
        (r) => r.status,
        () => -1, // server already closed: also a refusal
      );
    })();
    return true;
  };
  return { open, seen };
}

function harness(overrides: Partial<CliDeps> = {}) {
  const lines: string[] = [];
  // Anything that bypasses the injected output would land here; it is grepped too.
  const stray: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
      stray.push(String(chunk));
      return (original as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write);
  }
  const deps = defaultDeps({
    out: (l) => lines.push(l),
    err: (l) => lines.push(l),
    timeouts: { callbackMs: 5_000, exchangeMs: 2_000 },
    ...overrides,
  });
  return { deps, lines, all: () => [...lines, ...stray].join('\n') };
}

// A random callback port per test: undici's pooled sockets to an earlier test's closed server on the
// same port would fail the fake browser. The first test covers the fixed default port.
const argv = ['--stack', 'prod', '--connection', 'hcm-eu', '--port', '0'];

function expectNothingSecretIn(output: string) {
  const secretsSeen = [
    ...idp.issued,
    CLIENT_SECRET,
    ...idp.calls.map((c) => c.verifier ?? '').filter(Boolean),
  ];
  expect(secretsSeen.length).toBeGreaterThan(0);
  for (const s of secretsSeen) expect(output).not.toContain(s);
}

describe('goal-sync connect', () => {
  it('runs the PKCE code flow end to end, stores the refresh token and hands it to the broker', async () => {
    const b = browser({ probeFavicon: true });
    const h = harness({ openBrowser: b.open });
    expect(await run(argv.slice(0, 4), h.deps)).toBe(0);
    await b.seen.done;
    // The default callback port is fixed, and the redirect URI to register is printed first.
    expect(h.lines).toContain('redirect URI (register it in the IdP app): http://127.0.0.1:8721/callback');

    // The authorize request the browser was sent to.
    const q = b.seen.url?.searchParams;
    expect(`${b.seen.url?.origin}${b.seen.url?.pathname}`).toBe(`${idp.base}/oauth2/v1/authorize`);
    expect(q?.get('response_type')).toBe('code');
    expect(q?.get('client_id')).toBe(CLIENT_ID);
    expect(q?.get('code_challenge_method')).toBe('S256');
    expect(q?.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(q?.get('scope')?.split(' ')).toEqual(['urn:opc:resource:fusion:hcm', 'offline_access']);
    expect(q?.get('state')?.length).toBeGreaterThanOrEqual(32);
    expect(b.seen.callbackStatus).toBe(200);
    // The one-shot server is gone once the command returns (else the CLI process would never exit).
    await expect(fetch(q?.get('redirect_uri') ?? '')).rejects.toThrow();
    // A replayed callback is refused: 410 while the server lives, connection refused once it closed.
    expect([410, -1]).toContain(b.seen.replayStatus);

    // One exchange, with a verifier the IdP accepted against the challenge.
    expect(idp.calls).toHaveLength(1);
    expect(idp.calls[0]?.status).toBe(200);
    expect(idp.calls[0]?.verifier?.length).toBeGreaterThanOrEqual(43);
    expect(idp.calls[0]?.verifier?.length).toBeLessThanOrEqual(128);

    // The secret keeps every field and gains the refresh token the IdP issued.
    const refreshToken = idp.issued[1] ?? '';
    const puts = secrets.commandCalls(PutSecretValueCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(1);
    expect(puts[0]?.SecretId).toBe(SECRET_ID);
    expect(JSON.parse(puts[0]?.SecretString ?? '')).toEqual({
      ...storedSecret,
      bootstrapRefreshToken: refreshToken,
    });

    // Then the broker is told to take it over.
    const invoke = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(invoke?.FunctionName).toBe('goal-sync-token-broker');
    expect(JSON.parse(new TextDecoder().decode(invoke?.Payload as Uint8Array))).toEqual({
      action: 'connect',
      connectionId: 'hcm-eu',
      secretId: SECRET_ID,
      grant: 'refresh_token',
    });
    expect(secrets.commandCalls(PutSecretValueCommand)[0]?.args[0].input).toBeDefined();

    const output = h.all();
    expect(output).toContain(mask(refreshToken));
    expect(output).toContain('status active');
    expectNothingSecretIn(output);
  });

  it('--no-browser prints the URL, and the user can paste it', async () => {
    const b = browser();
    const opener = vi.fn(async () => true);
    const h = harness({
      openBrowser: opener,
      out: (l) => {
        h.lines.push(l);
        const url = /^\s+(http\S+authorize\S+)$/.exec(l)?.[1];
        if (url) void b.open(url);
      },
    });
    expect(await run([...argv, '--no-browser', '--scope', 'openid offline_access'], h.deps)).toBe(0);
    expect(opener).not.toHaveBeenCalled();
    expect(b.seen.url?.searchParams.get('scope')).toBe('openid offline_access');
    expect(h.lines.join('\n')).not.toContain('added offline_access');
    expectNothingSecretIn(h.all());
  });

  it('rejects a callback whose state does not match, without any exchange or write', async () => {
    const b = browser({ state: 'forged-state-from-another-site' });
    const h = harness({ openBrowser: b.open });
    expect(await run(argv, h.deps)).toBe(3);
    await b.seen.done;
    expect(b.seen.callbackStatus).toBe(400);
    expect(h.lines.join('\n')).toMatch(/state parameter does not match/);
    expect(idp.calls).toHaveLength(0);
    expect(secrets.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('the token endpoint refuses a code issued for a different PKCE challenge', async () => {
    const b = browser({ challenge: s256('a-verifier-the-cli-never-had-0123456789abcdef') });
    const h = harness({ openBrowser: b.open });
    expect(await run(argv, h.deps)).toBe(3);
    expect(idp.calls.map((c) => c.status)).toEqual([400]);
    expect(h.lines.join('\n')).toMatch(/code exchange failed with invalid_grant: PKCE verification failed/);
    expect(secrets.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expectNothingSecretIn(h.all());
  });

  it('reports an IdP refusal (access_denied) as needing re-auth', async () => {
    const h = harness({ openBrowser: browser({ idpError: 'access_denied' }).open });
    expect(await run(argv, h.deps)).toBe(3);
    expect(h.lines.join('\n')).toMatch(/the IdP answered access_denied/);
    expect(idp.calls).toHaveLength(0);
  });

  it('gives up when no callback arrives in time', async () => {
    const h = harness({ timeouts: { callbackMs: 150, exchangeMs: 2_000 } });
    const started = Date.now();
    expect(await run([...argv, '--no-browser'], h.deps)).toBe(1);
    // It gives up instead of hanging (the test's timeout); a busy machine may take seconds for it.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(h.lines.join('\n')).toMatch(/TransientError: no authorization callback within 150 ms/);
  });

  it('times out a token endpoint that never answers', async () => {
    idp.mode = 'hang';
    const h = harness({ openBrowser: browser().open, timeouts: { callbackMs: 5_000, exchangeMs: 200 } });
    expect(await run(argv, h.deps)).toBe(1);
    expect(h.lines.join('\n')).toMatch(/token endpoint did not answer within 200 ms/);
    expect(secrets.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });

  it('explains a token response without a refresh token', async () => {
    idp.mode = 'no-refresh';
    const h = harness({ openBrowser: browser().open });
    expect(await run(argv, h.deps)).toBe(1);
    expect(h.lines.join('\n')).toMatch(/no refresh token: the scope must include offline_access/);
    expect(secrets.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expectNothingSecretIn(h.all());
  });

  it('says the token is stored when the broker fails to take it over', async () => {
    lambda.on(InvokeCommand).resolves({
      FunctionError: 'Unhandled',
      Payload: payload({
        errorType: 'TokenCommitError',
        errorMessage: 'could not persist the refreshed tokens',
      }),
    });
    const h = harness({ openBrowser: browser().open });
    expect(await run(argv, h.deps)).toBe(1);
    expect(h.lines.join('\n')).toMatch(/refresh token is stored, but the token broker did not take it over/);
    expect(h.lines.join('\n')).toMatch(/TokenCommitError: could not persist/);
    expect(secrets.commandCalls(PutSecretValueCommand)).toHaveLength(1);
    expectNothingSecretIn(h.all());
  });

  it("takes a missing tokenUrl from the stack's IdpTokenUrl and completes the secret with it", async () => {
    const { tokenUrl, ...withoutUrl } = storedSecret;
    storedSecret = withoutUrl;
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'prod',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: [
            { OutputKey: 'ConnectionSecretPrefix', OutputValue: SECRET_PREFIX },
            { OutputKey: 'TokenBrokerFunctionName', OutputValue: 'goal-sync-token-broker' },
            { OutputKey: 'IdpTokenUrl', OutputValue: String(tokenUrl) },
          ],
        },
      ],
    });
    const h = harness({ openBrowser: browser().open });
    expect(await run(argv, h.deps)).toBe(0);
    const written = JSON.parse(
      secrets.commandCalls(PutSecretValueCommand)[0]?.args[0].input.SecretString ?? '',
    );
    expect(written).toEqual({ ...withoutUrl, tokenUrl, bootstrapRefreshToken: idp.issued[1] });
  });

  it('refuses a secret the broker could not use, naming fields only', async () => {
    storedSecret = { tokenUrl: 'not a url', clientId: '', clientSecret: CLIENT_SECRET };
    const h = harness({ openBrowser: browser().open });
    expect(await run(argv, h.deps)).toBe(1);
    expect(h.lines.join('\n')).toMatch(
      /ConfigError: secret goal-sync\/prod\/connections\/hcm-eu is malformed \(check: tokenUrl, clientId\)/,
    );
    expect(h.all()).not.toContain(CLIENT_SECRET);
  });

  it('fails clearly on a missing secret or stack output', async () => {
    secrets
      .on(GetSecretValueCommand)
      .rejects(Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' }));
    const h = harness({ openBrowser: browser().open });
    expect(await run(argv, h.deps)).toBe(1);
    expect(h.lines.join('\n')).toContain('ConnectionNotFoundError: connection hcm-eu does not exist');

    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'prod', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: [] }],
    });
    const h2 = harness();
    expect(await run(argv, h2.deps)).toBe(1);
    expect(h2.lines.join('\n')).toMatch(
      /lacks the output\(s\) ConnectionSecretPrefix, TokenBrokerFunctionName/,
    );
  });
});
