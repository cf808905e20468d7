import { NotStartedError } from '../../errors.ts';
import type { CallOptions, Clock } from '../../ports.ts';
import { protocolGuards } from '../../protocol-guards.ts';
import { sleepOn, timeoutOn } from '../../retry.ts';

/**
 * The time left under a refresh lease (invariant 1). Every DynamoDB and KMS call made under the lease
 * takes its options from here: it starts only if its full timeout fits before the deadline, and it is
 * aborted at that timeout, so no call outlives the lease that guards it.
 */
export class CallBudget {
  constructor(
    private deadlineAt: number,
    private readonly clock: Clock,
    /** The full timeout of one call (SDK retries included). */
    readonly callTimeoutMs: number,
  ) {}

  get deadline(): number {
    return this.deadlineAt;
  }

  /** After the lease was extended. Never moves the deadline backwards. */
  extendTo(deadline: number): void {
    this.deadlineAt = Math.max(this.deadlineAt, deadline);
  }

  /** A backoff pause on the budget's clock. */
  pause(ms: number): Promise<void> {
    return sleepOn(this.clock, ms);
  }

  remainingMs(): number {
    return this.deadlineAt - this.clock.now();
  }

  /** Whether one more call (of its full timeout) plus `extraMs` (a backoff) fits. */
  fits(extraMs = 0): boolean {
    if (!protocolGuards.leaseBoundCommit) return true;
    return this.clock.now() + extraMs + this.callTimeoutMs <= this.deadlineAt;
  }

  /** Options for one call; throws NotStartedError instead of starting a call that could outlive the lease. */
  call(what: string): Required<CallOptions> {
    if (!protocolGuards.leaseBoundCommit) return { abortSignal: new AbortController().signal };
    if (!this.fits()) {
      throw new NotStartedError(
        `${what} not started: ${Math.max(0, this.remainingMs())} ms left under the lease, a call may take ${this.callTimeoutMs} ms`,
      );
    }
    return { abortSignal: timeoutOn(this.clock, this.callTimeoutMs) };
  }
}

export interface WithinOptions {
  baseMs: number;
  capMs: number;
  random: () => number;
  retryOn: (err: unknown) => boolean;
}

/**
 * Retries `fn` with full-jitter backoff for as long as one more whole call still fits the budget.
 * Each attempt gets its own abortable call options. The last error is rethrown when time runs out.
 */
export async function retryWithin<T>(
  budget: CallBudget,
  what: string,
  fn: (options: Required<CallOptions>, attempt: number) => Promise<T>,
  o: WithinOptions,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const options = budget.call(what);
    try {
      return await fn(options, attempt);
    } catch (err) {
      if (!o.retryOn(err)) throw err;
      const delay = Math.floor(o.random() * Math.min(o.capMs, o.baseMs * 2 ** attempt));
      if (!budget.fits(delay)) throw err;
      await budget.pause(delay);
    }
  }
}
