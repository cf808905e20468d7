import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvelopeCipher } from '#core/crypto/index.ts';
import { encryptionContext } from '#core/token/index.ts';
import { ReauthRequiredError } from '../../lambdas/core/errors.ts';
import { createLocalTokenBroker, type LocalTokenBroker } from '../../local/adapters/in-process-broker.ts';
import { HCM_AUDIENCE } from '../../local/constants.ts';
import { type BrokerFixture, startBrokerFixture } from './broker-fixture.ts';

/**
 * Invariant 6: runs the token flows through the real handler with Powertools logging at DEBUG and EMF
 * metrics on, captures everything written to stdout/stderr, and looks for any full secret in it.
 */
let fx: BrokerFixture;
let local: LocalTokenBroker;
const captured: string[] = [];
const secrets = new Set<string>();
let restore: () => void;

beforeAll(async () => {
  fx = await startBrokerFixture();
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'HcmGoalSync';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  // Swallowed, not echoed: DEBUG logs of every flow would bury the test report.
  const tap = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  };
  process.stdout.write = tap as typeof process.stdout.write;
  process.stderr.write = tap as typeof process.stderr.write;
  restore = () => {
    process.stdout.write = out;
    process.stderr.write = err;
  };
  local = await createLocalTokenBroker({
    doc: fx.dynamo.doc,
    tableName: fx.dynamo.tables.connections,
    stateDir: fx.stateDir,
    options: { pollStartMs: 20 },
  });
});

afterAll(async () => {
  restore?.();
  local?.close();
  await fx?.close();
});

async function connect(connectionId: string): Promise<string> {
  const client = fx.idp.clients[0]!;
  const { refreshToken, grantId } = await fx.idp.issueRefreshToken({ clientId: client.clientId });
  secrets.add(refreshToken).add(client.clientSecret);
  await fx.secrets.putSecret(`secret/${connectionId}`, {
    tokenUrl: fx.idp.tokenUrl,
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    bootstrapRefreshToken: refreshToken,
  });
  await local.transport.call({
    action: 'connect',
    connectionId,
    secretId: `secret/${connectionId}`,
    grant: 'refresh_token',
  });
  return grantId;
}

/** The rotated refresh token lives only encrypted in DynamoDB: decrypt it to know what to look for. */
async function collectStoredRefreshToken(connectionId: string): Promise<void> {
  const item = await fx.item(connectionId);
  if (typeof item.refreshToken === 'string') {
    secrets.add(
      await new EnvelopeCipher(local.keys).decrypt(
        item.refreshToken,
        encryptionContext(connectionId, 'refresh'),
      ),
    );
  }
  if (typeof item.accessToken === 'string') secrets.add(item.accessToken); // envelopes stay out of logs too
}

describe('invariant 6: no full token in any log line', () => {
  it('captures all logger and metrics output of the token flows and finds no secret in it', async () => {
    const provider = local.tokenProvider();
    const grantA = await connect('logs-a');
    await collectStoredRefreshToken('logs-a');
    for (let i = 0; i < 5; i++) {
      const token = await provider.getToken('logs-a', {
        minVersion: (await provider.getToken('logs-a')).version + 1,
      });
      secrets.add(token.accessToken);
      await collectStoredRefreshToken('logs-a');
    }
    const herd = await Promise.all(
      Array.from({ length: 10 }, () => local.tokenProvider().getToken('logs-a')),
    );
    for (const t of herd) secrets.add(t.accessToken);
    // Fatal flows log the IdP's error bodies: they must come out masked too.
    await fx.idp.revokeGrant(grantA);
    await expect(provider.getToken('logs-a', { minVersion: herd[0]!.version + 1 })).rejects.toBeInstanceOf(
      ReauthRequiredError,
    );
    await connect('logs-b');
    fx.idp.setFaults({ dropAfterIssueRate: 1 });
    await expect(local.transport.call({ action: 'refresh', connectionId: 'logs-b' })).rejects.toBeInstanceOf(
      ReauthRequiredError,
    );
    fx.idp.setFaults({ dropAfterIssueRate: 0 });
    await fx.secrets.putSecret('secret/logs-cc', {
      tokenUrl: fx.idp.tokenUrl,
      clientId: fx.idp.clients[0]!.clientId,
      clientSecret: fx.idp.clients[0]!.clientSecret,
      scope: HCM_AUDIENCE,
    });
    await local.transport.call({
      action: 'connect',
      connectionId: 'logs-cc',
      secretId: 'secret/logs-cc',
      grant: 'client_credentials',
    });
    secrets.add((await provider.getToken('logs-cc')).accessToken);
    await local.transport.call({ action: 'status' });
    await local.transport.call({ action: 'sweep' });

    const output = captured.join('');
    // The capture really saw the broker's logs and metrics (else the check below proves nothing).
    expect(output).toContain('"message":"token refreshed"');
    expect(output).toContain('connection needs re-authentication');
    expect(output).toContain('token response lost');
    expect(output).toContain('TokenRefreshed');
    expect(secrets.size).toBeGreaterThan(15);
    const leaked = [...secrets].filter((s) => output.includes(s));
    expect(leaked).toEqual([]);
    // Not even a long prefix of one: masked forms show 4 + 3 characters at most.
    const prefixes = [...secrets].filter((s) => s.length > 24 && output.includes(s.slice(0, 16)));
    expect(prefixes).toEqual([]);
    expect(fx.idp.stats().reuseDetections).toBe(0);
  });
});
