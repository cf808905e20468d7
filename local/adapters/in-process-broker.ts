import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import type { TokenBrokerOptions } from '#core/token/index.ts';
import {
  type BrokerRequest,
  BrokerTokenProvider,
  type BrokerTransport,
  errorFromPayload,
} from '#core/token/index.ts';
import { maskSecrets } from '../../lambdas/core/mask.ts';
import { createTokenBrokerHandler } from '../../lambdas/token-broker/handler.ts';
import { FileSecretSource } from './file-secret-source.ts';
import { LocalKeyProvider } from './local-key-provider.ts';
import { MemoryEventBus } from './memory-event-bus.ts';
import { TimerScheduler } from './timer-scheduler.ts';

export type BrokerHandler = (event: unknown, context: Context) => Promise<unknown>;

const FUNCTION_NAME = 'goal-sync-token-broker';

/** A Lambda-like context: enough for Powertools' injectLambdaContext. */
export function lambdaContext(functionName = FUNCTION_NAME, timeoutMs = 90_000): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * Calls the TokenBroker handler in this process the way Lambda Invoke would: request and response go
 * through JSON, and a thrown error crosses as {errorType, errorMessage} and is rebuilt with its type,
 * so code that works here works against the real Lambda.
 */
export class InProcessBrokerTransport implements BrokerTransport {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly handler: BrokerHandler,
    private readonly functionName = FUNCTION_NAME,
  ) {}

  /** Broker calls still running (a refresh may be at the IdP): shutdown waits for them. */
  get pending(): number {
    return this.inFlight.size;
  }

  /**
   * Resolves when every call running now has ended, or after `maxMs`: a refresh at the IdP must reach
   * its commit before DynamoDB is closed under it, or the stored pair is lost with its marker.
   */
  async settled(maxMs: number): Promise<boolean> {
    if (this.inFlight.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), maxMs);
    });
    const all = Promise.allSettled([...this.inFlight]).then(() => true);
    try {
      return await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  call<T>(req: BrokerRequest): Promise<T> {
    const running = this.invoke<T>(req);
    this.inFlight.add(running);
    const done = () => this.inFlight.delete(running);
    running.then(done, done);
    return running;
  }

  private async invoke<T>(req: BrokerRequest): Promise<T> {
    const event: unknown = JSON.parse(JSON.stringify(req));
    let result: unknown;
    try {
      result = await this.handler(event, lambdaContext(this.functionName));
    } catch (err) {
      const payload = {
        errorType: err instanceof Error ? err.name : 'Error',
        errorMessage: maskSecrets(err instanceof Error ? err.message : String(err)),
      };
      throw errorFromPayload(payload, 'connectionId' in req ? req : {});
    }
    return (result === undefined ? undefined : JSON.parse(JSON.stringify(result))) as T;
  }
}

export interface LocalTokenBrokerOptions {
  doc: DynamoDBDocumentClient;
  tableName?: string;
  /** Holds the 0600 master key file and the 0600 secrets file. */
  stateDir: string;
  options?: TokenBrokerOptions;
  logger?: Logger;
  metrics?: Metrics;
}

export interface LocalTokenBroker {
  handler: BrokerHandler;
  transport: InProcessBrokerTransport;
  scheduler: TimerScheduler;
  events: MemoryEventBus;
  secrets: FileSecretSource;
  keys: LocalKeyProvider;
  /** A worker-side provider over the in-process transport. */
  tokenProvider(options?: { bufferSeconds?: number }): BrokerTokenProvider;
  close(): void;
}

/**
 * The embedded default's broker: the real handler over dynalite, the local key file, the secrets file,
 * in-process timers (which call the handler's `proactive` action, as EventBridge Scheduler would invoke
 * the Lambda) and an in-memory event bus.
 */
export async function createLocalTokenBroker(o: LocalTokenBrokerOptions): Promise<LocalTokenBroker> {
  const keys = await LocalKeyProvider.inStateDir(o.stateDir);
  const secrets = FileSecretSource.inStateDir(o.stateDir);
  const events = new MemoryEventBus();
  let transport: InProcessBrokerTransport | undefined;
  const scheduler = new TimerScheduler(
    (payload) => transport?.call(payload as BrokerRequest),
    // A failed proactive refresh is already logged, counted and (if fatal) flagged by the broker.
    { onError: () => undefined },
  );
  const handler = createTokenBrokerHandler({
    doc: o.doc,
    tableName: o.tableName,
    keys,
    secrets,
    scheduler,
    events,
    logger: o.logger,
    metrics: o.metrics,
    options: o.options,
  });
  transport = new InProcessBrokerTransport(handler);
  const bound = transport;
  return {
    handler,
    transport: bound,
    scheduler,
    events,
    secrets,
    keys,
    tokenProvider: (opts = {}) =>
      new BrokerTokenProvider(bound, { bufferSeconds: opts.bufferSeconds ?? o.options?.bufferSeconds }),
    close: () => scheduler.closeAll(),
  };
}
