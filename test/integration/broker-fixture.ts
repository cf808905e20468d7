import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isFresh, TokenBroker, type TokenBrokerOptions } from '#core/token/index.ts';
import { createMetrics, maskingReplacer } from '../../lambdas/core/observability.ts';
import type { KeyProvider, Scheduler } from '../../lambdas/core/ports.ts';
import { documentClient, dynamoClient } from '../../local/adapters/dynalite.ts';
import { FileSecretSource } from '../../local/adapters/file-secret-source.ts';
import { LocalKeyProvider } from '../../local/adapters/local-key-provider.ts';
import { MemoryEventBus } from '../../local/adapters/memory-event-bus.ts';
import { HCM_AUDIENCE } from '../../local/constants.ts';
import { type IdpFaults, type IdpSim, startIdp } from '../../local/idp/index.ts';
import { startTestDynamo, type TestDynamo } from '../support/dynalite.ts';

// EMF lines for every refresh would drown the test output; the log-capture test turns metrics back on.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

/** Scheduler that only records: integration tests that are not about proactive timers. */
export class RecordingScheduler implements Scheduler {
  readonly schedules = new Map<string, { at: Date; payload: Record<string, unknown> }>();
  async scheduleOnce(name: string, at: Date, payload: Record<string, unknown>): Promise<void> {
    this.schedules.set(name, { at, payload });
  }
  async cancel(name: string): Promise<void> {
    this.schedules.delete(name);
  }
}

export interface BrokerFixture {
  dynamo: TestDynamo;
  idp: IdpSim;
  stateDir: string;
  secrets: FileSecretSource;
  keys: LocalKeyProvider;
  events: MemoryEventBus;
  scheduler: RecordingScheduler;
  logger: Logger;
  /** A broker "process": its own DynamoDB client, vault, single-flight and lease owner ids. */
  broker(
    options?: TokenBrokerOptions & {
      scheduler?: Scheduler;
      logger?: Logger;
      dynamoEndpoint?: string;
      /** A KMS stand-in with its own faults in front of `keys` (same master key, so envelopes interoperate). */
      keyProvider?: KeyProvider;
      /** The token endpoint's HTTP client (to see when each request leaves). */
      fetch?: typeof fetch;
    },
  ): TokenBroker;
  /** Mints an IdP grant, stores the secret with it as bootstrap token, and connects. */
  connectRefreshToken(
    connectionId: string,
    broker?: TokenBroker,
  ): Promise<{ grantId: string; version: number }>;
  item(connectionId: string): Promise<Record<string, unknown>>;
  /** Pretends the stored token was issued long ago and is past its expiry (as after a long idle period). */
  expireStoredToken(connectionId: string): Promise<void>;
  /** Waits (really) until the stored token is no longer fresh by the buffer. */
  waitUntilStale(connectionId: string, bufferSeconds?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startBrokerFixture(
  o: { accessTokenTtlSeconds?: number; faults?: Partial<IdpFaults>; logLevel?: 'SILENT' | 'DEBUG' } = {},
): Promise<BrokerFixture> {
  const dynamo = await startTestDynamo();
  const idp = await startIdp({
    accessTokenTtlSeconds: o.accessTokenTtlSeconds ?? 3600,
    rateLimitPerSecond: 0,
    rateLimitPerMinute: 0,
    faults: o.faults,
  });
  const stateDir = await mkdtemp(join(tmpdir(), 'broker-it-'));
  const secrets = FileSecretSource.inStateDir(stateDir);
  const keys = await LocalKeyProvider.inStateDir(stateDir);
  const events = new MemoryEventBus();
  const scheduler = new RecordingScheduler();
  // Same masking replacer as createLogger; the level must be a constructor option, because the Lambda
  // middleware resets a level set later back to the initial one on every warm invocation.
  const logger = new Logger({
    serviceName: 'token-broker',
    logLevel: o.logLevel ?? 'SILENT',
    jsonReplacerFn: maskingReplacer,
  });
  const clients: ReturnType<typeof dynamoClient>[] = [];
  const client = idp.clients[0]!;

  const broker: BrokerFixture['broker'] = (options = {}) => {
    const { scheduler: s, logger: l, dynamoEndpoint, keyProvider, fetch: f, ...rest } = options;
    // dynamoEndpoint: a fault proxy in front of dynalite (local/adapters/dynamo-fault-proxy.ts).
    const ddb = dynamoClient(dynamoEndpoint ?? dynamo.endpoint);
    clients.push(ddb);
    return new TokenBroker({
      doc: documentClient(ddb),
      tableName: dynamo.tables.connections,
      keys: keyProvider ?? keys,
      secrets,
      scheduler: s ?? scheduler,
      events,
      logger: l ?? logger,
      metrics: createMetrics('token-broker'),
      fetch: f,
      options: { pollStartMs: 20, pollCapMs: 200, ...rest },
    });
  };

  const item = async (connectionId: string) =>
    (
      await dynamo.doc.send(
        new GetCommand({ TableName: dynamo.tables.connections, Key: { connectionId }, ConsistentRead: true }),
      )
    ).Item ?? {};

  return {
    dynamo,
    idp,
    stateDir,
    secrets,
    keys,
    events,
    scheduler,
    logger,
    broker,
    item,
    async connectRefreshToken(connectionId, b) {
      const { refreshToken, grantId } = await idp.issueRefreshToken({ clientId: client.clientId });
      await secrets.putSecret(`secret/${connectionId}`, {
        tokenUrl: idp.tokenUrl,
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        scope: HCM_AUDIENCE,
        bootstrapRefreshToken: refreshToken,
      });
      const result = await (b ?? broker()).connect(connectionId, {
        secretId: `secret/${connectionId}`,
        grant: 'refresh_token',
      });
      return { grantId, version: result.version };
    },
    async expireStoredToken(connectionId) {
      const now = Date.now();
      await dynamo.doc.send(
        new UpdateCommand({
          TableName: dynamo.tables.connections,
          Key: { connectionId },
          UpdateExpression: 'SET expiresAt = :e, issuedAt = :i',
          ExpressionAttributeValues: { ':e': now - 1_000, ':i': now - 3_601_000 },
        }),
      );
    },
    async waitUntilStale(connectionId, bufferSeconds = 120) {
      for (;;) {
        const i = await item(connectionId);
        if (
          !isFresh(
            { expiresAt: i.expiresAt as number, issuedAt: i.issuedAt as number },
            Date.now(),
            bufferSeconds,
          )
        )
          return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      for (const c of clients) c.destroy();
      await idp.close();
      await dynamo.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** Numbers the report quotes: printed once per suite so a CI log shows them. */
export function record(label: string, values: Record<string, unknown>): void {
  process.stdout.write(`[broker-measure] ${label} ${JSON.stringify(values)}\n`);
}
