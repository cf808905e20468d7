import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type IdpSim, startIdp } from '../../local/idp/index.ts';
import { refreshGrant } from '../support/idp-client.ts';

let stateDir: string;
const running: IdpSim[] = [];

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'idp-state-'));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((idp) => idp.close()));
  await rm(stateDir, { recursive: true, force: true });
});

async function start(): Promise<IdpSim> {
  const idp = await startIdp({ stateDir, accessTokenTtlSeconds: 20 });
  running.push(idp);
  return idp;
}

describe('IdP simulator: stateDir persistence', () => {
  it('a second process on the same state dir accepts the refresh tokens the first one issued', async () => {
    const first = await start();
    const client = first.clients[0]!;
    const { refreshToken } = await first.issueRefreshToken({ clientId: client.clientId });
    const rotated = await refreshGrant(first.tokenUrl, client, refreshToken);
    expect(rotated.status).toBe(200);
    const untouched = await first.issueRefreshToken({ clientId: client.clientId, subject: 'carol' });
    await first.close();

    const second = await start();
    expect(second.clients[0]).toEqual(client);
    const next = await refreshGrant(second.tokenUrl, client, rotated.body.refresh_token as string);
    expect(next.status).toBe(200);
    expect((await refreshGrant(second.tokenUrl, client, untouched.refreshToken)).status).toBe(200);
    // Signed with the same key, published by the new process.
    const jwks = createRemoteJWKSet(new URL(second.jwksUrl));
    const { payload } = await jwtVerify(rotated.body.access_token as string, jwks);
    expect(payload.client_id).toBe(client.clientId);
  });

  it('works across real OS processes', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['bin/run-ts.js', 'test/support/idp-child.ts', stateDir],
      { timeout: 30_000 },
    );
    const child = JSON.parse(stdout) as { consumed: string; current: string; clientId: string };
    expect(child.current).toEqual(expect.any(String));

    const idp = await start();
    const client = idp.clients.find((c) => c.clientId === child.clientId)!;
    const next = await refreshGrant(idp.tokenUrl, client, child.current);
    expect(next.status).toBe(200);
    expect((await refreshGrant(idp.tokenUrl, client, child.consumed)).body.error).toBe('invalid_grant');
    expect(idp.stats().reuseDetections).toBe(1);
  });

  it('remembers consumed refresh tokens: replaying one in the next process is detected and revokes the grant', async () => {
    const first = await start();
    const client = first.clients[0]!;
    const { refreshToken } = await first.issueRefreshToken({ clientId: client.clientId });
    const rotated = await refreshGrant(first.tokenUrl, client, refreshToken);
    await first.close();

    const second = await start();
    expect((await refreshGrant(second.tokenUrl, client, refreshToken)).body.error).toBe('invalid_grant');
    expect(
      (await refreshGrant(second.tokenUrl, client, rotated.body.refresh_token as string)).body.error,
    ).toBe('invalid_grant');
    expect(second.stats()).toMatchObject({ reuseDetections: 1, revocations: 1 });
  });

  it('remembers revocations and keeps its files private', async () => {
    const first = await start();
    const client = first.clients[0]!;
    const { refreshToken, grantId } = await first.issueRefreshToken({ clientId: client.clientId });
    await first.revokeGrant(grantId);
    await first.close();

    const second = await start();
    expect((await refreshGrant(second.tokenUrl, client, refreshToken)).body.error).toBe('invalid_grant');
    for (const file of ['idp-keys.json', 'idp-grants.jsonl']) {
      expect((await stat(join(stateDir, file))).mode & 0o077).toBe(0);
    }
    // Compacted on open: the revoked grant left nothing behind.
    expect(await readFile(join(stateDir, 'idp-grants.jsonl'), 'utf8')).not.toContain(grantId);
  });

  it('without a state dir every start has fresh keys and secrets', async () => {
    const a = await startIdp();
    const b = await startIdp();
    running.push(a, b);
    expect(a.clients[0]!.clientSecret).not.toBe(b.clients[0]!.clientSecret);
    const keysOf = async (idp: IdpSim) =>
      ((await (await fetch(idp.jwksUrl)).json()) as { keys: { kid: string }[] }).keys;
    expect((await keysOf(a))[0]!.kid).not.toBe((await keysOf(b))[0]!.kid);
  });
});
