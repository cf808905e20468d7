import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { asTransient, isConditionFailed, isTransientAwsError } from '../aws-errors.ts';
import type { Clock } from '../ports.ts';
import { sleepOn, timeoutOn } from '../retry.ts';
import {
  type FleetRateLimiter,
  InProcessRateLimiter,
  nextSlotsAcross,
  noSlot,
  slotShape,
} from './slot-log.ts';

export interface ShardedRateConfig {
  /** What the limiter guards, for messages ("HCM request ceiling"). */
  what: string;
  /** Requests per second the whole fleet may send (a whole number >= 1). */
  ratePerSecond: number;
  /**
   * Requests per minute the whole fleet may send, held by a second log in the same items (IDCS counts
   * token requests per second and per minute); none: the per-second rate alone.
   */
  ratePerMinute?: number;
  /** Items the rate is spread over (default 4, at most ratePerSecond: each item keeps >= 1/s). */
  shards?: number;
  /** The item of shard i (its full primary key). */
  key: (shard: number) => Record<string, string>;
  /**
   * Added to each shard's window: a request leaves a little after its slot is written and reaches the
   * server after a variable delay, and that spread must not put one request too many into a second.
   */
  guardMs?: number;
  /** Timeout of one DynamoDB call (default 1,000 ms). */
  callTimeoutMs?: number;
  /**
   * This instance's pace while the store is out of reach (throttled, failing, timing out): the fleet
   * rate over the most instances that can run at once, so the fleet stays under it with no store.
   */
  fallbackRatePerSecond: number;
  /** How long an instance keeps to its fallback pace before it asks the store again (default 10 s). */
  fallbackForMs?: number;
  random?: () => number;
}

/** One of a shard's logs: its attributes are `<prefix><residue>`. */
interface Limit {
  prefix: 's' | 'm';
  shape: { size: number; windowMs: number };
}

interface ShardLog {
  n: number;
  slots: Record<string, Record<number, number>>;
}

/** Most a lost race backs off before its next read (doubling from 10 ms). */
const CONFLICT_BACKOFF_CAP_MS = 320;

interface Waiter {
  latestStart: number;
  resolve(slotAt: number): void;
  reject(err: unknown): void;
}

/**
 * A fleet-wide rate with no single item to throttle or lose. The rate is split over `shards` DynamoDB
 * items (shard i holds floor(R/N) or one more of the R slots per second), each a sliding-window log
 * (`n` counts reservations, `s<j>` holds the send time reserved by number j mod its rate, written
 * conditioned on `n` unchanged). A batch of this instance's waiters reserves on one shard picked at
 * random, so contention is spread N ways; the shards' rates add up to R, so the fleet never sends more
 * than R in any window whichever shards its instances pick. With a per-minute rate M each shard keeps a
 * second log of its share of M over a 60 s window, written with the first. A lost race backs off
 * (jittered, doubling) and tries another shard, so the read-and-write races of C callers do not grow
 * with C squared as they would on one item. Fail-soft: when the store is throttled or
 * out of reach, the instance paces itself at `fallbackRatePerSecond` for `fallbackForMs`, then tries
 * the store again (after a first failure it tries another shard, since one hot item is the likely
 * cause). It neither stops (one hot item would stop the whole fleet) nor floods (with every
 * instance in fallback the fleet sends at most R; a fleet split between the two at most twice R).
 */
export class ShardedDynamoRateLimiter implements FleetRateLimiter {
  private readonly rates: number[];
  private readonly limits: Limit[][];
  private readonly guardMs: number;
  private readonly callTimeoutMs: number;
  private readonly fallbackForMs: number;
  private readonly random: () => number;
  private readonly fallback: InProcessRateLimiter;
  private fallbackUntil = Number.NEGATIVE_INFINITY;
  private pending: Waiter[] = [];
  private pumping = false;
  private lastWriteMs = 0;
  /** Admissions through the store and through the fallback pace, lost races, store failures. */
  readonly counts = { admitted: 0, fallback: 0, conflicts: 0, storeFailures: 0, spent: 0 };

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly config: ShardedRateConfig,
    private readonly clock: Clock,
  ) {
    const rate = Math.max(1, Math.floor(config.ratePerSecond));
    const shards = Math.max(1, Math.min(rate, Math.floor(config.shards ?? 4)));
    this.rates = Array.from(
      { length: shards },
      (_, i) => Math.floor(rate / shards) + (i < rate % shards ? 1 : 0),
    );
    this.guardMs = config.guardMs ?? 100;
    const perMinute = config.ratePerMinute === undefined ? undefined : Math.floor(config.ratePerMinute);
    this.limits = this.rates.map((r, i) => {
      const limits: Limit[] = [{ prefix: 's', shape: slotShape(r, this.guardMs) }];
      if (perMinute !== undefined) {
        const share = Math.floor(perMinute / shards) + (i < perMinute % shards ? 1 : 0);
        limits.push({ prefix: 'm', shape: { size: Math.max(1, share), windowMs: 60_000 + this.guardMs } });
      }
      return limits;
    });
    this.callTimeoutMs = config.callTimeoutMs ?? 1_000;
    this.fallbackForMs = config.fallbackForMs ?? 10_000;
    this.random = config.random ?? Math.random;
    this.fallback = new InProcessRateLimiter(
      config.fallbackRatePerSecond,
      clock,
      `${config.what} (fallback pace)`,
    );
  }

  /** The shards' rates (they add up to the fleet rate). */
  get shardRates(): readonly number[] {
    return this.rates;
  }

  /** True while this instance keeps to its fallback pace. */
  get inFallback(): boolean {
    return this.clock.now() < this.fallbackUntil;
  }

  async acquire(latestStart: number): Promise<void> {
    for (;;) {
      if (this.inFallback) {
        await this.fallback.acquire(latestStart);
        this.counts.fallback++;
        return;
      }
      const slotAt = await new Promise<number>((resolve, reject) => {
        this.pending.push({ latestStart, resolve, reject });
        void this.pump();
      });
      if (Number.isNaN(slotAt)) continue; // the store failed meanwhile: the fallback pace
      const wait = slotAt - this.clock.now();
      if (wait > 0) await sleepOn(this.clock, wait);
      if (this.clock.now() - slotAt <= this.guardMs / 2) {
        this.counts.admitted++;
        return;
      }
      // Woke too late (a stalled event loop): sending now could fall into the next window's count.
      this.counts.spent++;
    }
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.pending.length > 0) {
        const shard = Math.floor(this.random() * this.rates.length);
        await this.reserve(shard, this.pending.splice(0, this.rates[shard]));
      }
    } finally {
      this.pumping = false;
    }
  }

  private async reserve(firstShard: number, batch: Waiter[]): Promise<void> {
    let shard = firstShard;
    let lost = 0;
    for (let attempt = 0; ; attempt++) {
      const now = this.clock.now();
      for (const w of batch) if (w.latestStart < now) w.reject(noSlot(this.config.what, w.latestStart));
      batch = batch.filter((w) => w.latestStart >= now);
      if (batch.length === 0) return;
      try {
        const log = await this.read(shard);
        const logs = this.limits[shard]!.map((l) => ({ shape: l.shape, slots: log.slots[l.prefix]! }));
        const times = nextSlotsAcross(log.n, logs, this.clock.now() + this.lastWriteMs, batch.length);
        const granted = batch.filter((w, j) => times[j]! <= w.latestStart);
        for (const w of batch) if (!granted.includes(w)) w.reject(noSlot(this.config.what, w.latestStart));
        if (granted.length === 0) return;
        if (await this.claim(shard, log.n, times.slice(0, granted.length))) {
          // Times are in order, and so are the waiters granted: the earliest waiters get the earliest slots.
          for (const [j, w] of granted.entries()) w.resolve(times[j]!);
          return;
        }
        this.counts.conflicts++;
        batch = granted;
        // Another instance wrote first: wait a jittered, doubling while and try another shard, so
        // the callers that raced spread out instead of racing again in step on the same item.
        lost += 1;
        await sleepOn(
          this.clock,
          Math.floor(this.random() * Math.min(CONFLICT_BACKOFF_CAP_MS, 10 * 2 ** lost)),
        );
        shard = this.otherShard(shard);
      } catch (err) {
        if (!isTransientAwsError(err) && !isTimeout(err)) {
          for (const w of batch) w.reject(asTransient(err, this.config.what));
          return;
        }
        this.counts.storeFailures++;
        if (attempt >= 1) {
          // Twice in a row: fail soft. Every waiter of this instance goes to the fallback pace.
          this.fallbackUntil = this.clock.now() + this.fallbackForMs;
          for (const w of [...batch, ...this.pending.splice(0)]) w.resolve(Number.NaN);
          return;
        }
        // One item may be hot (throttled) while the others are not: the retry goes to another shard.
        await sleepOn(this.clock, Math.floor(this.random() * 50));
        shard = this.otherShard(shard);
      }
    }
  }

  /** A shard other than `shard` picked at random (the same one if there is only one). */
  private otherShard(shard: number): number {
    const n = this.rates.length;
    return n === 1 ? shard : (shard + 1 + Math.floor(this.random() * (n - 1))) % n;
  }

  private async read(shard: number): Promise<ShardLog> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: this.config.key(shard), ConsistentRead: true }),
      { abortSignal: timeoutOn(this.clock, this.callTimeoutMs) },
    );
    const item = out.Item ?? {};
    const slots: ShardLog['slots'] = { s: {}, m: {} };
    for (const [name, value] of Object.entries(item)) {
      const m = /^([sm])(\d+)$/.exec(name);
      if (m && typeof value === 'number') slots[m[1]!]![Number(m[2])] = value;
    }
    return { n: typeof item.n === 'number' ? item.n : 0, slots };
  }

  /** Writes reservations n.. of the shard; false if another instance wrote first. */
  private async claim(shard: number, n: number, times: number[]): Promise<boolean> {
    const names: Record<string, string> = { '#n': 'n', '#rate': 'ratePerSecond' };
    const values: Record<string, unknown> = { ':next': n + times.length, ':rate': this.rates[shard] };
    const sets = ['#n = :next', '#rate = :rate'];
    for (const { prefix, shape } of this.limits[shard]!)
      times.forEach((at, j) => {
        const name = `${prefix}${(n + j) % shape.size}`;
        // A batch larger than a log writes a residue twice: the later (larger) time is the one kept.
        names[`#${name}`] = name;
        values[`:${name}`] = at;
      });
    for (const name of Object.values(names).filter((v) => /^[sm]\d+$/.test(v)))
      sets.push(`#${name} = :${name}`);
    if (n !== 0) values[':n'] = n;
    const started = this.clock.now();
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.config.key(shard),
          UpdateExpression: `SET ${sets.join(', ')}`,
          // n only grows, so "absent" is the same as n = 0.
          ConditionExpression: n === 0 ? 'attribute_not_exists(#n)' : '#n = :n',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
        { abortSignal: timeoutOn(this.clock, this.callTimeoutMs) },
      );
      this.lastWriteMs = this.clock.now() - started;
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }
}

function isTimeout(err: unknown): boolean {
  const name = (err as { name?: string } | undefined)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}
