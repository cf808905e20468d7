// The fleet bench's dynalite in a process of its own: its CPU work (queries of the due index, scans)
// must not stall the brokers' event loop between a rate slot and the request it admits.
//   forked by bench/fleet.ts: run-ts bench/fleet-dynamo.ts
import { createProjectTables, startDynalite } from '../local/adapters/dynalite.ts';

const dynamo = await startDynalite();
const tables = await createProjectTables(dynamo.client);
process.on('message', async (msg: { type: string }) => {
  if (msg.type === 'close') {
    await dynamo.close();
    process.exit(0);
  }
});
process.send?.({ type: 'ready', endpoint: dynamo.endpoint, tables });
