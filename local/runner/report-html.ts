import { writeFile } from 'node:fs/promises';
import { renderReportPage } from '../charts/page.ts';
import { runSeries } from '../charts/series.ts';
import type { HcmPeer, IdpPeer } from './peers.ts';
import type { RunReport } from './report.ts';

/** Above this the simulator's limit did not bound the run (the scale settings): no limit line. */
const NO_LIMIT_LINE_ABOVE = 10_000;

/**
 * `--report-html FILE`: this run's charts (token lifetimes and refreshes, HCM answers and goals written
 * per second) under a one-row table, from the simulators' timelines and the broker's refreshes.
 * Called before the simulators close.
 */
export async function writeRunHtml(
  file: string,
  a: {
    report: RunReport;
    peers: { idp: IdpPeer; hcm: HcmPeer };
    startMs: number;
    endMs: number;
    rateLimit: number;
  },
): Promise<void> {
  const { report } = a;
  const series = runSeries({
    label: report.mode,
    startMs: a.startMs,
    endMs: a.endMs,
    ...(a.rateLimit > 0 && a.rateLimit <= NO_LIMIT_LINE_ABOVE ? { rateLimit: a.rateLimit } : {}),
    hcm: await a.peers.hcm.timeline(),
    idp: await a.peers.idp.timeline(),
    refreshes: report.tokenRefreshes ?? [],
  });
  const t = report.tokens;
  const html = await renderReportPage({
    title: `goal-sync local: run ${report.runId}`,
    summary: [
      `Started ${new Date(a.startMs).toISOString()}, Node ${process.version}; HCM rate limit ${a.rateLimit} requests/s.`,
    ],
    warnings: report.error ? [`The run ended ${report.status}: ${report.error}`] : [],
    table: {
      head: [
        'run',
        'mode',
        'goals',
        'goals/s',
        'HCM requests',
        '401s',
        '429s',
        'token calls',
        'refreshes pro/jit/401',
        'seconds',
        'status',
      ],
      rows: [
        [
          report.runId,
          report.mode,
          String(report.goals.total),
          report.goalsPerSec.toFixed(1),
          String(report.hcm.requests),
          String(report.hcm.unauthorized),
          String(report.hcm.throttled),
          String(t.endpointCalls),
          `${t.proactive}/${t.jit}/${t.afterUnauthorized}`,
          (report.durationMs / 1000).toFixed(1),
          report.status,
        ],
      ],
    },
    sections: [{ id: 'run', title: 'Over time', runs: [series] }],
    notes: [
      "Bars: each access token the IdP issued, from issue to expiry. Points: the broker's refreshes by trigger; crosses: 401s on the token they refused. A dashed line: the HCM rate limit.",
    ],
  });
  await writeFile(file, html);
}
