import type fc from 'fast-check';
import type { Clock } from '../../../lambdas/core/ports.ts';

/**
 * Virtual time plus fast-check's scheduler: every I/O step of the code under test (a DynamoDB call, a KMS
 * call, a token request, a sleep) is a task the scheduler releases in an order it picks from the seed.
 *
 * Time: a step started at `t` with latency `d` completes at `max(now, t + d)` when released, so a step
 * released after others behaves as if it had been slower; any latency is possible, as in production.
 * Deadlines are kept exactly: an abort signal fires, and a forced event (an HCM write that commits late)
 * happens, at its own time, before the clock moves past it.
 *
 * Actors: each process under test (a broker instance, a chunk invocation) is an actor. An actor may be
 * killed at its n-th step: it stops at that await forever, as a Lambda that timed out or ran out of memory
 * (the step's effect may still land: a request already on the wire).
 */
export interface Actor {
  readonly name: string;
  steps: number;
  dead: boolean;
  /** Stops forever at this step (1-based); its request still reaches the peer when `killLands`. */
  killAt?: number;
  killLands?: boolean;
}

interface Deadline {
  at: number;
  seq: number;
  fire: () => void;
}

const NEVER = new Promise<never>(() => {});

export class World {
  now: number;
  private readonly deadlines: Deadline[] = [];
  private seq = 0;
  /** Human-readable events for a failing schedule's story. */
  readonly story: string[] = [];

  constructor(
    readonly s: fc.Scheduler,
    start = Date.UTC(2026, 11, 2),
  ) {
    this.now = start;
  }

  actor(name: string, kill?: { at: number; lands: boolean }): Actor {
    return { name, steps: 0, dead: false, killAt: kill?.at, killLands: kill?.lands };
  }

  /** Moves the clock to `t`, firing every deadline on the way in time order. */
  advanceTo(t: number): void {
    for (;;) {
      let next: Deadline | undefined;
      for (const d of this.deadlines)
        if (d.at <= t && (!next || d.at < next.at || (d.at === next.at && d.seq < next.seq))) next = d;
      if (!next) break;
      this.deadlines.splice(this.deadlines.indexOf(next), 1);
      this.now = Math.max(this.now, next.at);
      next.fire();
    }
    this.now = Math.max(this.now, t);
  }

  /** Runs `fire` at virtual time `at` at the latest (earlier if the caller settles it first). */
  deadline(at: number, fire: () => void): () => void {
    const d: Deadline = { at, seq: this.seq++, fire };
    this.deadlines.push(d);
    return () => {
      const i = this.deadlines.indexOf(d);
      if (i >= 0) this.deadlines.splice(i, 1);
    };
  }

  /** AbortSignal.timeout on virtual time. */
  timeout(ms: number): AbortSignal {
    const controller = new AbortController();
    this.deadline(this.now + ms, () =>
      controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    );
    return controller.signal;
  }

  /**
   * One I/O step of `actor`, completing after `latencyMs` at the scheduler's choosing. `effect` runs at
   * completion (synchronously: that is when the peer applies it). An abort before completion rejects the
   * caller at once; the request still reaches the peer when released (it was on the wire).
   */
  step<T>(actor: Actor, label: string, latencyMs: number, effect: () => T, signal?: AbortSignal): Promise<T> {
    if (actor.dead) return NEVER;
    actor.steps += 1;
    const start = this.now;
    const killed = actor.killAt === actor.steps;
    if (killed) {
      actor.dead = true;
      this.story.push(`${actor.name} stops forever at step ${actor.steps} (${label})`);
      if (!actor.killLands) return NEVER;
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      void this.s.schedule(Promise.resolve(), `${actor.name}: ${label}`).then(() => {
        this.advanceTo(start + latencyMs);
        let out: T;
        try {
          out = effect();
        } catch (err) {
          if (!settled && !killed) {
            settled = true;
            reject(err);
          }
          return;
        }
        signal?.removeEventListener('abort', onAbort);
        if (settled || killed) return;
        settled = true;
        resolve(out);
      });
    });
  }

  /** The clock an actor's code runs on: its sleeps are steps, its timeouts virtual. */
  clock(actor: Actor): Required<Clock> {
    return {
      now: () => this.now,
      sleep: (ms) => this.step(actor, `sleep ${Math.round(ms)} ms`, ms, () => undefined),
      timeout: (ms) => this.timeout(ms),
    };
  }

  /**
   * Releases tasks until `done` settles and nothing is pending (the whole story plays out), or the step
   * budget runs out (a livelock: reported as a failure by the caller).
   */
  async run(maxSteps: number): Promise<{ steps: number; exhausted: boolean }> {
    let steps = 0;
    for (;;) {
      if (this.s.count() === 0) {
        // Let every microtask of the last release run (it may schedule the next step); there is no
        // real I/O in a scenario, so one macrotask turn is enough and keeps the replay exact.
        await new Promise((r) => setImmediate(r));
        if (this.s.count() === 0) return { steps, exhausted: false };
      }
      if (steps >= maxSteps) return { steps, exhausted: true };
      await this.s.waitNext(1);
      steps += 1;
    }
  }
}

/** Picks the i-th value of a fault plan, cycling (a plan shorter than the run repeats). */
export function cycle<T>(plan: readonly T[], i: number, fallback: T): T {
  return plan.length === 0 ? fallback : (plan[i % plan.length] as T);
}
