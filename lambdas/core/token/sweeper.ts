import { NoRateSlotError } from '../errors.ts';
import type { Clock } from '../ports.ts';
import type { ConnectionItem } from './connection/connection-item.ts';
import type { ConnectionStore } from './connection/connection-store.ts';
import type { Outbox } from './connection/outbox.ts';
import { stateOf } from './refresh/refresh-request.ts';

export interface SweepResult {
  /** active connections due within the horizon that were looked at */
  checked: number;
  refreshed: number;
  overdue: number;
  failed: number;
  /** auto-retried needs_reauth connections that are active again */
  recovered: number;
  /** due connections left for the next run because the invocation's time was running out */
  deferred: number;
  /** lanes that stopped because the token-endpoint rate gave them no slot in time (NoRateSlotError) */
  lanesShed: number;
  durationMs: number;
}

export interface SweepConfig {
  horizonMs: number;
  graceMs: number;
  /** Refreshes in flight at once. */
  concurrency: number;
  /** No refresh starts with less time left than this (a refresh may hold its lease twice: extension). */
  reserveMs: number;
}

/** What a sweep does to one connection; every token request goes through the broker's shared rate. */
export interface SweepActions {
  refresh(item: ConnectionItem): Promise<boolean>;
  recover(item: ConnectionItem): Promise<void>;
}

/**
 * The sweep (issue 11, fleet scale): queries the due index (no scan), drains pending outboxes, retries
 * due auto-recoverable needs_reauth connections, refreshes active ones whose schedule was missed, with
 * bounded concurrency (the token-endpoint rate is the broker's, shared by the fleet), and stops starting work before the invocation's time runs out.
 */
export async function runSweep(
  d: {
    store: ConnectionStore;
    outbox: Outbox;
    clock: Clock;
    config: SweepConfig;
    actions: SweepActions;
  },
  remainingTimeMs: () => number,
): Promise<SweepResult> {
  const { store, outbox, clock, config, actions } = d;
  const started = clock.now();
  const due = await store.queryDue(started + config.horizonMs);
  const result: SweepResult = {
    checked: 0,
    refreshed: 0,
    overdue: 0,
    failed: 0,
    recovered: 0,
    deferred: 0,
    lanesShed: 0,
    durationMs: 0,
  };
  const work: Array<() => Promise<void>> = [];
  // The index is read shard by shard: the soonest expiry goes first across all shards, or under the
  // shared rate a large fleet's last shard could wait a whole sweep cycle while its tokens run out.
  const byUrgency = [...due].sort((a, b) => urgency(a) - urgency(b));
  for (const item of byUrgency) {
    if (item.outbox.length > 0) await outbox.drainQuietly(item.connectionId);
    if (item.status === 'needs_reauth' && item.autoRetry && (item.retryAt ?? 0) <= started) {
      work.push(async () => {
        await actions.recover(item);
        result.recovered++;
      });
      continue;
    }
    if (stateOf(item).status !== 'active' || item.expiresAt === undefined) continue;
    if (item.expiresAt >= started + config.horizonMs) continue;
    result.checked++;
    const pending = item.nextProactiveAt !== undefined && item.nextProactiveAt >= started - config.graceMs;
    if (pending) continue;
    if (item.nextProactiveAt !== undefined) result.overdue++;
    work.push(async () => {
      if (await actions.refresh(item)) result.refreshed++;
    });
  }
  let index = 0;
  let lanes = Math.max(1, config.concurrency);
  const lane = async () => {
    while (index < work.length) {
      if (remainingTimeMs() < config.reserveMs) {
        result.deferred += work.length - index;
        index = work.length;
        return;
      }
      const job = work[index++]!;
      const starved = await job().then(
        () => false,
        (err: unknown) => {
          result.failed++;
          return err instanceof NoRateSlotError;
        },
      );
      // The shared rate could not serve this lane in time (the fleet is busy, or its limiter is on the
      // fail-soft pace): one lane fewer, never the last, rather than more leases that wait out their slots.
      if (starved && lanes > 1) {
        lanes--;
        result.lanesShed++;
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  result.durationMs = clock.now() - started;
  return result;
}

const urgency = (item: ConnectionItem): number =>
  item.status === 'active' ? (item.expiresAt ?? 0) : (item.retryAt ?? 0);
