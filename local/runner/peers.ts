import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { HCM_AUDIENCE } from '../constants.ts';
import {
  fetchHcmStats,
  fetchHcmTimeline,
  type HcmFaults,
  type HcmStats,
  type HcmTimeline,
  postHcmFaults,
  startHcmSim,
} from '../hcm/index.ts';
import {
  DEFAULT_SUBJECT,
  fetchIdpClients,
  fetchIdpStats,
  fetchIdpTimeline,
  type IdpFaults,
  type IdpStats,
  type IdpTimeline,
  issueIdpRefreshToken,
  postIdpFaults,
  revokeIdpGrants,
  startIdp,
} from '../idp/index.ts';

/**
 * The two outside peers as the runner needs them, whether started in this process or reached over
 * HTTP (`goal-sync sim` in another terminal). Counts always come from the peers themselves.
 */
export interface IdpPeer {
  url: string;
  tokenUrl: string;
  /** privateJwk signs jwt-bearer assertions (`--grant jwt-bearer`), sent with kid = certificateAlias. */
  client: { clientId: string; clientSecret: string; privateJwk?: JWK; certificateAlias?: string };
  /** The Fusion user the IdP knows: what a jwt-bearer assertion names as `sub`. */
  user: string;
  stats(): Promise<IdpStats>;
  /** Issued tokens and answers over time (--report-html). */
  timeline(): Promise<IdpTimeline>;
  setFaults(f: Partial<IdpFaults>): Promise<void>;
  issueRefreshToken(): Promise<string>;
  revokeAll(): Promise<void>;
  close(): Promise<void>;
}

export interface HcmPeer {
  url: string;
  stats(): Promise<HcmStats>;
  /** Requests and writes per second (--report-html). */
  timeline(): Promise<HcmTimeline>;
  setFaults(f: Partial<HcmFaults>): Promise<void>;
  /** Makes the simulator's committed goals durable (it is a remote system: our crash is not its crash). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export async function startPeers(o: {
  stateDir?: string;
  tokenTtlSeconds: number;
  seed: number;
  idpUrl?: string;
  hcmUrl?: string;
}): Promise<{ idp: IdpPeer; hcm: HcmPeer }> {
  if (o.idpUrl && o.hcmUrl) return { idp: await remoteIdp(o.idpUrl), hcm: remoteHcm(o.hcmUrl) };
  const ports = o.stateDir ? await loadPorts(o.stateDir) : {};
  const idp = await startIdp({
    port: ports.idp,
    accessTokenTtlSeconds: o.tokenTtlSeconds,
    stateDir: o.stateDir ? join(o.stateDir, 'idp') : undefined,
  });
  const client = idp.clients[0]!;
  const hcm = await startHcmSim({
    jwksUrl: idp.jwksUrl,
    issuer: idp.issuer,
    audience: HCM_AUDIENCE,
    seed: o.seed,
    stateDir: o.stateDir ? join(o.stateDir, 'hcm') : undefined,
    port: ports.hcm,
  });
  if (o.stateDir)
    await savePorts(o.stateDir, { idp: Number(new URL(idp.url).port), hcm: Number(new URL(hcm.url).port) });
  return {
    idp: {
      url: idp.url,
      tokenUrl: idp.tokenUrl,
      client,
      user: DEFAULT_SUBJECT,
      stats: async () => idp.stats(),
      timeline: async () => idp.timeline(),
      setFaults: async (f) => void idp.setFaults(f),
      issueRefreshToken: async () =>
        (await idp.issueRefreshToken({ clientId: client.clientId })).refreshToken,
      revokeAll: async () => void (await idp.revokeClientGrants(client.clientId)),
      close: () => idp.close(),
    },
    hcm: {
      url: hcm.url,
      stats: async () => hcm.stats(),
      timeline: async () => hcm.timeline(),
      setFaults: async (f) => void hcm.setFaults(f),
      flush: () => hcm.flush(),
      close: () => hcm.close(),
    },
  };
}

/** An IdP simulator another process runs (`goal-sync sim`), reached over HTTP. */
export async function remoteIdp(url: string): Promise<IdpPeer> {
  const clients = await fetchIdpClients(url);
  const client = clients.find((c) => c.clientSecret) ?? clients[0];
  if (!client) throw new Error(`the IdP at ${url} has no clients`);
  return {
    url,
    tokenUrl: new URL('/oauth2/v1/token', url).href,
    client,
    // The simulator's default user: `goal-sync sim` starts it with no other.
    user: DEFAULT_SUBJECT,
    stats: () => fetchIdpStats(url),
    timeline: () => fetchIdpTimeline(url),
    setFaults: async (f) => void (await postIdpFaults(url, f)),
    issueRefreshToken: async () =>
      (await issueIdpRefreshToken(url, { clientId: client.clientId })).refreshToken,
    revokeAll: async () => void (await revokeIdpGrants(url, { clientId: client.clientId })),
    close: async () => undefined,
  };
}

function remoteHcm(url: string): HcmPeer {
  return {
    url,
    stats: () => fetchHcmStats(url),
    timeline: () => fetchHcmTimeline(url),
    setFaults: async (f) => void (await postHcmFaults(url, f)),
    flush: async () => undefined,
    close: async () => undefined,
  };
}

const PORTS_FILE = 'peers.json';

/**
 * A resumed run must find the IdP at the same address: the issuer (and the token URL stored in the
 * connection's secret) includes the port, so a persisted state dir keeps its ports.
 */
async function loadPorts(stateDir: string): Promise<{ idp?: number; hcm?: number }> {
  try {
    return JSON.parse(await readFile(join(stateDir, PORTS_FILE), 'utf8')) as { idp?: number; hcm?: number };
  } catch {
    return {};
  }
}

async function savePorts(stateDir: string, ports: { idp: number; hcm: number }): Promise<void> {
  await writeFile(join(stateDir, PORTS_FILE), `${JSON.stringify(ports)}\n`);
}
