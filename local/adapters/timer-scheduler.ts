import { type Clock, type Scheduler, systemClock } from '../../lambdas/core/ports.ts';

/** setTimeout's ceiling (~24.8 days); longer waits are chained. */
const MAX_TIMER_MS = 2_147_483_647;

export interface TimerSchedulerOptions {
  clock?: Clock;
  /** A fire whose callback throws: logged by the owner (the Scheduler service would retry; we do not). */
  onError?: (err: unknown, name: string) => void;
}

/**
 * The laptop's EventBridge Scheduler: one unref'd timer per schedule name (a new schedule replaces the
 * old one, as UpdateSchedule does), firing `onFire(payload)` once and then forgetting it
 * (ActionAfterCompletion DELETE). Unref'd so a pending refresh never keeps a finished CLI alive.
 */
export class TimerScheduler implements Scheduler {
  private readonly timers = new Map<
    string,
    { timer: NodeJS.Timeout; at: number; payload: Record<string, unknown> }
  >();
  private readonly clock: Clock;
  private closed = false;
  /** Schedules that fired (for reports and tests). */
  fired = 0;

  constructor(
    private readonly onFire: (payload: Record<string, unknown>, name: string) => unknown,
    private readonly options: TimerSchedulerOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async scheduleOnce(name: string, at: Date, payload: Record<string, unknown>): Promise<void> {
    if (this.closed) return;
    this.clear(name);
    this.arm(name, at.getTime(), payload);
  }

  async cancel(name: string): Promise<void> {
    this.clear(name);
  }

  /** Stops every pending timer; later scheduleOnce calls are ignored. */
  closeAll(): void {
    this.closed = true;
    for (const name of [...this.timers.keys()]) this.clear(name);
  }

  pending(): { name: string; at: Date }[] {
    return [...this.timers.entries()].map(([name, t]) => ({ name, at: new Date(t.at) }));
  }

  private arm(name: string, at: number, payload: Record<string, unknown>): void {
    const delay = Math.max(0, at - this.clock.now());
    const timer = setTimeout(
      () => {
        if (delay > MAX_TIMER_MS) {
          this.arm(name, at, payload);
          return;
        }
        this.timers.delete(name);
        this.fired++;
        Promise.resolve()
          .then(() => this.onFire(payload, name))
          .catch((err: unknown) => this.options.onError?.(err, name));
      },
      Math.min(delay, MAX_TIMER_MS),
    );
    timer.unref();
    this.timers.set(name, { timer, at, payload });
  }

  private clear(name: string): void {
    const existing = this.timers.get(name);
    if (existing) clearTimeout(existing.timer);
    this.timers.delete(name);
  }
}
