import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { GoalMapping } from '#core/hcm/index.ts';
import {
  digestFromWire,
  factsOf,
  type PreflightReport,
  type PreflightTokens,
  parsePreflightRequest,
  readSourceDigest,
  runPreflight,
} from '#core/preflight/index.ts';
import type { GoalSource } from '#core/source/index.ts';
import { BrokerTokenProvider, type BrokerTransport } from '#core/token/index.ts';

export const SERVICE_NAME = 'preflight';

export interface PreflightDeps {
  hcmBaseUrl: string;
  /** The token broker, as the pipeline reaches it (Lambda Invoke in AWS). */
  broker: BrokerTransport;
  /** Opens an s3:// source of the stack's source bucket (never another bucket). */
  openSource: (uri: string) => GoalSource;
  defaultConnectionId: string;
  /** The stack's request ceiling and the plan-wide read's page size. */
  ceiling: { requestsPerSecond: number; from: string };
  pageSize: number;
  /** The stack's goal mapping settings (GOAL_MAPPING), as sync-chunk maps records with them. */
  mapping?: GoalMapping;
  logger: Logger;
  fetch?: typeof fetch;
}

/**
 * The preflight function (`goal-sync preflight --stack`): the checks of lambdas/core/preflight with the
 * pipeline's own rights, the broker's token for the connection and the stack's hcmBaseUrl. It answers
 * the check results; the token stays in this function (the report carries only which grant issued it).
 */
export function createPreflightHandler(deps: PreflightDeps) {
  return middy(async (event: unknown, _context: Context): Promise<PreflightReport> => {
    const req = parsePreflightRequest(event);
    const connectionId = req.connectionId ?? deps.defaultConnectionId;
    const sampleSize = req.sampleSize ?? 5;
    const digest = req.digest
      ? digestFromWire(req.digest)
      : await readSourceDigest(deps.openSource(req.source!.uri), sampleSize);
    const facts = factsOf(digest, deps.mapping);
    const report = await runPreflight({
      hcmBaseUrl: deps.hcmBaseUrl,
      tokens: await brokerTokens(deps.broker, connectionId),
      facts,
      options: {
        pageSize: deps.pageSize,
        ceiling: deps.ceiling,
        sampleSize,
        ...(deps.mapping ? { mapping: deps.mapping } : {}),
        ...(req.writeTestPerson ? { writeTestPerson: req.writeTestPerson } : {}),
      },
      fetch: deps.fetch,
    });
    deps.logger.info('preflight finished', {
      connectionId,
      ok: report.ok,
      counts: report.counts,
      requests: report.requests,
    });
    return report;
  }).use(injectLambdaContext(deps.logger));
}

/** The broker's token for the connection, and the grant its connection item names (status: no token). */
async function brokerTokens(broker: BrokerTransport, connectionId: string): Promise<PreflightTokens> {
  const provider = new BrokerTokenProvider(broker);
  let grant = 'unknown';
  try {
    const { connections } = await broker.call<{ connections: Array<{ grant?: string }> }>({
      action: 'status',
      connectionId,
    });
    grant = connections[0]?.grant ?? grant;
  } catch {
    // The token check reports the broker's own error (not connected, needs re-auth) when it asks for a token.
  }
  return {
    grant,
    origin: `token broker, connection ${connectionId}`,
    token: async () => (await provider.getToken(connectionId)).accessToken,
  };
}
