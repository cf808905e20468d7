import { HCM_AUDIENCE } from '../../local/constants.ts';
import { type HcmSim, startHcmSim } from '../../local/hcm/index.ts';
import { type IdpSim, startIdp } from '../../local/idp/index.ts';

/**
 * The IdP and HCM simulators as their own peers on loopback, for tests that run the CLI against them
 * (`--idp-url`/`--hcm-url`): no rate limit and no latency, so a test's timing is the pipeline's own.
 */
export async function startSimPair(): Promise<{ idp: IdpSim; hcm: HcmSim }> {
  const idp = await startIdp({ accessTokenTtlSeconds: 300 });
  const hcm = await startHcmSim({
    jwksUrl: idp.jwksUrl,
    issuer: idp.issuer,
    audience: HCM_AUDIENCE,
    faults: { rateLimitPerSecond: 0, latencyMs: 0, jitterMs: 0 },
  });
  return { idp, hcm };
}
