import type { TopLevelSpec } from 'vega-lite';
import type { RunSeries } from './series.ts';

/** Fixed colours per kind, so every chart of a report reads the same way. */
const ANSWERS = {
  domain: ['2xx', '401', '429', '5xx / dropped', 'other 4xx'],
  range: ['#9ab0c8', '#d62728', '#ff7f0e', '#7b2d8e', '#8c8c8c'],
};
const TRIGGERS = {
  domain: ['proactive', 'jit', 'afterUnauthorized', 'sweep', 'connect'],
  labels: {
    proactive: 'proactive',
    jit: 'just-in-time',
    afterUnauthorized: 'after 401',
    sweep: 'sweep',
    connect: 'connect',
  },
  range: ['#2ca02c', '#ff7f0e', '#d62728', '#17becf', '#7f7f7f'],
};
/** At most this many bars per chart: longer runs are drawn in bins of several seconds (rates per second). */
const MAX_BINS = 300;

export interface ChartOptions {
  /** The x axis's end, seconds: the same for every run of a scenario, so managed and naive line up. */
  domainS: number;
  width?: number;
}

/** Bin width in seconds for a run of `domainS` seconds. */
export const binSeconds = (domainS: number): number => Math.max(1, Math.ceil(domainS / MAX_BINS));

function binned<T extends { t: number }>(rows: T[], width: number, value: (r: T) => Record<string, number>) {
  const bins = new Map<number, Record<string, number>>();
  for (const r of rows) {
    const start = Math.floor(r.t / width) * width;
    const acc = bins.get(start) ?? {};
    for (const [k, v] of Object.entries(value(r))) acc[k] = (acc[k] ?? 0) + v / width;
    bins.set(start, acc);
  }
  return [...bins].map(([t, values]) => ({ t, t2: t + width, ...values }));
}

/** The three panels of one run on one time axis: token lifetimes, HCM answers per second, goals written. */
export function runSpec(s: RunSeries, o: ChartOptions): TopLevelSpec {
  // Two runs side by side (legends included) fit a 1,400 px page.
  const width = o.width ?? 380;
  const w = binSeconds(o.domainS);
  const x = (title?: string) => ({
    field: 't',
    type: 'quantitative' as const,
    scale: { domain: [0, o.domainS], nice: false },
    axis: title ? { title } : { title: null, labels: false, ticks: true },
  });
  const answers = binned(s.requests, w, (r) => ({
    '2xx': r.ok,
    '401': r.unauthorized,
    '429': r.throttled,
    '5xx / dropped': r.serverError,
    'other 4xx': r.other,
  })).flatMap(({ t, t2, ...kinds }) =>
    Object.entries(kinds as Record<string, number>)
      .filter(([, rate]) => rate > 0)
      .map(([kind, rate]) => ({ t, t2, kind, rate: Math.round(rate * 100) / 100 })),
  );
  const writes = binned(s.writes, w, (r) => ({ rate: r.n }));
  const tokens = s.tokens.map((t, i) => ({
    ...t,
    t: Math.max(0, t.from),
    t2: Math.min(o.domainS, t.to),
    i: i + 1,
  }));
  const refreshes = s.refreshes.map((r) => ({ ...r, y: r.token >= 0 ? r.token + 1 : 0 }));
  // Older results (before 401s were kept per token) have no `rejected`.
  const rejected = (s.rejected ?? []).map((r) => ({
    t: r.t + 0.5,
    y: r.token >= 0 ? r.token + 1 : 0,
    n: r.n,
  }));
  const stepRules = {
    data: { values: s.steps },
    mark: { type: 'rule' as const, strokeDash: [4, 3], color: '#444' },
    encoding: { x: x() },
  };
  const perSecond = w > 1 ? ` (${w} s bins)` : '';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: s.label, anchor: 'start', fontSize: 14 },
    spacing: 6,
    // Each panel has its own colours and legend: refresh triggers are not HCM answers.
    resolve: { scale: { color: 'independent', shape: 'independent' }, legend: { color: 'independent' } },
    config: {
      view: { stroke: '#ddd' },
      axis: { labelFontSize: 10, titleFontSize: 11 },
      legend: { labelFontSize: 10, titleFontSize: 11 },
    },
    vconcat: [
      {
        width,
        height: 100,
        title: {
          // Short: titles count in the chart's width, and two runs must fit side by side.
          text: 'tokens (issue to expiry), refreshes, 401s (x)',
          fontSize: 11,
          anchor: 'start',
        },
        layer: [
          {
            data: { values: tokens },
            mark: { type: 'rule', strokeWidth: 3, color: '#9ab0c8', clip: true },
            encoding: {
              x: x(),
              x2: { field: 't2' },
              y: { field: 'i', type: 'quantitative', title: 'token #', axis: { tickMinStep: 1 } },
            },
          },
          {
            data: { values: refreshes },
            mark: { type: 'point', filled: true, size: 55, opacity: 0.9 },
            encoding: {
              x: x(),
              y: { field: 'y', type: 'quantitative' },
              color: {
                field: 'trigger',
                type: 'nominal',
                title: 'refresh',
                scale: { domain: TRIGGERS.domain, range: TRIGGERS.range },
                legend: { labelExpr: `${JSON.stringify(TRIGGERS.labels)}[datum.label] || datum.label` },
              },
              // Same field and domain as the colour: one legend shows both.
              shape: {
                field: 'trigger',
                type: 'nominal',
                title: 'refresh',
                scale: { domain: TRIGGERS.domain },
                legend: { labelExpr: `${JSON.stringify(TRIGGERS.labels)}[datum.label] || datum.label` },
              },
            },
          },
          {
            data: { values: rejected },
            // How many: the HCM panel's red bars; here only which token and when.
            mark: { type: 'point', shape: 'cross', color: '#d62728', filled: true, size: 40, clip: true },
            encoding: { x: x(), y: { field: 'y', type: 'quantitative' } },
          },
          stepRules,
        ],
      },
      {
        width,
        height: 110,
        title: { text: `HCM answers per second${perSecond}`, fontSize: 11, anchor: 'start' },
        layer: [
          {
            data: { values: answers },
            mark: { type: 'bar', clip: true },
            encoding: {
              x: { ...x(), bin: { binned: true, step: w } },
              x2: { field: 't2' },
              y: { field: 'rate', type: 'quantitative', stack: 'zero', title: 'requests/s' },
              color: { field: 'kind', type: 'nominal', title: 'HCM answer', scale: ANSWERS },
              order: { field: 'kind', sort: 'descending' },
            },
          },
          ...(s.rateLimit !== undefined
            ? [
                {
                  data: { values: [{ limit: s.rateLimit }] },
                  mark: { type: 'rule' as const, color: '#000', strokeDash: [6, 3] },
                  encoding: { y: { field: 'limit', type: 'quantitative' as const } },
                },
              ]
            : []),
          stepRules,
        ],
      },
      {
        width,
        height: 70,
        title: { text: `goals written per second${perSecond}`, fontSize: 11, anchor: 'start' },
        data: { values: writes },
        mark: { type: 'bar', color: '#2ca02c', clip: true },
        encoding: {
          x: { ...x('seconds since the run started'), bin: { binned: true, step: w } },
          x2: { field: 't2' },
          y: { field: 'rate', type: 'quantitative', title: 'goals/s' },
        },
      },
    ],
  } as TopLevelSpec;
}
