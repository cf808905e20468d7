/**
 * The public surface of `rate/`: fleet-wide request rates (the HCM request ceiling and the token
 * broker's token-endpoint rate). Everything else in the folder is internal.
 */

export { ShardedDynamoRateLimiter, type ShardedRateConfig } from './sharded-dynamo.ts';
export {
  ceilingOf,
  type FleetRateLimiter,
  InProcessRateLimiter,
  NO_RATE_LIMIT,
} from './slot-log.ts';
