import { formatFromUri } from '#core/source/index.ts';
import { runNaiveJob } from '../naive/naive-job.ts';
import type { LocalRunOptions } from './options.ts';
import type { HcmPeer, IdpPeer } from './peers.ts';
import { ProgressReporter } from './progress.ts';
import type { RunReport } from './report.ts';
import { peerSections, type StatsBaseline } from './report-builder.ts';
import type { RunIo } from './run-io.ts';
import { startWatchers } from './watchers.ts';

/** `--naive`: the original job on the same simulators, faults and workload, reported the same way. */
export async function runNaive(a: {
  o: LocalRunOptions;
  peers: { idp: IdpPeer; hcm: HcmPeer };
  sourcePath: string;
  baseline: StatsBaseline;
  io: RunIo;
}): Promise<RunReport> {
  const { o, peers } = a;
  let done = 0;
  let refreshes = 0;
  const progress = new ProgressReporter(
    () => ({ done, total: o.goals, refreshes, unauthorized: 0, retries: 0 }),
    o.progress,
    { everySeconds: o.progressEverySeconds },
  );
  const watchers = startWatchers(a);
  const started = Date.now();
  progress.start();
  const result = await runNaiveJob({
    source: { uri: a.sourcePath, format: formatFromUri(a.sourcePath) },
    hcmBaseUrl: peers.hcm.url,
    tokenUrl: peers.idp.tokenUrl,
    clientId: peers.idp.client.clientId,
    clientSecret: peers.idp.client.clientSecret,
    reconnect: () => peers.idp.issueRefreshToken(),
    // The same parallelism the managed run gets from the Map.
    concurrency: o.concurrency,
    onGoal: () => done++,
    onRefresh: () => refreshes++,
  }).finally(async () => {
    watchers.stop();
    await progress.stop();
  });
  const durationMs = Date.now() - started;
  // The naive job's refreshes all come after a 401; the baseline is the broker's, which it never used.
  const sections = await peerSections(
    peers,
    { ...a.baseline, refreshes: { refreshes: 0, proactive: 0, jit: 0, afterUnauthorized: 0 } },
    { refreshes: result.refreshes, proactive: 0, jit: 0, afterUnauthorized: result.refreshes },
  );
  return {
    runId: o.runId ?? 'naive',
    mode: 'naive',
    status: result.status === 'completed' && result.failed === 0 ? 'completed' : result.status,
    goals: {
      total: result.total,
      created: result.created,
      updated: 0,
      unchanged: 0,
      invalid: result.invalid,
      failed: result.failed,
      unsettled: 0,
      alreadyDone: 0,
      reconciled: 0,
    },
    ...sections,
    durationMs,
    goalsPerSec: durationMs > 0 ? (sections.hcm.writes * 1000) / durationMs : 0,
    execution: naiveExecution(result, sections.hcm, a.baseline.hcm),
    invalidRecords: result.invalidRecords,
    failedRecords: result.failedRecords,
    events: [],
    ...(result.error ? { error: `${result.error} (attempts: ${result.attempts})` } : {}),
  };
}

/**
 * The naive job has no checkpoints, so "lost" is read from HCM itself: valid goals whose natural key
 * is not stored (HCM held none of them before, as on a fresh simulator). Duplicates are not progress.
 */
function naiveExecution(
  result: { total: number; invalid: number; created: number; failed: number },
  hcm: RunReport['hcm'],
  before: { goalsStored: number; duplicates: number },
): NonNullable<RunReport['execution']> {
  const valid = result.total - result.invalid;
  const distinctNow = hcm.goalsStored - hcm.duplicates - (before.goalsStored - before.duplicates);
  const reached = Math.min(valid, result.created + result.failed);
  return {
    written: hcm.writes,
    alreadyDone: 0,
    notReached: Math.max(0, valid - reached),
    lost: Math.max(0, reached - distinctNow),
  };
}
