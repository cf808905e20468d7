import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FAULTS,
  FaultDice,
  type HcmFaults,
  lognormalMs,
  mergeFaults,
} from '../../local/hcm/faults.ts';
import { parseLocalArgs, UsageError } from '../../local/runner/options.ts';
import { mulberry32 } from '../../local/sample/random.ts';

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;

function draws(f: HcmFaults, n: number, seed = 7): number[] {
  const dice = new FaultDice(seed);
  return Array.from({ length: n }, () => dice.delayMs(f)).sort((a, b) => a - b);
}

describe('HCM simulator: latency distributions', () => {
  const lognormal = mergeFaults(DEFAULT_FAULTS, {
    latencyDistribution: 'lognormal',
    latencyMs: 600,
    latencyP99Ms: 3000,
  });

  it('lognormal: the median and the 99th percentile are the configured ones', () => {
    const d = draws(lognormal, 40_000);
    expect(quantile(d, 0.5)).toBeGreaterThan(570);
    expect(quantile(d, 0.5)).toBeLessThan(630);
    expect(quantile(d, 0.99)).toBeGreaterThan(2700);
    expect(quantile(d, 0.99)).toBeLessThan(3300);
    // Long-tailed: the mean sits above the median (exp(sigma^2 / 2) = 1.27 for these settings).
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    expect(mean / quantile(d, 0.5)).toBeGreaterThan(1.2);
    expect(d[0]).toBeGreaterThan(0);
    expect(d.at(-1)).toBeLessThanOrEqual(30_000);
  });

  it('lognormal draws replay for a seed, and differ between seeds', () => {
    expect(draws(lognormal, 50, 3)).toEqual(draws(lognormal, 50, 3));
    expect(draws(lognormal, 50, 3)).not.toEqual(draws(lognormal, 50, 4));
  });

  it('uniform (the default) stays latencyMs + 0..jitterMs', () => {
    const d = draws(mergeFaults(DEFAULT_FAULTS, { latencyMs: 20, jitterMs: 30 }), 2000);
    expect(d[0]).toBeGreaterThanOrEqual(20);
    expect(d.at(-1)).toBeLessThan(50);
    expect(draws(DEFAULT_FAULTS, 10)).toEqual(Array(10).fill(0));
  });

  it('a lognormal needs a positive median and a p99 at least as large; unknown distributions are refused', () => {
    expect(() => mergeFaults(DEFAULT_FAULTS, { latencyDistribution: 'lognormal', latencyMs: 600 })).toThrow(
      /latencyP99Ms/,
    );
    expect(() =>
      mergeFaults(DEFAULT_FAULTS, { latencyDistribution: 'lognormal', latencyMs: 0, latencyP99Ms: 10 }),
    ).toThrow(/latencyP99Ms/);
    expect(() => mergeFaults(DEFAULT_FAULTS, { latencyDistribution: 'pareto' })).toThrow(/uniform/);
  });

  it('lognormalMs cuts a pathological draw at 10 x p99', () => {
    // A first uniform just below 1 and a second of 0 give z = sqrt(-2 ln 1e-12) = 7.4: 166 x the median.
    const seq = [1 - 1e-12, 0];
    expect(lognormalMs(600, 3000, () => seq.shift()!)).toBe(30_000);
    expect(lognormalMs(600, 3000, mulberry32(1))).toBeGreaterThan(0);
  });
});

describe('goal-sync local --latency', () => {
  const latency = (raw: string) => {
    const o = parseLocalArgs(['--latency', raw]);
    if (o === 'help') throw new Error('unexpected help');
    return { latencyMs: o.latencyMs, latencyP99Ms: o.latencyP99Ms };
  };

  it('lognormal:M-P sets the median and the 99th percentile; A-B stays a uniform range', () => {
    expect(latency('lognormal:600-3000')).toEqual({ latencyMs: [600, 600], latencyP99Ms: 3000 });
    expect(latency('20-50')).toEqual({ latencyMs: [20, 50], latencyP99Ms: undefined });
  });

  it('refuses a p99 below the median, a zero median and other shapes', () => {
    expect(() => latency('lognormal:600-300')).toThrow(UsageError);
    expect(() => latency('lognormal:0-300')).toThrow(UsageError);
    expect(() => latency('lognormal:600')).toThrow(/lognormal:600-3000/);
  });
});
