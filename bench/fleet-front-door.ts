// The fleet bench's measuring point: an HTTP pass-through in front of the IdP, in a process of its own
// that does nothing else, so the time it stamps on a request is when the request reached the IdP's host,
// not when the IdP's event loop (busy signing tokens, or starved of CPU by the brokers and dynalite)
// got round to it. It holds no token state: it forwards bytes and records the arrival of each POST.
//   forked by bench/fleet.ts: run-ts bench/fleet-front-door.ts <target origin>
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setPriority } from 'node:os';

const target = new URL(process.argv[2]!);
const arrivals: number[] = [];
const agent = new Agent({ keepAlive: true });
const server = createServer((req, res) => {
  if (req.method === 'POST') arrivals.push(Date.now());
  const upstream = request(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent,
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
});
server.keepAliveTimeout = 30_000;
// The instrument gets the CPU first when the bench's three other processes compete for two cores;
// raising a priority needs root, and without it the stamps are only as good as the scheduler allows.
try {
  setPriority(-10);
} catch {
  process.stderr.write('[front-door] could not raise its priority; arrival stamps may lag under load\n');
}
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.send?.({ type: 'ready', origin: `http://127.0.0.1:${port}` });
});
process.on('message', (msg: { type: string }) => {
  if (msg.type === 'reset') {
    arrivals.length = 0;
    process.send?.({ type: 'reset' });
  } else if (msg.type === 'arrivals') {
    process.send?.({ type: 'arrivals', times: arrivals });
  } else if (msg.type === 'close') {
    server.close();
    agent.destroy();
    process.exit(0);
  }
});
