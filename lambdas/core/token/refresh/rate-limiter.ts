import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { asTransient, isConditionFailed, isTransientAwsError } from '../../aws-errors.ts';
import { NoRateSlotError } from '../../errors.ts';
import type { Clock } from '../../ports.ts';
import { sleepOn, timeoutOn } from '../../retry.ts';
import { CONNECTION_TABLE } from '../../tables.ts';

/**
 * The shared token-endpoint rate (issue 11, fleet scale). Every token request of every broker instance
 * (sweep, proactive, just-in-time, after-401, connect, and each retry of one) asks it for a slot right
 * before it is sent.
 */
export interface TokenRateLimiter {
  /**
   * Resolves when one request may leave now. Throws NotStartedError (nothing sent: a plain transient
   * failure) when no slot is free by `latestStart`, the last moment the request could still start.
   */
  acquire(latestStart: number): Promise<void>;
}

export const UNLIMITED: TokenRateLimiter = { acquire: async () => undefined };

/** Keys of limiter items in the connection table; `~` keeps them out of the way of real connection ids. */
export const RATE_LIMIT_KEY_PREFIX = '~rate-limit:';
export const TOKEN_RATE_LIMIT_KEY = `${RATE_LIMIT_KEY_PREFIX}token-endpoint`;

export interface RateLimitConfig {
  /** Requests per second the whole fleet may send (0: no limit). */
  ratePerSecond: number;
  /**
   * Added to the 1 s window: a request leaves a little after its slot is written and reaches the IdP
   * after a variable delay, and that spread must not put one request too many into an IdP second. A
   * claim whose write took more than half of it is not used (its slot stays spent).
   */
  guardMs: number;
  /** Timeout of one DynamoDB call of the limiter. */
  callTimeoutMs: number;
  random: () => number;
}

/**
 * A sliding-window log in one DynamoDB item, shared by every broker instance (in AWS, every concurrent
 * Lambda): `n` counts reservations, `s<i>` holds the send time reserved by number i (mod rate).
 * Reservation n takes the time max(now, s[n mod rate] + window), written conditioned on `n` being
 * unchanged, and its caller sleeps until then. Any rate + 1 reservations include two of the same
 * residue, a whole window apart, so no window of 1 s + guard holds more than `rate` sends, however many
 * instances ask. The callers waiting in one instance reserve together: one consistent read and one
 * conditional write for up to `rate` of them (so a slow table does not throttle the rate further); a
 * lost race re-reads. A caller that wakes more than half the guard after its time does not send (its
 * slot stays spent) and reserves again.
 */
export class DynamoTokenRateLimiter implements TokenRateLimiter {
  private readonly windowMs: number;
  private pending: Waiter[] = [];
  private pumping = false;
  /** Round trip of the last reservation write. */
  private lastWriteMs = 0;
  /** Admissions, lost races and slots spent by a late wake-up, for tests and the fleet bench. */
  readonly counts = { admitted: 0, conflicts: 0, spent: 0 };

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly config: RateLimitConfig,
    private readonly clock: Clock,
    private readonly key: string = TOKEN_RATE_LIMIT_KEY,
  ) {
    this.windowMs = 1_000 + config.guardMs;
  }

  async acquire(latestStart: number): Promise<void> {
    if (Math.floor(this.config.ratePerSecond) <= 0) return;
    for (;;) {
      const slotAt = await new Promise<number>((resolve, reject) => {
        this.pending.push({ latestStart, resolve, reject });
        void this.pump();
      });
      const wait = slotAt - this.clock.now();
      if (wait > 0) await sleepOn(this.clock, wait);
      if (this.clock.now() - slotAt <= this.config.guardMs / 2) {
        this.counts.admitted++;
        return;
      }
      this.counts.spent++;
    }
  }

  /** One batch at a time per instance, oldest waiters first. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const rate = Math.floor(this.config.ratePerSecond);
      while (this.pending.length > 0) await this.reserve(rate, this.pending.splice(0, rate));
    } finally {
      this.pumping = false;
    }
  }

  /** Reserves the next send times of the fleet's log for a batch of this instance's waiters. */
  private async reserve(rate: number, batch: Waiter[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const now = this.clock.now();
      for (const w of batch) if (w.latestStart < now) w.reject(this.noSlot(w.latestStart));
      batch = batch.filter((w) => w.latestStart >= now);
      if (batch.length === 0) return;
      const until = Math.max(...batch.map((w) => w.latestStart));
      try {
        const log = await this.read(until);
        const granted: Array<{ waiter: Waiter; slotAt: number }> = [];
        for (const waiter of batch) {
          // Not before our write is likely back: a slot of "now" would be late by the write's own time.
          const slotAt = Math.max(
            this.clock.now() + this.lastWriteMs,
            (log.slots[(log.n + granted.length) % rate] ?? 0) + this.windowMs,
          );
          if (slotAt > waiter.latestStart) waiter.reject(this.noSlot(waiter.latestStart));
          else granted.push({ waiter, slotAt });
        }
        if (granted.length === 0) return;
        if (
          await this.claim(
            rate,
            log.n,
            granted.map((g) => g.slotAt),
            until,
          )
        ) {
          for (const g of granted) g.waiter.resolve(g.slotAt);
          return;
        }
        this.counts.conflicts++;
        // Another instance wrote first: spread the re-reads instead of racing again in lockstep.
        await sleepOn(this.clock, Math.floor(this.config.random() * 10));
      } catch (err) {
        const delay = Math.floor(this.config.random() * Math.min(1_000, 50 * 2 ** attempt));
        if (!isTransientAwsError(err) || this.clock.now() + delay >= until) {
          for (const w of batch)
            w.reject(
              isTransientAwsError(err)
                ? this.noSlot(w.latestStart, err)
                : asTransient(err, 'token rate limit'),
            );
          return;
        }
        await sleepOn(this.clock, delay);
      }
    }
  }

  private async read(latestStart: number): Promise<{ n: number; slots: Record<number, number> }> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [CONNECTION_TABLE.partitionKey]: this.key },
        ConsistentRead: true,
      }),
      { abortSignal: this.signal(latestStart) },
    );
    const item = out.Item ?? {};
    const slots: Record<number, number> = {};
    for (const [name, value] of Object.entries(item))
      if (/^s\d+$/.test(name) && typeof value === 'number') slots[Number(name.slice(1))] = value;
    return { n: typeof item.n === 'number' ? item.n : 0, slots };
  }

  /** Writes reservations n.. for `slotsAt`; false if another instance wrote first. */
  private async claim(rate: number, n: number, slotsAt: number[], latestStart: number): Promise<boolean> {
    const names: Record<string, string> = { '#n': 'n', '#rate': 'ratePerSecond' };
    const values: Record<string, unknown> = { ':next': n + slotsAt.length, ':rate': rate };
    const sets = ['#n = :next', '#rate = :rate'];
    slotsAt.forEach((at, j) => {
      names[`#s${j}`] = `s${(n + j) % rate}`;
      values[`:s${j}`] = at;
      sets.push(`#s${j} = :s${j}`);
    });
    if (n !== 0) values[':n'] = n;
    const started = this.clock.now();
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [CONNECTION_TABLE.partitionKey]: this.key },
          UpdateExpression: `SET ${sets.join(', ')}`,
          // n only grows, so "absent" is the same as n = 0.
          ConditionExpression: n === 0 ? 'attribute_not_exists(#n)' : '#n = :n',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
        { abortSignal: this.signal(latestStart) },
      );
      this.lastWriteMs = this.clock.now() - started;
      return true;
    } catch (err) {
      if (isConditionFailed(err)) return false;
      throw err;
    }
  }

  /** A call may not outlive the moment the request would have to start. */
  private signal(latestStart: number): AbortSignal {
    const left = latestStart - this.clock.now();
    if (left < 1) throw this.noSlot(latestStart);
    return timeoutOn(this.clock, Math.min(this.config.callTimeoutMs, left));
  }

  private noSlot(latestStart: number, cause?: unknown): NoRateSlotError {
    return new NoRateSlotError(
      `token request not sent: no slot of the shared ${this.config.ratePerSecond}/s token-endpoint rate before ${new Date(latestStart).toISOString()}`,
      undefined,
      { cause },
    );
  }
}

interface Waiter {
  latestStart: number;
  resolve(slotAt: number): void;
  reject(err: unknown): void;
}
