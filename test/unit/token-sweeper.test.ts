import { describe, expect, it } from 'vitest';
import type { ConnectionStore, Outbox } from '#core/token/index.ts';
import { type ConnectionItem, runSweep, toConnectionItem } from '#core/token/index.ts';
import { NoRateSlotError, TransientError } from '../../lambdas/core/errors.ts';

const T0 = Date.UTC(2030, 0, 1);
const active = (id: string, expiresAt: number): ConnectionItem =>
  toConnectionItem({ connectionId: id, status: 'active', accessToken: 'v1.x', version: 1, expiresAt });

describe('runSweep order', () => {
  it('refreshes the soonest expiry first across shards (the index is read shard by shard)', async () => {
    // As queryDue returns them: shard 0 (sorted), then shard 1 (sorted), whose first item expires first.
    const due = [active('s0-a', T0 + 50_000), active('s0-b', T0 + 90_000), active('s1-a', T0 + 10_000)];
    due.push(active('s1-b', T0 + 60_000));
    const order: string[] = [];
    const result = await runSweep(
      {
        store: { queryDue: async () => due } as unknown as ConnectionStore,
        outbox: { drainQuietly: async () => undefined } as unknown as Outbox,
        clock: { now: () => T0 },
        config: { horizonMs: 600_000, graceMs: 60_000, concurrency: 1, reserveMs: 0 },
        actions: {
          refresh: async (item) => {
            order.push(item.connectionId);
            return true;
          },
          recover: async () => undefined,
        },
      },
      () => Number.POSITIVE_INFINITY,
    );
    expect(order).toEqual(['s1-a', 's0-a', 's1-b', 's0-b']);
    expect(result.refreshed).toBe(4);
  });
});

describe('runSweep lanes under a starved rate', () => {
  const sweep = (due: ConnectionItem[], refresh: (item: ConnectionItem) => Promise<boolean>) =>
    runSweep(
      {
        store: { queryDue: async () => due } as unknown as ConnectionStore,
        outbox: { drainQuietly: async () => undefined } as unknown as Outbox,
        clock: { now: () => T0 },
        config: { horizonMs: 600_000, graceMs: 60_000, concurrency: 4, reserveMs: 0 },
        actions: { refresh, recover: async () => undefined },
      },
      () => Number.POSITIVE_INFINITY,
    );
  const due = Array.from({ length: 12 }, (_, i) => active(`c-${i}`, T0 + 10_000 + i));

  it('sheds a lane for each refresh the rate could not serve, keeping the last one', async () => {
    // The limiter on its fail-soft pace: every refresh but the last lane's waits out its slot.
    let inFlight = 0;
    let most = 0;
    const result = await sweep(due, async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      throw new NoRateSlotError('token endpoint rate: no slot before the deadline; the request was not sent');
    });
    expect(most).toBe(4);
    expect(result.lanesShed).toBe(3);
    // The last lane goes on through the rest: nothing is left undone, it is only not done four at a time.
    expect(result.failed).toBe(12);
    expect(result.deferred).toBe(0);
  });

  it('keeps every lane through other transient failures', async () => {
    const result = await sweep(due, async () => {
      throw new TransientError('connection read failed transiently');
    });
    expect(result.lanesShed).toBe(0);
    expect(result.failed).toBe(12);
  });
});
