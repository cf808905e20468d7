import { HCM_AUDIENCE } from '../local/constants.ts';
import { type HcmSim, type HcmStats, startHcmSim } from '../local/hcm/index.ts';
import { type IdpSim, type IdpStats, startIdp } from '../local/idp/index.ts';

/**
 * The outside peers of one bench run, hosted by the bench process itself. The pipeline under test
 * runs in a child process and reaches them over HTTP (`--idp-url/--hcm-url`): the peers outlive a
 * crashed child (they are remote systems), their counters are read here directly, and the child's
 * peak RSS is the pipeline's alone.
 */
export interface BenchPeers {
  idp: IdpSim;
  hcm: HcmSim;
  /** Arguments that point `goal-sync local` at these peers. */
  args: string[];
  snapshot(): PeerSnapshot;
  close(): Promise<void>;
}

export interface PeerSnapshot {
  idp: IdpStats;
  hcm: HcmStats;
}

export async function startBenchPeers(o: { tokenTtlSeconds: number; seed: number }): Promise<BenchPeers> {
  // IDCS "Oracle Apps" token rate (40/s, the simulator's default) stays on: a refresh herd would meet it.
  const idp = await startIdp({ accessTokenTtlSeconds: o.tokenTtlSeconds });
  try {
    const hcm = await startHcmSim({
      jwksUrl: idp.jwksUrl,
      issuer: idp.issuer,
      audience: HCM_AUDIENCE,
      seed: o.seed,
    });
    return {
      idp,
      hcm,
      args: ['--idp-url', idp.url, '--hcm-url', hcm.url],
      snapshot: () => ({ idp: idp.stats(), hcm: hcm.stats() }),
      close: async () => {
        await hcm.close();
        await idp.close();
      },
    };
  } catch (err) {
    await idp.close();
    throw err;
  }
}
