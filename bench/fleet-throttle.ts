import { TOKEN_RATE_LIMIT_KEY } from '#core/token/index.ts';
import { type DynamoFaultProxy, startDynamoFaultProxy } from '../local/adapters/dynamo-fault-proxy.ts';

/**
 * The fleet bench's throttled limiter store (issue 26): a fault proxy in front of dynalite that answers
 * every call on the token-endpoint limiter's items with ProvisionedThroughputExceededException from
 * `atMs` after `start` for `forMs` (a hot partition), and passes everything else through. The brokers
 * then keep to their fallback pace; the connection items answer as usual.
 */
export async function limiterThrottleWindow(
  target: string,
  start: number,
  window: { atMs: number; forMs: number },
): Promise<{ proxy: DynamoFaultProxy; from: number; until: number }> {
  const proxy = await startDynamoFaultProxy(target);
  const from = start + window.atMs;
  const until = from + window.forMs;
  proxy.setRule(({ body }) => {
    const key = (body.Key as Record<string, { S?: string }> | undefined)?.connectionId?.S ?? '';
    const now = Date.now();
    return key.startsWith(TOKEN_RATE_LIMIT_KEY) && now >= from && now < until ? 'throttle' : 'pass';
  });
  return { proxy, from, until };
}
