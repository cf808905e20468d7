import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HCM_AUDIENCE } from '../../constants.ts';
import { startHcmSim } from '../../hcm/index.ts';
import { startIdp } from '../../idp/index.ts';

export const usage = `goal-sync sim [--idp-port P] [--hcm-port P] [--token-ttl S] [--rate-limit R] [--state-dir DIR]
  Starts the IdP (oidc-provider, IDCS paths) and the Oracle HCM goals simulator on 127.0.0.1 until Ctrl-C.
  Then: goal-sync local --idp-url <IdP URL> --hcm-url <HCM URL>`;

function port(raw: string | undefined, name: string): number {
  const value = raw === undefined ? 0 : Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new Error(`--${name} must be a port number`);
  return value;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'idp-port': { type: 'string' },
      'hcm-port': { type: 'string' },
      'token-ttl': { type: 'string' },
      'rate-limit': { type: 'string' },
      'state-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const ttl = Number(values['token-ttl'] ?? 3600);
  const rateLimit = Number(values['rate-limit'] ?? 50);
  if (!Number.isInteger(ttl) || ttl < 2) throw new Error('--token-ttl must be an integer >= 2');
  const stateDir = values['state-dir'];
  const idp = await startIdp({
    port: port(values['idp-port'], 'idp-port'),
    accessTokenTtlSeconds: ttl,
    stateDir: stateDir ? join(stateDir, 'idp') : undefined,
  });
  const hcm = await startHcmSim({
    port: port(values['hcm-port'], 'hcm-port'),
    jwksUrl: idp.jwksUrl,
    issuer: idp.issuer,
    audience: HCM_AUDIENCE,
    stateDir: stateDir ? join(stateDir, 'hcm') : undefined,
    faults: { rateLimitPerSecond: rateLimit },
  });
  const client = idp.clients[0]!;
  const { refreshToken } = await idp.issueRefreshToken({ clientId: client.clientId });
  // These are throwaway credentials of a local simulator, printed on purpose so a developer can use them.
  console.log(`IdP (IDCS stand-in)   ${idp.url}
  token endpoint       ${idp.tokenUrl}
  JWKS                 ${idp.jwksUrl}
  client id / secret   ${client.clientId} / ${client.clientSecret}
  refresh token        ${refreshToken}
  stats / faults       ${idp.url}/__sim/stats   POST ${idp.url}/__sim/faults
HCM goals simulator    ${hcm.url}
  REST root            ${hcm.restRoot}
  stats / faults       ${hcm.url}/__sim/stats   POST ${hcm.url}/__sim/faults
Connection id          oracle-hcm   (token TTL ${ttl} s, HCM rate limit ${rateLimit} req/s)

Run a sync against them:  goal-sync local --idp-url ${idp.url} --hcm-url ${hcm.url}
Ctrl-C stops both.`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await hcm.close();
  await idp.close();
  return 0;
}
