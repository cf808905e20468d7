import { EXIT_CODES } from './report.ts';

/**
 * Ctrl-C / SIGTERM during a local run. The first signal asks the run to stop the way a Lambda near its
 * timeout stops (no new record, requests in flight finish and are recorded), then the runner closes
 * the database and simulators cleanly and prints how to resume. A second signal exits at once: the
 * simulators have journaled every acknowledged write and DynamoDB (dynalite) every completed call, so
 * even then nothing acknowledged is lost; the resume reconciles what was in flight, and the second signal
 * prints the command that does it (once the run is known and its state is on disk).
 */
export class InterruptWatch {
  signal: NodeJS.Signals | undefined;
  private stop: (() => void) | undefined;
  private resume: string | undefined;
  private readonly handler = (signal: NodeJS.Signals): void => {
    if (this.signal) {
      this.note(
        this.resume
          ? `${signal} again: exiting now; every acknowledged write is saved. resume with: ${this.resume}`
          : `${signal} again: exiting now`,
      );
      process.exit(signalExitCode(signal));
    }
    this.signal = signal;
    this.note(
      `${signal}: stopping after the requests in flight (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again exits at once)`,
    );
    this.stop?.();
  };

  /**
   * @param resumeCommandFor the command that resumes a run, given its id and state dir (the CLI knows the
   *   flags it was started with; the runner knows the run)
   */
  constructor(
    private readonly note: (line: string) => void,
    private readonly resumeCommandFor?: (run: { runId: string; stateDir: string }) => string,
  ) {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  /** What to do on the first signal; runs at once if one already came. */
  onInterrupt(stop: () => void): void {
    this.stop = stop;
    if (this.signal) stop();
  }

  /** The run a second signal would leave behind: from now on that signal prints its resume command. */
  resumable(run: { runId: string; stateDir: string }): void {
    this.resume = this.resumeCommandFor?.(run);
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}

export const signalExitCode = (signal: string): number =>
  signal === 'SIGTERM' ? EXIT_CODES.terminated : EXIT_CODES.interrupted;
