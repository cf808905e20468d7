/** Where a local run talks to its human (its own module: the runners and their watchers all take it). */
export interface RunIo {
  /** Human-facing notes (stderr), never the JSON report. */
  note(line: string): void;
}
