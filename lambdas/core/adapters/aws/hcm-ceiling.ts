import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ceilingOf, ShardedDynamoRateLimiter } from '#core/rate/index.ts';
import { ENV, numberEnv } from '../../env.ts';
import { systemClock } from '../../ports.ts';
import { CHECKPOINT_TABLE } from '../../tables.ts';

/** The ceiling's items in the checkpoint table: one partition, a sort key per shard. */
export const HCM_CEILING_PK = '~rate-limit:hcm-requests';

/**
 * The stack's HCM request ceiling (context hcmMaxRequestsPerSecond) for one container: a slot of the
 * fleet-wide rate per request, spread over shards of the checkpoint table, and a fallback pace of
 * ceiling / the most containers that run at once when that table is out of reach.
 */
export function awsHcmCeiling(
  doc: DynamoDBDocumentClient,
  checkpointTable: string,
): { acquire(): Promise<void> } {
  const ratePerSecond = numberEnv(ENV.hcmMaxRequestsPerSecond, 10);
  const containers = Math.max(1, numberEnv(ENV.hcmMaxContainers, 1));
  const limiter = new ShardedDynamoRateLimiter(
    doc,
    checkpointTable,
    {
      what: `HCM request ceiling ${ratePerSecond}/s`,
      ratePerSecond,
      key: (shard) => ({
        [CHECKPOINT_TABLE.partitionKey]: HCM_CEILING_PK,
        [CHECKPOINT_TABLE.sortKey]: `shard-${shard}`,
      }),
      fallbackRatePerSecond: ratePerSecond / containers,
    },
    systemClock,
  );
  return ceilingOf(limiter, systemClock);
}
