import type { HcmTimeline, IdpTimeline } from '../timeline/types.ts';

/**
 * One run (or one mode of a bench scenario) as the report's charts draw it: seconds since the run
 * started on every axis. Compact and JSON-safe: the bench keeps it in latest.json, so a partial rerun
 * (`--only`) can redraw every scenario's charts.
 */
export interface RunSeries {
  /** managed | naive (the caption). */
  label: string;
  /** Epoch ms the run started; every `t` below is seconds after it. */
  startMs: number;
  durationS: number;
  /** HCM requests per second the simulator allowed (the limit line); absent when it was not the bound. */
  rateLimit?: number;
  /** Where a later process took over (a resume after a crash or a re-auth), seconds. */
  steps: Array<{ t: number; label: string }>;
  /** Access tokens issued, one bar each: issued at `from`, expiring at `to`. */
  tokens: Array<{ from: number; to: number; grant: string }>;
  /** The broker's refreshes by trigger; `token` is the index of the bar it produced, -1 if none matched. */
  refreshes: Array<{ t: number; trigger: string; token: number }>;
  /** 401s per second on the token they refused (`token`: its bar, matched by the JWT's iat; -1 unknown). */
  rejected: Array<{ t: number; token: number; n: number }>;
  /** HCM answers per second by kind. */
  requests: Array<{
    t: number;
    ok: number;
    unauthorized: number;
    throttled: number;
    serverError: number;
    other: number;
  }>;
  /** Goals created or changed per second. */
  writes: Array<{ t: number; n: number }>;
}

export interface RefreshInput {
  atMs: number;
  trigger: string;
}

export interface SeriesInput {
  label: string;
  startMs: number;
  endMs: number;
  rateLimit?: number;
  hcm: HcmTimeline;
  idp: IdpTimeline;
  refreshes: RefreshInput[];
  steps?: Array<{ atMs: number; label: string }>;
}

/** A refresh's token was issued at most this long before the broker logged it. */
const REFRESH_MATCH_MS = 10_000;

const round1 = (n: number) => Math.round(n * 10) / 10;

/** Builds the chart series of one run from the simulators' timelines and the broker's refreshes. */
export function runSeries(i: SeriesInput): RunSeries {
  const startS = i.startMs / 1000;
  const rel = (second: number) => second - Math.floor(startS);
  const inRun = (atMs: number) => atMs >= i.startMs - REFRESH_MATCH_MS && atMs <= i.endMs + 1000;
  // Every token alive during the run: the one connect obtained before the start is the run's first.
  const issued = i.idp.tokens
    .filter((t) => t.exp * 1000 > i.startMs && t.atMs <= i.endMs + 1000)
    .sort((a, b) => a.atMs - b.atMs);
  const tokens = issued.map((t) => ({
    from: round1(t.atMs / 1000 - startS),
    to: round1(t.exp - startS),
    grant: t.grant,
  }));
  const refreshes = i.refreshes
    .filter((r) => inRun(r.atMs))
    .map((r) => {
      // The newest token issued before the broker logged its refresh: the one that refresh got.
      let token = -1;
      issued.forEach((t, index) => {
        if (t.atMs <= r.atMs + 50 && r.atMs - t.atMs <= REFRESH_MATCH_MS) token = index;
      });
      // A refresh just before the start (connect) is drawn at 0, on its token's bar.
      return { t: Math.max(0, round1(r.atMs / 1000 - startS)), trigger: r.trigger, token };
    });
  // A token's iat names it; of several issued in one second, the newest is taken.
  const tokenOfIat = new Map(issued.map((t, index) => [t.iat, index]));
  const rejected = new Map<string, RunSeries['rejected'][number]>();
  const bySecond = new Map<number, RunSeries['requests'][number]>();
  const startSecond = Math.floor(startS);
  const endSecond = Math.floor(i.endMs / 1000);
  for (const b of i.hcm.requests) {
    if (b.second < startSecond - 1 || b.second > endSecond + 1) continue;
    const t = rel(b.second);
    const row = bySecond.get(t) ?? { t, ok: 0, unauthorized: 0, throttled: 0, serverError: 0, other: 0 };
    row[kindOf(b.status)] += b.n;
    bySecond.set(t, row);
    if (b.status === 401) {
      const token = b.tokenIat === null ? -1 : (tokenOfIat.get(b.tokenIat) ?? -1);
      const key = `${t}/${token}`;
      const r = rejected.get(key) ?? { t, token, n: 0 };
      r.n += b.n;
      rejected.set(key, r);
    }
  }
  return {
    label: i.label,
    startMs: Math.round(i.startMs),
    durationS: round1((i.endMs - i.startMs) / 1000),
    ...(i.rateLimit === undefined ? {} : { rateLimit: i.rateLimit }),
    steps: (i.steps ?? []).map((s) => ({ t: round1((s.atMs - i.startMs) / 1000), label: s.label })),
    tokens,
    refreshes,
    rejected: [...rejected.values()].sort((a, b) => a.t - b.t || a.token - b.token),
    requests: [...bySecond.values()].sort((a, b) => a.t - b.t),
    writes: i.hcm.writes
      .filter((w) => w.second >= startSecond - 1 && w.second <= endSecond + 1)
      .map((w) => ({ t: rel(w.second), n: w.n })),
  };
}

type Kind = 'ok' | 'unauthorized' | 'throttled' | 'serverError' | 'other';

/** 401, 429 and 5xx are what the charts mark; a dropped connection (0) counts with the server errors. */
function kindOf(status: number): Kind {
  if (status === 401) return 'unauthorized';
  if (status === 429) return 'throttled';
  if (status === 0 || status >= 500) return 'serverError';
  if (status >= 200 && status < 400) return 'ok';
  return 'other';
}
