import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addToDigest, digestToWire, emptyDigest } from '#core/preflight/index.ts';
import { type BrokerTransport, obtainToken } from '#core/token/index.ts';
import { createPreflightHandler } from '../../lambdas/preflight/handler.ts';
import type { HcmSim } from '../../local/hcm/index.ts';
import type { IdpSim } from '../../local/idp/index.ts';
import { startSimPair } from '../support/sim-pair.ts';
import { lambdaContext } from './pipeline-harness.ts';

/**
 * The preflight function's handler (lambdas/preflight) against the simulators: it asks the broker for
 * the connection's token (here a transport that hands out a real token of the IdP simulator, as the
 * token broker does) and answers check results, in which the token never appears.
 */
let idp: IdpSim;
let hcm: HcmSim;
let issued: string[] = [];
const calls: string[] = [];

const PLAN = 300000009990001;

function broker(): BrokerTransport {
  return {
    async call<T>(req: { action: string }): Promise<T> {
      calls.push(req.action);
      if (req.action === 'status')
        return { connections: [{ status: 'active', grant: 'client_credentials' }] } as T;
      const client = idp.clients[0]!;
      const set = await obtainToken({
        grant: 'client_credentials',
        secret: {
          tokenUrl: idp.tokenUrl,
          clientId: client.clientId,
          clientSecret: client.clientSecret,
          scope: 'urn:opc:resource:consumer::all',
        },
      });
      issued.push(set.accessToken);
      return {
        accessToken: set.accessToken,
        expiresAt: set.expiresAt,
        issuedAt: set.issuedAt,
        version: 1,
      } as T;
    },
  };
}

function handler() {
  return createPreflightHandler({
    hcmBaseUrl: hcm.url,
    broker: broker(),
    openSource: () => {
      throw new Error('no S3 here: the request carries a digest');
    },
    defaultConnectionId: 'oracle-hcm',
    ceiling: { requestsPerSecond: 100, from: 'test' },
    pageSize: 500,
    logger: new Logger({ serviceName: 'preflight', logLevel: 'SILENT' }),
  });
}

function digest(plans: number[]) {
  const d = emptyDigest();
  for (const [i, goalPlanId] of plans.entries()) {
    addToDigest(
      d,
      {
        externalKey: `K${i}`,
        personNumber: `E00000${i + 1}`,
        goalName: `Goal ${i}`,
        startDate: '2026-01-01',
        targetCompletionDate: '2026-06-30',
        status: 'NOT_STARTED',
        goalPlanId,
      },
      5,
    );
  }
  return digestToWire(d);
}

beforeAll(async () => {
  ({ idp, hcm } = await startSimPair());
});
afterAll(async () => {
  await hcm?.close();
  await idp?.close();
});

describe('preflight function', () => {
  it("checks with the broker's token and answers results that never carry it", async () => {
    issued = [];
    const report = await handler()({ connectionId: 'oracle-hcm', digest: digest([PLAN]) }, lambdaContext());
    expect(calls).toContain('status');
    expect(calls).toContain('get');
    expect(report.checks[0]).toMatchObject({
      name: 'token',
      status: 'pass',
      detail: expect.stringContaining('grant client_credentials'),
    });
    expect(report.checks.find((c) => c.name === 'goal-plans')).toMatchObject({ status: 'pass' });
    expect(issued.length).toBeGreaterThan(0);
    const text = JSON.stringify(report);
    for (const token of issued) expect(text).not.toContain(token);
  });

  it('names a goal plan that does not exist', async () => {
    const report = await handler()({ digest: digest([PLAN, 777]) }, lambdaContext());
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'goal-plans')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('goal plan 777 named in the source does not exist'),
    });
  });

  it('refuses a request with neither a source nor facts, naming no value', async () => {
    await expect(handler()({ connectionId: 'oracle-hcm' }, lambdaContext())).rejects.toThrow(
      /names a source or carries its digest/,
    );
    await expect(handler()({ writeTestPerson: 42 }, lambdaContext())).rejects.toThrow(
      /invalid preflight request \(writeTestPerson\)/,
    );
  });
});
