// Run as a separate process (node bin/run-ts.js test/support/idp-child.ts STATE_DIR): starts the IdP
// simulator on STATE_DIR, mints a refresh token, rotates it once, prints what it got and exits.
import { startIdp } from '../../local/idp/index.ts';

const stateDir = process.argv[2];
if (!stateDir) throw new Error('usage: idp-child.ts STATE_DIR');
const idp = await startIdp({ stateDir });
const client = idp.clients[0]!;
const { refreshToken } = await idp.issueRefreshToken({ clientId: client.clientId });
const basic = Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64');
const res = await fetch(idp.tokenUrl, {
  method: 'POST',
  headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
});
const body = (await res.json()) as { refresh_token?: string };
await idp.close();
process.stdout.write(
  JSON.stringify({ consumed: refreshToken, current: body.refresh_token, clientId: client.clientId }),
);
