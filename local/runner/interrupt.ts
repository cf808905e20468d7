import { EXIT_CODES } from './report.ts';

/**
 * Ctrl-C / SIGTERM during a local run. The first signal asks the run to stop the way a Lambda near its
 * timeout stops (no new record, requests in flight finish and are recorded), then the runner closes
 * the database and simulators cleanly and prints how to resume. A second signal exits at once: the
 * simulators have journaled every acknowledged write and DynamoDB (dynalite) every completed call, so
 * even then nothing acknowledged is lost; the resume reconciles what was in flight.
 */
export class InterruptWatch {
  signal: NodeJS.Signals | undefined;
  private stop: (() => void) | undefined;
  private readonly handler = (signal: NodeJS.Signals): void => {
    if (this.signal) {
      this.note(`${signal} again: exiting now; every acknowledged write is saved, resume to finish`);
      process.exit(signalExitCode(signal));
    }
    this.signal = signal;
    this.note(
      `${signal}: stopping after the requests in flight (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again exits at once)`,
    );
    this.stop?.();
  };

  constructor(private readonly note: (line: string) => void) {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  /** What to do on the first signal; runs at once if one already came. */
  onInterrupt(stop: () => void): void {
    this.stop = stop;
    if (this.signal) stop();
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}

export const signalExitCode = (signal: string): number =>
  signal === 'SIGTERM' ? EXIT_CODES.terminated : EXIT_CODES.interrupted;
