import { DEFAULT_LEASE_MS } from '../lease/lease.ts';
import { DEFAULT_BUFFER_SECONDS, DEFAULT_CLOCK_SKEW_SECONDS } from './expiry.ts';
import { GRANT_DEFAULTS } from './grants.ts';
import type { CoordinatorConfig } from './refresh-coordinator.ts';
import { DEFAULT_TOKEN_TIMEOUT_MS } from './token-endpoint.ts';

export interface TokenBrokerOptions {
  /** Freshness buffer (invariant 4), capped at 25% of the lifetime. Default 120 s. */
  bufferSeconds?: number;
  skewSeconds?: number;
  /** Refresh lease; must exceed timeout x attempts + backoff. Default 30 s. */
  leaseMs?: number;
  /** How long a waiter polls for someone else's refresh. Default lease + 5 s (outlives a dead holder). */
  waitTimeoutMs?: number;
  pollStartMs?: number;
  pollCapMs?: number;
  tokenTimeoutMs?: number;
  attempts?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  commitRetry?: { attempts: number; baseMs: number; capMs: number };
  /** sweep(): connections expiring within this horizon and without a pending schedule. Default 10 min. */
  sweepHorizonMs?: number;
  /** sweep(): a planned proactive fire this far in the past counts as missed. Default 60 s. */
  sweepGraceMs?: number;
  random?: () => number;
}

/** Every tunable of the refresh path with its default; the reasoning behind the numbers is in docs/token-broker.md. */
export function coordinatorConfig(o: TokenBrokerOptions): CoordinatorConfig {
  const leaseMs = o.leaseMs ?? DEFAULT_LEASE_MS;
  return {
    bufferSeconds: o.bufferSeconds ?? DEFAULT_BUFFER_SECONDS,
    skewSeconds: o.skewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS,
    waitTimeoutMs: o.waitTimeoutMs ?? leaseMs + 5_000,
    pollStartMs: o.pollStartMs ?? 50,
    pollCapMs: o.pollCapMs ?? 1_000,
    // A fifth of the lease, at most 5 s, stays free for the commit after the last endpoint attempt.
    commitReserveMs: Math.min(5_000, Math.floor(leaseMs / 5)),
    grant: {
      attempts: o.attempts ?? GRANT_DEFAULTS.attempts,
      baseMs: o.backoffBaseMs ?? GRANT_DEFAULTS.baseMs,
      capMs: o.backoffCapMs ?? GRANT_DEFAULTS.capMs,
      timeoutMs: o.tokenTimeoutMs ?? DEFAULT_TOKEN_TIMEOUT_MS,
    },
    commitRetry: o.commitRetry,
    random: o.random ?? Math.random,
  };
}
