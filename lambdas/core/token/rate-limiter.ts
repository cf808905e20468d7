import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../ports.ts';
import { sleep } from '../retry.ts';
import { CONNECTION_TABLE } from '../tables.ts';
import { asTransient, isConditionFailed, isTransientAwsError } from './aws-errors.ts';
import { NotStartedError } from './budget.ts';

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

/** No slot of the shared rate by the deadline (or the limiter's table kept failing): nothing was sent. */
export class NoRateSlotError extends NotStartedError {}

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
 * Reservation n takes the time max(now, s[n mod rate] + window) in one write conditioned on `n` being
 * unchanged, then sleeps until it. Any rate + 1 reservations include two of the same residue, a whole
 * window apart, so no window of 1 s + guard holds more than `rate` sends, however many instances ask.
 * One consistent read and one conditional write per request; a lost race re-reads. A caller that wakes
 * more than half the guard after its time does not send (its slot stays spent) and reserves again.
 */
export class DynamoTokenRateLimiter implements TokenRateLimiter {
  private readonly windowMs: number;
  /** Callers of one instance reserve one at a time, so only instances (not every caller) race. */
  private queue: Promise<unknown> = Promise.resolve();
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
    const rate = Math.floor(this.config.ratePerSecond);
    if (rate <= 0) return;
    for (;;) {
      const turn = this.queue.then(() => this.reserve(rate, latestStart));
      this.queue = turn.catch(() => undefined);
      const slotAt = await turn;
      const wait = slotAt - this.clock.now();
      if (wait > 0) await sleep(wait);
      if (this.clock.now() - slotAt <= this.config.guardMs / 2) {
        this.counts.admitted++;
        return;
      }
      this.counts.spent++;
    }
  }

  /** Reserves the next send time of the fleet's log for this caller. */
  private async reserve(rate: number, latestStart: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      let log: { n: number; last: number };
      try {
        log = await this.read(rate, latestStart);
      } catch (err) {
        await this.backOff(err, attempt, latestStart);
        continue;
      }
      const slotAt = Math.max(this.clock.now(), log.last + this.windowMs);
      if (slotAt > latestStart) throw this.noSlot(latestStart);
      try {
        if (await this.claim(rate, log.n, slotAt, latestStart)) return slotAt;
        this.counts.conflicts++;
        // Another instance wrote first: spread the re-reads instead of racing again in lockstep.
        await sleep(Math.floor(this.config.random() * 10));
      } catch (err) {
        await this.backOff(err, attempt, latestStart);
      }
    }
  }

  private async read(rate: number, latestStart: number): Promise<{ n: number; last: number }> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [CONNECTION_TABLE.partitionKey]: this.key },
        ConsistentRead: true,
      }),
      { abortSignal: this.signal(latestStart) },
    );
    const n = typeof out.Item?.n === 'number' ? out.Item.n : 0;
    const last = out.Item?.[`s${n % rate}`];
    return { n, last: typeof last === 'number' ? last : 0 };
  }

  /** Writes reservation `n` for `slotAt`; false if another instance took number n first. */
  private async claim(rate: number, n: number, slotAt: number, latestStart: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [CONNECTION_TABLE.partitionKey]: this.key },
          UpdateExpression: 'SET #n = :next, #slot = :at, #rate = :rate',
          // n only grows, so "absent" is the same as n = 0.
          ConditionExpression: n === 0 ? 'attribute_not_exists(#n)' : '#n = :n',
          ExpressionAttributeNames: { '#n': 'n', '#slot': `s${n % rate}`, '#rate': 'ratePerSecond' },
          ExpressionAttributeValues: {
            ':next': n + 1,
            ':at': slotAt,
            ':rate': rate,
            ...(n === 0 ? {} : { ':n': n }),
          },
        }),
        { abortSignal: this.signal(latestStart) },
      );
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
    return AbortSignal.timeout(Math.min(this.config.callTimeoutMs, left));
  }

  private async backOff(err: unknown, attempt: number, latestStart: number): Promise<void> {
    if (err instanceof NotStartedError) throw err;
    if (!isTransientAwsError(err)) throw asTransient(err, 'token rate limit');
    const delay = Math.floor(this.config.random() * Math.min(1_000, 50 * 2 ** attempt));
    if (this.clock.now() + delay >= latestStart) throw this.noSlot(latestStart, err);
    await sleep(delay);
  }

  private noSlot(latestStart: number, cause?: unknown): NoRateSlotError {
    return new NoRateSlotError(
      `token request not sent: no slot of the shared ${this.config.ratePerSecond}/s token-endpoint rate before ${new Date(latestStart).toISOString()}`,
      undefined,
      { cause },
    );
  }
}
