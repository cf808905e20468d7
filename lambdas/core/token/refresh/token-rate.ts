import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type FleetRateLimiter, NO_RATE_LIMIT, ShardedDynamoRateLimiter } from '#core/rate/index.ts';
import type { Clock } from '../../ports.ts';
import { CONNECTION_TABLE } from '../../tables.ts';

/**
 * The shared token-endpoint rate (issue 26): every token request of every broker instance (sweep,
 * proactive, just-in-time, after-401, connect, and each retry of one) takes a slot of the fleet's rate
 * right before it is sent, from the sharded fail-soft limiter of core/rate.
 */
export type TokenRateLimiter = FleetRateLimiter;

/** Keys of limiter items in the connection table; `~` keeps them out of the way of real connection ids. */
export const RATE_LIMIT_KEY_PREFIX = '~rate-limit:';
export const TOKEN_RATE_LIMIT_KEY = `${RATE_LIMIT_KEY_PREFIX}token-endpoint`;

export interface TokenRateSettings {
  /** Token requests per second of the whole fleet (0: no limit). */
  perSecond: number;
  /** Token requests per minute of the whole fleet. */
  perMinute: number;
  /** Added to each window for the spread between our send and the IdP's count. */
  guardMs: number;
  /** Timeout of one DynamoDB call of the limiter. */
  callTimeoutMs: number;
  /** The most broker instances that can run at once: each one's pace while the limiter's items are throttled. */
  instances: number;
  shards?: number;
  /** Partition key of the limiter's items (tests keep theirs apart). */
  key?: string;
  random: () => number;
}

export interface TokenRate {
  limiter: TokenRateLimiter;
  /** Admissions (through the store, at the fallback pace), lost races, store failures, late slots. */
  counts(): TokenRateCounts;
}

export type TokenRateCounts = ShardedDynamoRateLimiter['counts'];

/**
 * The fleet's pace with no store, as a share of its sustained rate. Instances that cannot reach the
 * limiter's items send beside those that can, so the fleet may send the store's rate plus this share:
 * the default 900/min leaves a tenth of IDCS's 1,000/min for it (and 15/s + 1.5/s is far under 40/s).
 */
export const FALLBACK_SHARE = 0.1;

/**
 * The limiter's items live in the connection table the broker already uses, one partition per shard.
 * With those items out of reach an instance keeps to FALLBACK_SHARE x min(per second, per minute / 60)
 * / instances: the fleet still refreshes, slowly, and with part of it on the store and part not it
 * stays under the IdP's limits.
 */
export function tokenEndpointRate(
  doc: DynamoDBDocumentClient,
  tableName: string,
  s: TokenRateSettings,
  clock: Clock,
): TokenRate {
  const none = { admitted: 0, fallback: 0, conflicts: 0, storeFailures: 0, spent: 0 };
  if (!(Math.floor(s.perSecond) > 0)) return { limiter: NO_RATE_LIMIT, counts: () => ({ ...none }) };
  const key = s.key ?? TOKEN_RATE_LIMIT_KEY;
  const sustained = Math.min(s.perSecond, s.perMinute / 60);
  const limiter = new ShardedDynamoRateLimiter(
    doc,
    tableName,
    {
      what: `token endpoint rate ${s.perSecond}/s, ${s.perMinute}/min`,
      ratePerSecond: s.perSecond,
      ratePerMinute: s.perMinute,
      shards: s.shards,
      key: (shard) => ({ [CONNECTION_TABLE.partitionKey]: `${key}#${shard}` }),
      guardMs: s.guardMs,
      callTimeoutMs: s.callTimeoutMs,
      fallbackRatePerSecond: (sustained * FALLBACK_SHARE) / Math.max(1, s.instances),
      random: s.random,
    },
    clock,
  );
  return { limiter, counts: () => ({ ...limiter.counts }) };
}
