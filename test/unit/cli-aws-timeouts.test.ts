import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultDeps } from '../../cli/aws/cli.ts';
import { type AwsClientLimits, createAwsClients, worstCaseMs } from '../../cli/aws/clients.ts';
import * as connect from '../../cli/commands/connect.ts';
import * as resume from '../../cli/commands/resume.ts';
import * as start from '../../cli/commands/start.ts';
import * as status from '../../cli/commands/status.ts';

// An endpoint that accepts every connection and never answers: what a blackholed proxy or a wrong
// AWS_ENDPOINT_URL looks like. Every AWS-mode command must fail within its clients' bounds.
let server: Server;
let endpoint: string;
const sockets = new Set<Socket>();
const savedEnv = { ...process.env };

beforeAll(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  endpoint = `http://127.0.0.1:${address.port}`;
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'not-a-secret' });
});
afterAll(async () => {
  process.env = savedEnv;
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const limits: Partial<AwsClientLimits> = {
  connectionTimeoutMs: 300,
  requestTimeoutMs: 400,
  lambdaRequestTimeoutMs: 400,
  maxAttempts: 2,
};

describe('AWS-mode commands against an endpoint that never answers', () => {
  it.each([
    ['status', status.run, ['--stack', 'prod', '--region', 'eu-west-1']],
    ['start', start.run, ['--stack', 'prod', '--region', 'eu-west-1', '--source', 's3://b-1/goals.jsonl']],
    ['resume', resume.run, ['--stack', 'prod', '--region', 'eu-west-1', '--run-id', 'r1']],
    [
      'connect',
      connect.run,
      ['--stack', 'prod', '--region', 'eu-west-1', '--connection', 'c1', '--port', '0'],
    ],
  ] as const)(
    '%s fails within its timeout, naming region, stack and what to do',
    async (_name, run, argv) => {
      const err: string[] = [];
      const deps = defaultDeps({
        clients: (region) => createAwsClients(region, { ...limits, endpoint }),
        out: () => undefined,
        err: (line) => err.push(line),
      });
      const started = Date.now();
      const code = await run([...argv], deps);
      const took = Date.now() - started;
      expect(code).toBe(1);
      // Bounded: attempts x (connect + request timeout), plus the SDK's short retry pause.
      expect(took).toBeLessThan(worstCaseMs({ ...(limits as AwsClientLimits) }) + 3_000);
      expect(took).toBeGreaterThanOrEqual(limits.requestTimeoutMs!);
      expect(err.join('\n')).toMatch(
        /hint: AWS did not answer \(region eu-west-1, stack prod\): check the network, a proxy or AWS_ENDPOINT_URL/,
      );
    },
  );

  it('the default limits bound every call (no client without a request timeout)', async () => {
    const clients = createAwsClients('eu-west-1');
    for (const client of [clients.cloudFormation, clients.sfn, clients.secrets, clients.lambda, clients.s3]) {
      const handler = client.config.requestHandler as unknown as {
        configProvider: Promise<Record<string, unknown>>;
      };
      const config = await handler.configProvider;
      expect(config).toMatchObject({ connectionTimeout: 5_000, throwOnRequestTimeout: true });
      expect(config.requestTimeout).toBeGreaterThan(0);
      expect(await client.config.maxAttempts()).toBe(3);
    }
  });
});
