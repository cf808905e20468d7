import { describe, expect, it } from 'vitest';
import { runSeries } from '../../local/charts/series.ts';
import { binSeconds, runSpec } from '../../local/charts/spec.ts';
import { renderSvg } from '../../local/charts/svg.ts';

const START = 1_800_000_000_000; // a whole second, epoch ms
const S = START / 1000;

const input = {
  label: 'managed',
  startMs: START,
  endMs: START + 10_000,
  rateLimit: 50,
  hcm: {
    requests: [
      { second: S - 30, route: 'GET goals', status: 200, tokenIat: null, n: 9 }, // before the run
      { second: S + 1, route: 'POST goals', status: 201, tokenIat: S, n: 20 },
      { second: S + 1, route: 'POST goals', status: 401, tokenIat: S - 1, n: 3 },
      { second: S + 2, route: 'GET goals', status: 401, tokenIat: null, n: 2 },
      { second: S + 2, route: 'POST goals', status: 429, tokenIat: S, n: 2 },
      { second: S + 2, route: 'POST goals', status: 0, tokenIat: S, n: 1 },
      { second: S + 2, route: 'POST goals', status: 503, tokenIat: S, n: 1 },
      { second: S + 2, route: 'POST goals', status: 404, tokenIat: S, n: 4 },
    ],
    writes: [{ second: S + 1, n: 20 }],
    droppedSeconds: 0,
  },
  idp: {
    tokens: [
      { atMs: START - 60_000, iat: S - 60, exp: S - 30, grant: 'refresh_token' }, // expired before the run
      { atMs: START - 500, iat: S - 1, exp: S + 29, grant: 'refresh_token' }, // connect's token
      { atMs: START + 5_000, iat: S + 5, exp: S + 35, grant: 'refresh_token' },
    ],
    droppedTokens: 0,
    requests: [],
    droppedSeconds: 0,
  },
  refreshes: [
    { atMs: START - 400, trigger: 'connect' },
    { atMs: START + 5_020, trigger: 'proactive' },
  ],
  steps: [{ atMs: START + 4_000, label: 'resume' }],
};

describe('report chart series', () => {
  it('keeps what happened during the run, in seconds since its start', () => {
    const s = runSeries(input);
    expect(s.durationS).toBe(10);
    expect(s.tokens).toEqual([
      { from: -0.5, to: 29, grant: 'refresh_token' },
      { from: 5, to: 35, grant: 'refresh_token' },
    ]);
    // Each refresh sits on the token it produced; connect's (just before the start) is drawn at 0.
    expect(s.refreshes).toEqual([
      { t: 0, trigger: 'connect', token: 0 },
      { t: 5, trigger: 'proactive', token: 1 },
    ]);
    expect(s.requests).toEqual([
      { t: 1, ok: 20, unauthorized: 3, throttled: 0, serverError: 0, other: 0 },
      { t: 2, ok: 0, unauthorized: 2, throttled: 2, serverError: 2, other: 4 },
    ]);
    // 401s sit on the token they refused (by its iat); one without a readable token on no bar.
    expect(s.rejected).toEqual([
      { t: 1, token: 0, n: 3 },
      { t: 2, token: -1, n: 2 },
    ]);
    expect(s.writes).toEqual([{ t: 1, n: 20 }]);
    expect(s.steps).toEqual([{ t: 4, label: 'resume' }]);
  });

  it('long runs are drawn in bins of several seconds, at most 300 bars', () => {
    expect(binSeconds(120)).toBe(1);
    expect(binSeconds(300)).toBe(1);
    expect(binSeconds(301)).toBe(2);
    expect(binSeconds(1_500)).toBe(5);
  });

  it('renders to an SVG with marks in every panel, without a browser', async () => {
    const svg = await renderSvg(runSpec(runSeries(input), { domainS: 11 }));
    expect(svg).toMatch(/^<svg /);
    for (const panel of ['tokens (issue to expiry)', 'HCM answers per second', 'goals written per second'])
      expect(svg).toContain(panel);
    expect(svg.match(/class="mark-rect role-mark/g)?.length).toBeGreaterThanOrEqual(2);
    expect(svg).toContain('class="mark-symbol role-mark');
  });
});
