import cliProgress from 'cli-progress';

export interface ProgressSample {
  done: number;
  total: number;
  refreshes: number;
  unauthorized: number;
  retries: number;
}

/**
 * A live progress bar on stderr (so `--json` on stdout stays clean), fed by polling a sampler.
 * goals/s is measured over the last few seconds, not since start, so it reflects the current pace.
 */
export class ProgressReporter {
  private readonly bar: cliProgress.SingleBar;
  private timer: NodeJS.Timeout | undefined;
  private readonly window: Array<{ t: number; done: number }> = [];

  constructor(
    private readonly sample: () => Promise<ProgressSample> | ProgressSample,
    private readonly enabled: boolean,
  ) {
    this.bar = new cliProgress.SingleBar(
      {
        format:
          ' {bar} {percentage}% | {value}/{total} goals | {rate} goals/s | ETA {eta_formatted} | refreshes {refreshes} | 401s {unauthorized} | retries {retries}',
        hideCursor: true,
        stream: process.stderr,
        etaBuffer: 50,
        noTTYOutput: false,
        notTTYSchedule: 10_000,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  start(total: number): void {
    if (!this.enabled) return;
    this.bar.start(total, 0, { rate: '0.0', refreshes: 0, unauthorized: 0, retries: 0 });
    this.timer = setInterval(() => void this.tick(), 500);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const s = await this.sample();
    const now = Date.now();
    this.window.push({ t: now, done: s.done });
    while (this.window.length > 1 && now - this.window[0]!.t > 5000) this.window.shift();
    const first = this.window[0]!;
    const rate = now > first.t ? ((s.done - first.done) * 1000) / (now - first.t) : 0;
    this.bar.setTotal(s.total);
    this.bar.update(Math.min(s.done, s.total), {
      rate: rate.toFixed(1),
      refreshes: s.refreshes,
      unauthorized: s.unauthorized,
      retries: s.retries,
    });
  }

  async stop(): Promise<void> {
    if (!this.enabled) return;
    if (this.timer) clearInterval(this.timer);
    await this.tick();
    this.bar.stop();
  }
}
