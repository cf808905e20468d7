import { join } from 'node:path';
import { HCM_AUDIENCE } from '../../local/constants.ts';
import { startHcmSim } from '../../local/hcm/index.ts';
import { startIdp } from '../../local/idp/index.ts';
import { ArgsError, parseCli, usageLine } from '../args.ts';

export const usage = `goal-sync sim [--idp-port P] [--hcm-port P] [--token-ttl S] [--rate-limit R] [--state-dir DIR] [--json]
  Starts the IdP (oidc-provider, IDCS paths) and the Oracle HCM goals simulator on 127.0.0.1 until Ctrl-C.
  Then: goal-sync local --idp-url <IdP URL> --hcm-url <HCM URL>

  --idp-port P / --hcm-port P   ports (default: free ones)
  --token-ttl S        access token lifetime in seconds (default 3600)
  --rate-limit R       HCM requests per second per client (default 50)
  --state-dir DIR      keep keys, grants and goals under DIR (every acknowledged write is saved at once)
  --json               print the endpoints as JSON (one line) instead of the table
  -h, --help           this help

examples:
  goal-sync sim --token-ttl 30
  goal-sync sim --state-dir ./sim --json

exit codes: 0 stopped with Ctrl-C, 2 bad arguments`;

function port(raw: string | undefined, name: string): number {
  const value = raw === undefined ? 0 : Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    throw new ArgsError(`--${name} must be a port number`);
  return value;
}

const OPTIONS = {
  'idp-port': { type: 'string' },
  'hcm-port': { type: 'string' },
  'token-ttl': { type: 'string' },
  'rate-limit': { type: 'string' },
  'state-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function run(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parseCli<typeof OPTIONS>>['values'];
  let ttl: number;
  let rateLimit: number;
  let ports: { idp: number; hcm: number };
  try {
    ({ values } = parseCli(argv, OPTIONS));
    if (values.help) {
      console.log(usage);
      return 0;
    }
    ttl = Number(values['token-ttl'] ?? 3600);
    rateLimit = Number(values['rate-limit'] ?? 50);
    if (!Number.isInteger(ttl) || ttl < 2) throw new ArgsError('--token-ttl must be an integer >= 2');
    if (!Number.isInteger(rateLimit) || rateLimit < 0)
      throw new ArgsError('--rate-limit must be an integer >= 0');
    ports = { idp: port(values['idp-port'], 'idp-port'), hcm: port(values['hcm-port'], 'hcm-port') };
  } catch (err) {
    if (!(err instanceof ArgsError)) throw err;
    console.error(usageLine('sim', err.message));
    return 2;
  }
  const stateDir = values['state-dir'];
  const idp = await startIdp({
    port: ports.idp,
    accessTokenTtlSeconds: ttl,
    stateDir: stateDir ? join(stateDir, 'idp') : undefined,
  });
  const hcm = await startHcmSim({
    port: ports.hcm,
    jwksUrl: idp.jwksUrl,
    issuer: idp.issuer,
    audience: HCM_AUDIENCE,
    stateDir: stateDir ? join(stateDir, 'hcm') : undefined,
    faults: { rateLimitPerSecond: rateLimit },
  });
  const client = idp.clients[0]!;
  const { refreshToken } = await idp.issueRefreshToken({ clientId: client.clientId });
  // These are throwaway credentials of a local simulator, printed on purpose so a developer can use them.
  if (values.json) {
    console.log(
      JSON.stringify({
        idp: {
          url: idp.url,
          tokenUrl: idp.tokenUrl,
          jwksUrl: idp.jwksUrl,
          clientId: client.clientId,
          clientSecret: client.clientSecret,
          refreshToken,
        },
        hcm: { url: hcm.url, restRoot: hcm.restRoot },
        connectionId: 'oracle-hcm',
        tokenTtlSeconds: ttl,
        rateLimitPerSecond: rateLimit,
      }),
    );
  } else
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
