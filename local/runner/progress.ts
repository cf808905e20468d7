/**
 * The progress display of `goal-sync local`, on stderr (so `--json` on stdout stays clean).
 *   bar    a terminal: one line redrawn in place, the numbers first so a narrow terminal keeps them
 *   plain  no terminal (cron, CI logs): a line every N seconds and a last one at the end
 *   none   nothing
 * No colour is ever written (NO_COLOR holds by construction). goals/s is measured over the last
 * seconds, not since start, and there is no ETA until a few seconds of that pace exist: a first
 * estimate from one sample ("ETA 3h0m") is noise that people read as a fact.
 */
export type ProgressMode = 'bar' | 'plain' | 'none';
export const PROGRESS_MODES: readonly ProgressMode[] = ['bar', 'plain', 'none'];

export interface ProgressSample {
  done: number;
  /** Records in the source; undefined until the plan has counted them. */
  total?: number;
  refreshes: number;
  unauthorized: number;
  retries: number;
}

/** The pace is measured over this window; the ETA waits until the window holds this much data. */
const WINDOW_MS = 10_000;
export const ETA_AFTER_MS = 5_000;
const BAR_MIN = 10;

/** --progress, else a bar on a terminal, lines elsewhere; --json alone means none. */
export function progressMode(
  flag: ProgressMode | undefined,
  o: { noProgress: boolean; json: boolean },
  stream: { isTTY?: boolean } = process.stderr,
): ProgressMode {
  if (flag) return flag;
  if (o.noProgress || o.json) return 'none';
  return stream.isTTY && process.env.TERM !== 'dumb' ? 'bar' : 'plain';
}

const fmt = (n: number) => n.toLocaleString('en-US');

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * One progress line of at most `columns` characters: the segments in order of importance, each added
 * while it fits, and the bar last in what room is left.
 */
export function formatProgress(
  s: ProgressSample,
  pace: { rate: number; etaSeconds?: number },
  columns: number,
  withBar: boolean,
): string {
  const total = s.total;
  const shown = total === undefined ? s.done : Math.min(s.done, total);
  const segments = [
    total === undefined ? `${fmt(shown)} goals (counting records)` : `${fmt(shown)}/${fmt(total)} goals`,
    ...(total ? [`${((shown * 100) / total).toFixed(0)}%`] : []),
    `${pace.rate.toFixed(1)}/s`,
    `ETA ${pace.etaSeconds === undefined ? '--' : formatDuration(pace.etaSeconds)}`,
    `refreshes ${s.refreshes}`,
    `401s ${s.unauthorized}`,
    `retries ${s.retries}`,
  ];
  let line = '';
  for (const segment of segments) {
    const next = line ? `${line} | ${segment}` : segment;
    if (next.length > columns) break;
    line = next;
  }
  const room = columns - line.length - 3;
  if (withBar && total && room >= BAR_MIN) {
    const width = Math.min(room, 40);
    const filled = Math.round((shown / total) * width);
    line += ` [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  }
  return line;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** plain mode: a line every this many seconds. */
  everySeconds?: number;
  now?: () => number;
}

type ConsoleMethod = 'log' | 'warn' | 'error' | 'info';

export class ProgressReporter {
  private timer: NodeJS.Timeout | undefined;
  private readonly window: Array<{ t: number; done: number }> = [];
  private readonly stream: NodeJS.WriteStream;
  private readonly now: () => number;
  private readonly everyMs: number;
  private startedAt = 0;
  private lastPlain = Number.NEGATIVE_INFINITY;
  private line = '';
  private restore: Array<() => void> = [];
  /** A slow sample (a loaded machine) must not let two ticks overlap and draw out of order. */
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly sample: () => Promise<ProgressSample> | ProgressSample,
    private readonly mode: ProgressMode,
    options: ProgressOptions = {},
  ) {
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? Date.now;
    this.everyMs = (options.everySeconds ?? 10) * 1000;
  }

  start(): void {
    if (this.mode === 'none') return;
    this.startedAt = this.now();
    if (this.mode === 'bar') this.keepOtherOutputOffTheBar();
    this.timer = setInterval(() => this.tickOnce(), this.mode === 'bar' ? 500 : 1000);
    this.timer.unref();
    this.tickOnce();
  }

  private tickOnce(): void {
    if (this.inFlight) return;
    this.inFlight = this.tick().finally(() => {
      this.inFlight = undefined;
    });
  }

  async stop(): Promise<void> {
    if (this.mode === 'none') return;
    if (this.timer) clearInterval(this.timer);
    await this.inFlight;
    await this.tick(true);
    if (this.mode === 'bar') this.stream.write('\n');
    for (const undo of this.restore) undo();
    this.restore = [];
  }

  private async tick(final = false): Promise<void> {
    const s = await this.sample();
    const now = this.now();
    this.window.push({ t: now, done: s.done });
    while (this.window.length > 2 && now - this.window[1]!.t >= WINDOW_MS) this.window.shift();
    const first = this.window[0]!;
    const span = now - first.t;
    const rate = span > 0 ? ((s.done - first.done) * 1000) / span : 0;
    const left = s.total === undefined ? undefined : Math.max(0, s.total - s.done);
    const etaSeconds =
      left !== undefined && rate > 0 && now - this.startedAt >= ETA_AFTER_MS && span >= ETA_AFTER_MS / 2
        ? left / rate
        : undefined;
    if (this.mode === 'bar') {
      const columns = this.stream.columns || 80;
      this.line = formatProgress(
        s,
        { rate, ...(etaSeconds === undefined ? {} : { etaSeconds }) },
        columns - 1,
        true,
      );
      this.draw();
    } else if (final || now - this.lastPlain >= this.everyMs) {
      this.lastPlain = now;
      const pace = { rate, ...(etaSeconds === undefined ? {} : { etaSeconds }) };
      this.stream.write(
        `progress ${formatDuration((now - this.startedAt) / 1000)}: ${formatProgress(s, pace, 200, false)}\n`,
      );
    }
  }

  private draw(): void {
    this.stream.write(`\r${this.line}\u001b[K`);
  }

  /**
   * Whatever else writes to the terminal while the bar is drawn (an SDK warning such as "socket usage
   * at capacity", a note) gets its own line: the bar is cleared first and drawn again below it.
   */
  private keepOtherOutputOffTheBar(): void {
    for (const method of ['log', 'warn', 'error', 'info'] as ConsoleMethod[]) {
      const original = console[method];
      console[method] = (...args: unknown[]) => {
        this.stream.write('\r\u001b[K');
        original.apply(console, args);
        if (this.line) this.draw();
      };
      this.restore.push(() => {
        console[method] = original;
      });
    }
  }
}
