// The peers of one bench run (IdP, HCM simulator, dynalite) in a process of their own, so the
// pipeline child's peak RSS is the pipeline's alone (the simulators hold every goal and checkpoint)
// and neither competes with the other's event loop. Talks to the bench over the fork IPC channel.
//   forked by bench/peer-snapshots.ts: run-ts bench/peer-process.ts <tokenTtlSeconds> <seed>
import { createProjectTables, startDynalite } from '../local/adapters/dynalite.ts';
import { HCM_AUDIENCE } from '../local/constants.ts';
import { startHcmSim } from '../local/hcm/index.ts';
import { startIdp } from '../local/idp/index.ts';
import type { PeerMessage, PeerRequest } from './peer-snapshots.ts';

const [ttl, seed] = process.argv.slice(2).map(Number);
const send = (m: PeerMessage) => process.send?.(m);

const idp = await startIdp({ accessTokenTtlSeconds: ttl });
const hcm = await startHcmSim({ jwksUrl: idp.jwksUrl, issuer: idp.issuer, audience: HCM_AUDIENCE, seed });
const dynamo = await startDynalite();
await createProjectTables(dynamo.client);

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

process.on('message', async (m: PeerRequest) => {
  if (m.type === 'snapshot') {
    send({ type: 'snapshot', snapshot: { idp: idp.stats(), hcm: hcm.stats() }, peakRssMb: peakRssMb() });
  } else if (m.type === 'goals') {
    // Only what the bench judges by (the natural key): 200k whole goals would be ~100 MB of IPC.
    const keys = hcm
      .goals()
      .map((g) => ({ PersonNumber: g.PersonNumber, GoalPlanId: g.GoalPlanId, GoalName: g.GoalName }));
    send({ type: 'goals', goals: keys });
  } else if (m.type === 'timeline') {
    send({ type: 'timeline', idp: idp.timeline(), hcm: hcm.timeline() });
  } else if (m.type === 'close') {
    await hcm.close();
    await idp.close();
    await dynamo.close();
    process.exit(0);
  }
});
// The parent going away (a killed bench) must not leave simulators running.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', idpUrl: idp.url, hcmUrl: hcm.url, dynamoUrl: dynamo.endpoint });
