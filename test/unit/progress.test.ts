import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  ETA_AFTER_MS,
  formatDuration,
  formatProgress,
  ProgressReporter,
  type ProgressSample,
  progressMode,
} from '../../local/runner/progress.ts';

const sample = (over: Partial<ProgressSample> = {}): ProgressSample => ({
  done: 1234,
  total: 5000,
  refreshes: 2,
  unauthorized: 0,
  retries: 3,
  ...over,
});

describe('the progress line', () => {
  it('numbers first, the bar in what room is left', () => {
    const line = formatProgress(sample(), { rate: 50.04, etaSeconds: 75 }, 120, true);
    expect(line).toMatch(
      /^1,234\/5,000 goals \| 25% \| 50\.0\/s \| ETA 1m15s \| refreshes 2 \| 401s 0 \| retries 3 \[#+-+\]$/,
    );
    expect(line.length).toBeLessThanOrEqual(120);
  });

  it('a 40-column terminal keeps the numbers and drops the bar', () => {
    const line = formatProgress(sample(), { rate: 50, etaSeconds: 75 }, 40, true);
    expect(line).toBe('1,234/5,000 goals | 25% | 50.0/s');
    expect(line).not.toContain('[');
  });

  it('no ETA without a pace; no total until the records are counted', () => {
    expect(formatProgress(sample(), { rate: 0 }, 200, false)).toContain('ETA --');
    expect(formatProgress(sample({ total: undefined }), { rate: 3 }, 200, true)).toMatch(
      /^1,234 goals \(counting records\) \| 3\.0\/s \| ETA --/,
    );
  });

  it.each([
    [5, '5s'],
    [75, '1m15s'],
    [10_800, '3h00m'],
  ])('%ds is %s', (s, text) => expect(formatDuration(s)).toBe(text));
});

describe('progress modes', () => {
  it('a bar on a terminal, lines elsewhere, none for --json or --no-progress; --progress wins', () => {
    expect(progressMode(undefined, { noProgress: false, json: false }, { isTTY: true })).toBe('bar');
    expect(progressMode(undefined, { noProgress: false, json: false }, { isTTY: false })).toBe('plain');
    expect(progressMode(undefined, { noProgress: true, json: false }, { isTTY: true })).toBe('none');
    expect(progressMode(undefined, { noProgress: false, json: true }, { isTTY: true })).toBe('none');
    expect(progressMode('plain', { noProgress: false, json: true }, { isTTY: true })).toBe('plain');
  });
});

/** A fake terminal on a scripted clock: what the reporter wrote, frame by frame. */
function terminal(columns = 100) {
  const stream = Object.assign(new PassThrough(), { columns, isTTY: true }) as unknown as NodeJS.WriteStream;
  let text = '';
  stream.on('data', (d: Buffer) => {
    text += d.toString();
  });
  return { stream, text: () => text };
}

describe('the reporter', () => {
  it('shows no ETA until a few seconds of pace exist', async () => {
    let now = 0;
    let done = 0;
    const t = terminal();
    const p = new ProgressReporter(() => sample({ done }), 'bar', { stream: t.stream, now: () => now });
    p.start();
    await new Promise((r) => setImmediate(r));
    for (let ms = 500; ms <= ETA_AFTER_MS + 1000; ms += 500) {
      now = ms;
      done += 10;
      await (p as unknown as { tick(): Promise<void> }).tick();
    }
    await p.stop();
    const frames = t
      .text()
      .split('\r')
      .filter((f) => f.includes('goals'));
    const firstEta = frames.findIndex((f) => /ETA \d/.test(f));
    expect(firstEta).toBeGreaterThan(0);
    expect(frames.slice(0, firstEta).every((f) => f.includes('ETA --'))).toBe(true);
    // 20 goals/s with 4,880 to go.
    expect(frames.at(-1)).toMatch(/ETA 4m0\ds/);
  });

  it('other output while the bar is drawn gets a line of its own, and the bar is drawn again below it', async () => {
    const t = terminal();
    const p = new ProgressReporter(() => sample(), 'bar', { stream: t.stream });
    const writes: string[] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => void writes.push(`${t.text().length}:${String(args[0])}`);
    try {
      p.start();
      await new Promise((r) => setTimeout(r, 20));
      const before = t.text().length;
      console.warn('@smithy/node-http-handler:WARN - socket usage at capacity=50');
      // The line was cleared before the warning went out, then the bar was drawn again.
      expect(t.text().slice(before).startsWith('\r\u001b[K\r1,234/5,000 goals')).toBe(true);
      expect(writes).toEqual([`${before + 4}:@smithy/node-http-handler:WARN - socket usage at capacity=50`]);
      await p.stop();
    } finally {
      console.warn = original;
    }
    // stop() gives console back.
    expect(console.warn).toBe(original);
  });

  it('plain mode writes whole lines, never a carriage return or an escape sequence', async () => {
    let now = 0;
    const t = terminal();
    const p = new ProgressReporter(() => sample({ done: now / 100 }), 'plain', {
      stream: t.stream,
      now: () => now,
      everySeconds: 10,
    });
    p.start();
    await new Promise((r) => setImmediate(r));
    for (let ms = 1000; ms <= 25_000; ms += 1000) {
      now = ms;
      await (p as unknown as { tick(): Promise<void> }).tick();
    }
    await p.stop();
    const lines = t.text().trimEnd().split('\n');
    expect(lines.map((l) => l.slice(0, 13))).toEqual([
      'progress 0s: ',
      'progress 10s:',
      'progress 20s:',
      'progress 25s:',
    ]);
    expect(t.text().includes('\r') || t.text().includes('\u001b')).toBe(false);
  });
});
