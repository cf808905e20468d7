import { Logger } from '@aws-lambda-powertools/logger';
import type { LogItemExtraInput, LogItemMessage } from '@aws-lambda-powertools/logger/types';

/** One token refresh the broker made, as its own log line tells it (the IdP cannot know the trigger). */
export interface RefreshEvent {
  atMs: number;
  /** proactive, jit, afterUnauthorized, sweep, connect. */
  trigger: string;
  version: number;
}

/** Refreshes kept per run: far above any run's (a 2 s token for an hour is 1,800). */
const MAX_EVENTS = 10_000;

/**
 * The broker's logger in the embedded default: it logs (or stays silent) as before and keeps the
 * broker's "token refreshed" lines (time, trigger, version) for the run report's token chart. Reading
 * the log line keeps the broker itself unchanged: the timeline is what it already tells CloudWatch.
 */
export class RefreshRecordingLogger extends Logger {
  readonly refreshes: RefreshEvent[] = [];

  override info(input: LogItemMessage, ...extraInput: LogItemExtraInput): void {
    const extra = extraInput[0];
    if (input === 'token refreshed' && extra && typeof extra === 'object' && !(extra instanceof Error)) {
      const { trigger, version } = extra as { trigger?: unknown; version?: unknown };
      if (typeof trigger === 'string' && typeof version === 'number' && this.refreshes.length < MAX_EVENTS)
        this.refreshes.push({ atMs: Date.now(), trigger, version });
    }
    super.info(input, ...extraInput);
  }
}
