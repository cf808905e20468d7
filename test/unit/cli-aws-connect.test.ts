import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionStore, parseConnectionSecret } from '#core/token/index.ts';
import { type CliDeps, defaultDeps } from '../../cli/aws/cli.ts';
import { s256 } from '../../cli/aws/oauth/pkce.ts';
import { run } from '../../cli/commands/connect.ts';
import { createConnectionAdminHandler } from '../../lambdas/connection-admin/handler.ts';
import type { ConnectionSecret, SecretSource } from '../../lambdas/core/ports.ts';
import { createTokenBrokerHandler } from '../../lambdas/token-broker/handler.ts';
import { LocalKeyProvider } from '../../local/adapters/local-key-provider.ts';
import { MemoryEventBus } from '../../local/adapters/memory-event-bus.ts';
import { RecordingScheduler } from '../integration/broker-fixture.ts';
import { lambdaContext } from '../integration/pipeline-harness.ts';
import { startTestDynamo, type TestDynamo } from '../support/dynalite.ts';

const cfn = mockClient(CloudFormationClient);
const secrets = mockClient(SecretsManagerClient);
const lambda = mockClient(LambdaClient);

const CLIENT_ID = 'goal-sync-app';
const CLIENT_SECRET = 'cs-7f3a9c0e5b2d4f6a8c1e3b5d7f9a';
const SECRET_PREFIX = 'goal-sync/prod/connections/';
const SECRET_ID = `${SECRET_PREFIX}hcm-eu`;
const ADMIN_FUNCTION = 'goal-sync-connection-admin';

/**
 * A tiny IDCS-like token endpoint: it knows the codes the "browser" obtained (with the PKCE
 * challenge each was issued for) and checks client_secret_basic, redirect_uri and the S256 verifier
 * the way an IdP does; it also answers the broker's refresh_token grant (rotating the token). Everything
 * it issues is recorded so the test can grep the CLI output and the function's answers for it.
 */
interface IssuedCode {
  challenge: string;
  redirectUri: string;
}
const idp = {
  server: undefined as Server | undefined,
  base: '',
  codes: new Map<string, IssuedCode>(),
  refreshTokens: new Set<string>(),
  calls: [] as Array<{ grant: string | null; status: number; verifier?: string }>,
  issued: [] as string[],
  mode: 'ok' as 'ok' | 'hang' | 'no-refresh',
};

function answer(res: import('node:http').ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function tokens(withRefresh: boolean): Record<string, unknown> {
  const accessToken = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: 'u1', exp: 2e9 })).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
  const refreshToken = `rt-${randomBytes(24).toString('hex')}`;
  idp.issued.push(accessToken, refreshToken);
  const body: Record<string, unknown> = { access_token: accessToken, token_type: 'Bearer', expires_in: 3600 };
  if (withRefresh) {
    body.refresh_token = refreshToken;
    idp.refreshTokens.add(refreshToken);
  }
  return body;
}

let dynamo: TestDynamo;
let stateDir: string;
let keys: LocalKeyProvider;

beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  dynamo = await startTestDynamo();
  stateDir = await mkdtemp(join(tmpdir(), 'connect-'));
  keys = await LocalKeyProvider.inStateDir(stateDir);
  idp.server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => {
      raw += c.toString();
    });
    req.on('end', () => {
      const form = new URLSearchParams(raw);
      const verifier = form.get('code_verifier') ?? undefined;
      const grant = form.get('grant_type');
      const reply = (status: number, body: unknown) => {
        idp.calls.push({ grant, status, verifier });
        answer(res, status, body);
      };
      if (req.method !== 'POST' || req.url !== '/oauth2/v1/token') return reply(404, { error: 'not_found' });
      if (idp.mode === 'hang') return; // never answers: the exchange timeout must fire
      const expectedAuth = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
      if (req.headers.authorization !== expectedAuth) return reply(401, { error: 'invalid_client' });
      if (grant === 'refresh_token') {
        const presented = form.get('refresh_token') ?? '';
        if (!idp.refreshTokens.delete(presented)) return reply(400, { error: 'invalid_grant' });
        return reply(200, tokens(true));
      }
      if (grant === 'client_credentials') return reply(200, tokens(false));
      if (grant !== 'authorization_code') return reply(400, { error: 'unsupported_grant_type' });
      const issued = idp.codes.get(form.get('code') ?? '');
      idp.codes.delete(form.get('code') ?? ''); // single use
      if (!issued) return reply(400, { error: 'invalid_grant', error_description: 'unknown or used code' });
      if (form.get('redirect_uri') !== issued.redirectUri) return reply(400, { error: 'invalid_grant' });
      if (!verifier || !/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || s256(verifier) !== issued.challenge) {
        return reply(400, { error: 'invalid_grant', error_description: 'PKCE verification failed' });
      }
      reply(200, tokens(idp.mode !== 'no-refresh'));
    });
  });
  await new Promise<void>((resolve) => idp.server?.listen(0, '127.0.0.1', resolve));
  idp.base = `http://127.0.0.1:${(idp.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  idp.server?.closeAllConnections();
  await new Promise((resolve) => idp.server?.close(resolve));
  await dynamo?.close();
  await rm(stateDir, { recursive: true, force: true });
});

const payload = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)) as unknown as InvokeCommandOutput['Payload'];

/** What Secrets Manager holds for the connection (only the function reads it; the CLI never does). */
let storedSecret: Record<string, unknown>;
const secretSource: SecretSource = {
  async getSecret(id: string): Promise<ConnectionSecret> {
    if (id !== SECRET_ID) throw new Error(`no secret ${id}`);
    return parseConnectionSecret(id, storedSecret, {
      pinned: `${idp.base}/oauth2/v1/token`,
      allowLoopbackHttp: true,
    });
  },
};
/** Every answer the connection-admin function gave: searched for tokens. */
let answers: unknown[];

function adminHandler(exchangeTimeoutMs = 2_000) {
  const logger = new Logger({ serviceName: 'connection-admin', logLevel: 'SILENT' });
  return createConnectionAdminHandler({
    doc: dynamo.doc,
    tableName: dynamo.tables.connections,
    keys,
    secrets: secretSource,
    scheduler: new RecordingScheduler(),
    events: new MemoryEventBus(),
    logger,
    metrics: new Metrics({ namespace: 'Test', serviceName: 'connection-admin', logger }),
    secretIdFor: (id) => `${SECRET_PREFIX}${id}`,
    exchangeTimeoutMs,
  });
}

/** Lambda's Invoke: JSON in, the real connection-admin handler, JSON out (an error as errorType). */
function serveAdmin(exchangeTimeoutMs?: number) {
  const handler = adminHandler(exchangeTimeoutMs);
  lambda
    .on(InvokeCommand, { FunctionName: ADMIN_FUNCTION })
    .callsFake(async (input: { Payload: Uint8Array }) => {
      const event: unknown = JSON.parse(new TextDecoder().decode(input.Payload));
      try {
        const out = await handler(event, lambdaContext());
        answers.push(out);
        return { StatusCode: 200, Payload: payload(out) };
      } catch (err) {
        const e = err as Error;
        return {
          StatusCode: 200,
          FunctionError: 'Unhandled',
          Payload: payload({ errorType: e.name, errorMessage: e.message }),
        };
      }
    });
}

const invocations = () =>
  lambda
    .commandCalls(InvokeCommand)
    .map(
      (c) =>
        JSON.parse(new TextDecoder().decode(c.args[0].input.Payload as Uint8Array)) as Record<
          string,
          unknown
        >,
    );

beforeEach(async () => {
  idp.codes.clear();
  idp.calls = [];
  idp.issued = [];
  idp.mode = 'ok';
  answers = [];
  storedSecret = {
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    scope: 'urn:opc:resource:fusion:hcm',
  };
  // A fresh connection per test: nothing of an earlier test's connect can count for this one.
  await dynamo.doc.send(
    new DeleteCommand({ TableName: dynamo.tables.connections, Key: { connectionId: 'hcm-eu' } }),
  );
  cfn.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'prod',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [
          { OutputKey: 'ConnectionAdminFunctionName', OutputValue: ADMIN_FUNCTION },
          { OutputKey: 'IdpTokenUrl', OutputValue: `${idp.base}/oauth2/v1/token` },
        ],
      },
    ],
  });
  serveAdmin();
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

const connection = () => new ConnectionStore(dynamo.doc, dynamo.tables.connections).get('hcm-eu');

describe('goal-sync connect', () => {
  it('runs the PKCE code flow; the connection-admin function exchanges the code, the broker keeps the token', async () => {
    const b = browser({ probeFavicon: true });
    const h = harness({ openBrowser: b.open });
    expect(await run(argv.slice(0, 4), h.deps)).toBe(0);
    await b.seen.done;
    // The default callback port is fixed, and the redirect URI to register is printed first.
    expect(h.lines).toContain('redirect URI (register it in the IdP app): http://127.0.0.1:8721/callback');

    // The authorize request the browser was sent to: client id and scope from the function's describe.
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
    expect([410, -1]).toContain(b.seen.replayStatus);

    // Two invocations of the connection-admin function: describe, then connect with the code.
    const calls = invocations();
    expect(calls.map((c) => c.action)).toEqual(['describe', 'connect']);
    expect(lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input.FunctionName)).toEqual([
      ADMIN_FUNCTION,
      ADMIN_FUNCTION,
    ]);
    expect(calls[1]).toMatchObject({
      connectionId: 'hcm-eu',
      authorization: { redirectUri: q?.get('redirect_uri') },
    });
    // The code was exchanged once (by the function, with the verifier), then the broker's connect spent
    // the refresh token it got: the connection is active with the tokens in its encrypted store.
    expect(idp.calls.map((c) => [c.grant, c.status])).toEqual([
      ['authorization_code', 200],
      ['refresh_token', 200],
    ]);
    expect(idp.calls[0]?.verifier?.length).toBeGreaterThanOrEqual(43);
    const item = await connection();
    expect(item).toMatchObject({ status: 'active', grant: 'refresh_token', secretId: SECRET_ID });
    expect(item?.refreshToken).toBeDefined();
    // No Secrets Manager call from the CLI (it may neither read nor write the connection secret).
    expect(secrets.calls()).toHaveLength(0);

    // Neither the function's answers nor the CLI's output hold a token, the client secret or the verifier.
    expectNothingSecretIn(JSON.stringify(answers));
    const output = h.all();
    expect(output).toContain('connection hcm-eu connected: status active');
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

  it('rejects a callback whose state does not match, without any exchange or connect', async () => {
    const b = browser({ state: 'forged-state-from-another-site' });
    const h = harness({ openBrowser: b.open });
    expect(await run(argv, h.deps)).toBe(3);
    await b.seen.done;
    expect(b.seen.callbackStatus).toBe(400);
    expect(h.lines.join('\n')).toMatch(/state parameter does not match/);
    expect(idp.calls).toHaveLength(0);
    expect(invocations().map((c) => c.action)).toEqual(['describe']);
  });

  it('the token endpoint refuses a code issued for a different PKCE challenge', async () => {
    const b = browser({ challenge: s256('a-verifier-the-cli-never-had-0123456789abcdef') });
    const h = harness({ openBrowser: b.open });
    expect(await run(argv, h.deps)).toBe(3);
    expect(idp.calls.map((c) => c.status)).toEqual([400]);
    expect(h.lines.join('\n')).toMatch(/code exchange failed with invalid_grant: PKCE verification failed/);
    expect((await connection())?.status).not.toBe('active');
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
    expect(await run([...argv, '--no-browser'], h.deps)).toBe(1);
    expect(h.lines.join('\n')).toMatch(/TransientError: no authorization callback within 150 ms/);
  });

  it('times out a token endpoint that never answers (in the function)', async () => {
    idp.mode = 'hang';
    lambda.reset();
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'prod',
          StackStatus: 'UPDATE_COMPLETE',
          CreationTime: new Date(),
          Outputs: [{ OutputKey: 'ConnectionAdminFunctionName', OutputValue: ADMIN_FUNCTION }],
        },
      ],
    });
    serveAdmin(200);
    const h = harness({ openBrowser: browser().open });
    expect(await run(argv, h.deps)).toBe(1);
    expect(h.lines.join('\n')).toMatch(/token endpoint did not answer within 200 ms/);
    expect((await connection())?.status).not.toBe('active');
  });

  it('explains a token response without a refresh token', async () => {
    idp.mode = 'no-refresh';
    const h = harness({ openBrowser: browser().open });
    expect(await run(argv, h.deps)).toBe(1);
    expect(h.lines.join('\n')).toMatch(/no refresh token: the scope must include offline_access/);
    expectNothingSecretIn(h.all());
  });

  it('a secret naming another token endpoint is refused before anything is sent', async () => {
    storedSecret = { ...storedSecret, tokenUrl: 'https://collector.example/token' };
    const h = harness({ openBrowser: browser().open });
    expect(await run(argv, h.deps)).toBe(1);
    expect(h.lines.join('\n')).toMatch(/tokenUrl differs from the configured token endpoint/);
    expect(idp.calls).toHaveLength(0);
    expect(h.all()).not.toContain('collector.example');
    expect(h.all()).not.toContain(CLIENT_SECRET);
  });

  it('--grant client-credentials connects without a browser: the function has the broker get a first token', async () => {
    const opened: string[] = [];
    const h = harness({ openBrowser: async (url) => Boolean(opened.push(url)) });
    expect(await run([...argv, '--grant', 'client-credentials', '--json'], h.deps)).toBe(0);
    expect(opened).toEqual([]);
    expect(invocations().map((i) => [i.action, i.grant])).toEqual([
      ['describe', undefined],
      ['connect', 'client_credentials'],
    ]);
    expect(idp.calls.map((c) => [c.grant, c.status])).toEqual([['client_credentials', 200]]);
    expect(JSON.parse(h.lines.at(-1)!)).toEqual({
      connectionId: 'hcm-eu',
      secretId: SECRET_ID,
      grant: 'client_credentials',
      status: 'active',
    });
    expect((await connection())?.grant).toBe('client_credentials');
    expectNothingSecretIn(h.all());
  });

  it('--grant with an unknown value is a usage error (exit 2) before any AWS call', async () => {
    const h = harness();
    expect(await run([...argv, '--grant', 'password'], h.deps)).toBe(2);
    expect(h.lines.join('\n')).toMatch(/--grant must be refresh-token, client-credentials or jwt-bearer/);
    expect(invocations()).toEqual([]);
  });

  it('fails clearly on a stack without the connection-admin function', async () => {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'prod', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Outputs: [] }],
    });
    const h = harness();
    expect(await run(argv, h.deps)).toBe(1);
    expect(h.lines.join('\n')).toMatch(/lacks the output\(s\) ConnectionAdminFunctionName/);
  });
});

describe('the connection-admin function', () => {
  it('takes a refresh token obtained elsewhere and answers the state, never a token', async () => {
    const refreshToken = `rt-${randomBytes(24).toString('hex')}`;
    idp.refreshTokens.add(refreshToken);
    const out = await adminHandler()(
      { action: 'connect', connectionId: 'hcm-eu', refreshToken },
      lambdaContext(),
    );
    expect(out).toMatchObject({ connectionId: 'hcm-eu', status: 'active', connection: { status: 'active' } });
    const text = JSON.stringify(out);
    for (const t of [refreshToken, ...idp.issued, CLIENT_SECRET]) expect(text).not.toContain(t);
  });

  it('describe answers the client id and scope, not the client secret', async () => {
    const out = await adminHandler()({ action: 'describe', connectionId: 'hcm-eu' }, lambdaContext());
    expect(out).toEqual({
      connectionId: 'hcm-eu',
      secretId: SECRET_ID,
      clientId: CLIENT_ID,
      scope: 'urn:opc:resource:fusion:hcm',
      tokenUrl: `${idp.base}/oauth2/v1/token`,
    });
  });

  it('refuses a request without a code or a refresh token, naming fields only', async () => {
    await expect(
      adminHandler()({ action: 'connect', connectionId: 'hcm-eu' }, lambdaContext()),
    ).rejects.toThrow(/needs an authorization code or a refresh token/);
    await expect(adminHandler()({ action: 'get', connectionId: 'hcm-eu' }, lambdaContext())).rejects.toThrow(
      /invalid connection admin request \(action\)/,
    );
  });

  it('the token broker Lambda refuses connect (people may not invoke it; connect lives here)', async () => {
    const logger = new Logger({ serviceName: 'token-broker', logLevel: 'SILENT' });
    const broker = createTokenBrokerHandler(
      {
        doc: dynamo.doc,
        tableName: dynamo.tables.connections,
        keys,
        secrets: secretSource,
        scheduler: new RecordingScheduler(),
        events: new MemoryEventBus(),
        logger,
        metrics: new Metrics({ namespace: 'Test', serviceName: 'token-broker', logger }),
      },
      { refuse: ['connect'] },
    );
    await expect(
      broker(
        { action: 'connect', connectionId: 'hcm-eu', secretId: SECRET_ID, grant: 'refresh_token' },
        lambdaContext(),
      ),
    ).rejects.toThrow(/does not serve 'connect'/);
  });
});
