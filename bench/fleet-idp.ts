// The fleet bench's IdP in a process of its own: its arrival times are not delayed by the brokers' and
// dynalite's work in the bench process. Talks to the bench over the fork IPC channel.
//   forked by bench/fleet.ts: run-ts bench/fleet-idp.ts <accessTokenTtlSeconds> <rateLimitPerSecond>
import { startIdp } from '../local/idp/index.ts';

const [ttl, limit] = process.argv.slice(2).map(Number);
// Per second only, as before the simulator had a minute: the bench measures the shared token-endpoint
// rate against the per-second limit it is given (the broker's default 15/s is 900/min, under IDCS's 1,000).
const idp = await startIdp({ accessTokenTtlSeconds: ttl, rateLimitPerSecond: limit, rateLimitPerMinute: 0 });
const client = idp.clients[0]!;
process.on('message', async (msg: { type: string }) => {
  if (msg.type === 'reset') {
    idp.resetStats();
    process.send?.({ type: 'reset' });
  } else if (msg.type === 'stats') {
    process.send?.({ type: 'stats', stats: idp.stats(), times: idp.tokenRequestTimes() });
  } else if (msg.type === 'close') {
    await idp.close();
    process.exit(0);
  }
});
// Throwaway credentials of a local simulator, handed to the parent only.
process.send?.({
  type: 'ready',
  tokenUrl: idp.tokenUrl,
  clientId: client.clientId,
  clientSecret: client.clientSecret,
});
