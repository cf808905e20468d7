import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerSecretSource } from '../../lambdas/core/adapters/aws/secrets-source.ts';
import { ConfigError, TransientError } from '../../lambdas/core/errors.ts';
import { FileSecretSource } from '../../local/adapters/file-secret-source.ts';

const sm = mockClient(SecretsManagerClient);
const secretJson = (clientSecret: string) =>
  JSON.stringify({
    tokenUrl: 'https://idcs.example.com/oauth2/v1/token',
    clientId: 'goal-sync',
    clientSecret,
  });

describe('SecretsManagerSecretSource cache', () => {
  let now: number;
  const clock = { now: () => now };
  beforeEach(() => {
    sm.reset();
    now = 1_000_000;
  });
  const source = (ttlMs?: number) =>
    new SecretsManagerSecretSource(new SecretsManagerClient({ region: 'us-east-1', maxAttempts: 1 }), {
      clock,
      ttlMs,
    });

  it('serves from cache within the TTL and refetches after it (5 min default, never forever)', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: secretJson('first') })
      .resolves({ SecretString: secretJson('second') });
    const s = source();
    expect((await s.getSecret('conn/a')).clientSecret).toBe('first');
    now += 4 * 60_000;
    expect((await s.getSecret('conn/a')).clientSecret).toBe('first');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    now += 61_000;
    expect((await s.getSecret('conn/a')).clientSecret).toBe('second');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(sm.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: 'conn/a' });
  });

  it('honours a custom TTL and bypassCache', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: secretJson('x') });
    const s = source(1_000);
    await s.getSecret('conn/a');
    await s.getSecret('conn/a', { bypassCache: true });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    now += 1_001;
    await s.getSecret('conn/a');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  it('shares one GetSecretValue among concurrent misses', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: secretJson('x') });
    const s = source();
    await Promise.all(Array.from({ length: 10 }, () => s.getSecret('conn/a')));
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('maps a missing secret to ConfigError and throttling to TransientError', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'missing' }).rejects(
      new ResourceNotFoundException({ message: 'no', $metadata: {} }),
    );
    sm.on(GetSecretValueCommand, { SecretId: 'busy' }).rejects(
      Object.assign(new Error('rate'), { name: 'ThrottlingException' }),
    );
    const s = source();
    await expect(s.getSecret('missing')).rejects.toBeInstanceOf(ConfigError);
    await expect(s.getSecret('busy')).rejects.toBeInstanceOf(TransientError);
  });

  it('rejects an invalid secret naming fields, never values', async () => {
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ tokenUrl: 'not a url', clientSecret: 'hunter2-very-secret' }),
    });
    const err = (await source()
      .getSecret('bad')
      .catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain('tokenUrl');
    expect(err.message).toContain('clientId');
    expect(err.message).not.toContain('hunter2');
  });
});

describe('FileSecretSource', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secrets-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a 0600 JSON map and reads secrets back (no cache: edits show at once)', async () => {
    const source = FileSecretSource.inStateDir(dir);
    await source.putSecret('conn/a', {
      tokenUrl: 'http://127.0.0.1:1/oauth2/v1/token',
      clientId: 'a',
      clientSecret: 'one',
    });
    await Promise.all([
      source.putSecret('conn/b', { tokenUrl: 'http://127.0.0.1:1/t', clientId: 'b', clientSecret: 'two' }),
      source.putSecret('conn/c', { tokenUrl: 'http://127.0.0.1:1/t', clientId: 'c', clientSecret: 'three' }),
    ]);
    expect((await stat(source.file)).mode & 0o777).toBe(0o600);
    expect((await source.getSecret('conn/a')).clientSecret).toBe('one');
    expect((await source.getSecret('conn/c')).clientId).toBe('c');
    await source.putSecret('conn/a', {
      tokenUrl: 'http://127.0.0.1:1/t',
      clientId: 'a',
      clientSecret: 'rotated',
    });
    expect((await source.getSecret('conn/a')).clientSecret).toBe('rotated');
    expect((await source.getSecret('conn/b')).clientSecret).toBe('two');
  });

  it('reports a missing secret or a broken file as ConfigError', async () => {
    const source = new FileSecretSource(join(dir, 'none.json'));
    await expect(source.getSecret('x')).rejects.toBeInstanceOf(ConfigError);
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{nope', { mode: 0o600 });
    await expect(new FileSecretSource(broken).getSecret('x')).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('the token endpoint is pinned by configuration, not by the secret (issue 27)', () => {
  const PINNED = 'https://idcs-0123.identity.oraclecloud.com/oauth2/v1/token';
  const pinnedSource = () =>
    new SecretsManagerSecretSource(new SecretsManagerClient({ region: 'us-east-1', maxAttempts: 1 }), {
      tokenUrl: { pinned: PINNED },
    });
  const put = (secret: Record<string, unknown>) =>
    sm
      .reset()
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify(secret) });

  it('a secret without tokenUrl gets the pinned one; the same one is accepted', async () => {
    put({ clientId: 'goal-sync', clientSecret: 's' });
    expect((await pinnedSource().getSecret('c/a')).tokenUrl).toBe(PINNED);
    put({ tokenUrl: PINNED, clientId: 'goal-sync', clientSecret: 's' });
    expect((await pinnedSource().getSecret('c/a')).tokenUrl).toBe(PINNED);
  });

  it('a secret naming another token endpoint is refused, without echoing it', async () => {
    put({ tokenUrl: 'https://attacker.example/collect?x=1', clientId: 'goal-sync', clientSecret: 's' });
    const err = (await pinnedSource()
      .getSecret('c/a')
      .catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/tokenUrl differs from the configured token endpoint/);
    expect(err.message).not.toContain('attacker');
  });

  it('http:// is refused, except to a loopback host where allowed (the embedded default)', async () => {
    put({ tokenUrl: 'http://idcs.example.com/oauth2/v1/token', clientId: 'goal-sync', clientSecret: 's' });
    const plain = new SecretsManagerSecretSource(
      new SecretsManagerClient({ region: 'us-east-1', maxAttempts: 1 }),
    );
    await expect(plain.getSecret('c/b')).rejects.toThrow(/tokenUrl must be https/);
    const http = new SecretsManagerSecretSource(
      new SecretsManagerClient({ region: 'us-east-1', maxAttempts: 1 }),
      { tokenUrl: { pinned: 'http://127.0.0.1:9000/token' } },
    );
    put({ clientId: 'goal-sync', clientSecret: 's' });
    await expect(http.getSecret('c/c')).rejects.toThrow(/tokenUrl must be https/);
    const local = new SecretsManagerSecretSource(
      new SecretsManagerClient({ region: 'us-east-1', maxAttempts: 1 }),
      { tokenUrl: { pinned: 'http://127.0.0.1:9000/token', allowLoopbackHttp: true } },
    );
    expect((await local.getSecret('c/d')).tokenUrl).toBe('http://127.0.0.1:9000/token');
    const notLoopback = new SecretsManagerSecretSource(
      new SecretsManagerClient({ region: 'us-east-1', maxAttempts: 1 }),
      { tokenUrl: { pinned: 'http://10.0.0.1/token', allowLoopbackHttp: true } },
    );
    await expect(notLoopback.getSecret('c/e')).rejects.toThrow(/tokenUrl must be https/);
  });

  it('without a pin, a secret still needs its own tokenUrl', async () => {
    put({ clientId: 'goal-sync', clientSecret: 's' });
    const plain = new SecretsManagerSecretSource(
      new SecretsManagerClient({ region: 'us-east-1', maxAttempts: 1 }),
    );
    await expect(plain.getSecret('c/f')).rejects.toThrow(/fields: tokenUrl/);
  });
});
