import { createHash } from 'node:crypto';
import { effectiveBufferMs } from './expiry.ts';

/** Nominal proactive lead 60..180 s (spreads a herd of connections made at the same minute). */
export const PROACTIVE_OFFSET_MS = { min: 60_000, max: 180_000 } as const;
/** For short lifetimes the lead shrinks into [10%, 30%] of the lifetime, so it always fires before expiry. */
export const PROACTIVE_OFFSET_SHARE = { min: 0.1, max: 0.3 } as const;
/**
 * For long lifetimes the spread grows with the lifetime (issue 11): the upper lead is at least 20% of it,
 * so 10,000 connections made within one minute with 1 h tokens fire over ~11 minutes (~15 req/s), not
 * over 2 minutes (~80 req/s, twice what an IDCS domain allows).
 */
export const PROACTIVE_SPREAD_SHARE = 0.2;

export interface TokenTimes {
  expiresAt: number;
  issuedAt?: number;
}

/** [min, max] random lead for a token of this lifetime. */
export function proactiveOffsetBounds(lifetimeMs: number): { min: number; max: number } {
  return {
    min: Math.min(PROACTIVE_OFFSET_MS.min, Math.floor(lifetimeMs * PROACTIVE_OFFSET_SHARE.min)),
    max: Math.max(
      Math.min(PROACTIVE_OFFSET_MS.max, Math.floor(lifetimeMs * PROACTIVE_OFFSET_SHARE.max)),
      Math.floor(lifetimeMs * PROACTIVE_SPREAD_SHARE),
    ),
  };
}

/** A uniform random lead within the bounds. */
export function proactiveOffsetMs(lifetimeMs: number, random: () => number = Math.random): number {
  const { min, max } = proactiveOffsetBounds(lifetimeMs);
  return min + Math.floor(random() * (max - min + 1));
}

const lifetimeOf = (t: TokenTimes): number => Math.max(0, t.expiresAt - (t.issuedAt ?? t.expiresAt));

/**
 * When the one-time schedule fires: the random lead is taken before the moment the token stops being
 * fresh (expiresAt - buffer), not before expiresAt itself, so the proactive refresh lands while workers
 * still consider the token fresh and they never need a just-in-time refresh.
 */
export function proactiveFireAt(
  token: TokenTimes,
  bufferSeconds: number,
  random: () => number = Math.random,
): number {
  const lifetime = lifetimeOf(token);
  const staleAt = token.expiresAt - effectiveBufferMs(token, bufferSeconds);
  return staleAt - proactiveOffsetMs(lifetime, random);
}

/**
 * Whether a proactive fire at `now` should refresh. Earliest planned fire is staleAt - max lead; a small
 * tolerance absorbs schedulers firing a little early. Outside the window the broker only reschedules.
 */
export function inProactiveWindow(token: TokenTimes, now: number, bufferSeconds: number): boolean {
  const lifetime = lifetimeOf(token);
  const staleAt = token.expiresAt - effectiveBufferMs(token, bufferSeconds);
  const tolerance = Math.min(5_000, Math.floor(lifetime * 0.05));
  return now >= staleAt - proactiveOffsetBounds(lifetime).max - tolerance;
}

/** EventBridge Scheduler names: [0-9a-zA-Z-_.]{1,64}; one schedule per connection. */
export function proactiveScheduleName(connectionId: string): string {
  const prefix = 'token-refresh-';
  if (/^[0-9A-Za-z_.-]+$/.test(connectionId) && prefix.length + connectionId.length <= 64) {
    return `${prefix}${connectionId}`;
  }
  return `${prefix}${createHash('sha256').update(connectionId).digest('hex').slice(0, 40)}`;
}
