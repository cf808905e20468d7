import { describe, expect, it } from 'vitest';
import { LatencySignal } from '#core/hcm/index.ts';
import { lognormalMs } from '../../local/hcm/faults.ts';
import { mulberry32 } from '../../local/sample/random.ts';

describe('LatencySignal: a queue at the server, read from latencies', () => {
  it("a real pod's long tail (median 600 ms, p99 3 s) is no queue: overloaded in under 3% of answers", () => {
    const signal = new LatencySignal();
    const random = mulberry32(7);
    let overloaded = 0;
    const answers = 5_000;
    for (let i = 0; i < answers; i++) {
      signal.observe(lognormalMs(600, 3_000, random));
      if (signal.verdict() === 'overloaded') overloaded += 1;
    }
    // Measured 0 since the thresholds include the median's own noise (2.3% before; hcm-pacer-tail.test.ts).
    expect(overloaded / answers).toBeLessThan(0.03);
  });

  it('a queue moves every answer: overloaded once its delay passes the no-load latency, grow again when it drains', () => {
    const signal = new LatencySignal();
    for (let i = 0; i < 200; i++) signal.observe(40 + (i % 7));
    expect(signal.verdict()).toBe('grow');
    expect(signal.noLoadMs).toBeGreaterThan(39);
    for (let i = 0; i < 10; i++) signal.observe(60 + (i % 7)); // +20 ms: under both tolerance and floor
    expect(signal.verdict()).not.toBe('overloaded');
    for (let i = 0; i < 10; i++) signal.observe(150 + (i % 7)); // +110 ms: more than the 40 ms a request takes
    expect(signal.verdict()).toBe('overloaded');
    expect(signal.queueing()).toBe(true);
    for (let i = 0; i < 10; i++) signal.observe(40 + (i % 7));
    expect(signal.verdict()).toBe('grow');
  });

  it('a fast server (1-5 ms) with jitter of a few ms is not overloaded: the 50 ms floor', () => {
    const signal = new LatencySignal();
    for (let i = 0; i < 100; i++) signal.observe(1 + (i % 5));
    for (let i = 0; i < 10; i++) signal.observe(20);
    expect(signal.verdict()).not.toBe('overloaded');
  });
});
