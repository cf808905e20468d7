import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** `--faults dynamo.*`: what the proxy does to every DynamoDB call of the pipeline and the broker. */
export interface DynamoFaults {
  /** Added before each request is forwarded. */
  latencyMs: number;
  /** Share of requests answered 400 ProvisionedThroughputExceededException without reaching dynalite. */
  throttleRate: number;
  /** Share of requests applied by dynalite whose response is then lost (socket destroyed): the SDK retries. */
  dropAfterApplyRate: number;
}

/** A scripted decision for one request (tests aim a fault at one exact call); undefined = use the rates. */
export type DynamoFaultRule = (req: {
  operation: string;
  body: Record<string, unknown>;
}) => 'throttle' | 'drop' | 'pass' | undefined;

export interface DynamoFaultStats {
  requests: number;
  throttled: number;
  dropped: number;
}

export interface DynamoFaultProxy {
  endpoint: string;
  setFaults(patch: Partial<DynamoFaults>): DynamoFaults;
  setRule(rule: DynamoFaultRule | undefined): void;
  stats(): DynamoFaultStats;
  close(): Promise<void>;
}

export const NO_DYNAMO_FAULTS: DynamoFaults = { latencyMs: 0, throttleRate: 0, dropAfterApplyRate: 0 };

const THROTTLE_BODY = JSON.stringify({
  __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
  message: 'The level of configured provisioned throughput for the table was exceeded (injected)',
});

/**
 * An HTTP proxy in front of dynalite that injects the faults a real DynamoDB shows under load: latency,
 * throttling, and a write that is applied but whose answer never arrives (the SDK retries it, and a
 * conditional write then fails on its own earlier success). The SDK talks to it like to any endpoint.
 */
export async function startDynamoFaultProxy(
  target: string,
  o: { faults?: Partial<DynamoFaults>; random?: () => number } = {},
): Promise<DynamoFaultProxy> {
  let faults: DynamoFaults = { ...NO_DYNAMO_FAULTS, ...o.faults };
  let rule: DynamoFaultRule | undefined;
  const random = o.random ?? Math.random;
  const stats: DynamoFaultStats = { requests: 0, throttled: 0, dropped: 0 };
  const upstream = new URL(target);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    stats.requests++;
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    let decision = rule?.({ operation, body: parse(body) });
    if (decision === undefined) {
      if (random() < faults.throttleRate) decision = 'throttle';
      else if (random() < faults.dropAfterApplyRate) decision = 'drop';
    }
    if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));
    if (res.destroyed) return; // the caller aborted while we waited: like a request that never arrived
    if (decision === 'throttle') {
      stats.throttled++;
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' }).end(THROTTLE_BODY);
      return;
    }
    const forward = request({
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
    });
    forward.on('response', (up) => {
      const parts: Buffer[] = [];
      up.on('data', (c: Buffer) => parts.push(c));
      up.on('end', () => {
        if (decision === 'drop') {
          stats.dropped++;
          res.socket?.destroy(); // applied by dynalite, the answer lost on the way back
          return;
        }
        res.writeHead(up.statusCode ?? 500, up.headers).end(Buffer.concat(parts));
      });
    });
    forward.on('error', () => res.socket?.destroy());
    forward.end(body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.socket?.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    setFaults: (patch) => {
      faults = { ...faults, ...patch };
      return { ...faults };
    },
    setRule: (r) => {
      rule = r;
    },
    stats: () => ({ ...stats }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function parse(body: Buffer): Record<string, unknown> {
  try {
    return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}
