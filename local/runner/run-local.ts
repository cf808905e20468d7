import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { renderDefinition } from '../../infra/state-machine.ts';
import { RunStore } from '../../lambdas/core/checkpoint/run-store.ts';
import { formatMaxInvalid } from '../../lambdas/core/source/acceptance.ts';
import { formatFromUri } from '../../lambdas/core/source/open.ts';
import type { SyncChunkResult } from '../../lambdas/sync-chunk/handler.ts';
import { createProjectTables, startDynalite } from '../adapters/dynamo.ts';
import { createLocalTokenBroker } from '../adapters/in-process-broker.ts';
import { writeSampleFile } from '../sample/generate.ts';
import { ensureConnection, LOCAL_CONNECTION_ID, refreshCounts } from './connection.ts';
import { executeLocally } from './executor.ts';
import { InterruptWatch } from './interrupt.ts';
import { buildLocalLambdas } from './lambdas.ts';
import type { LocalRunOptions } from './options.ts';
import { startPeers } from './peers.ts';
import { ProgressReporter } from './progress.ts';
import type { RunReport } from './report.ts';
import { failedRecords, managedReport, type StatsBaseline } from './report-builder.ts';
import { startWatchers } from './watchers.ts';

export interface RunIo {
  /** Human-facing notes (stderr), never the JSON report. */
  note(line: string): void;
}

const newRunId = () =>
  `run-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(2).toString('hex')}`;

/** `goal-sync local`: the embedded default, end to end, with the real handlers and state machine. */
export async function runLocal(
  o: LocalRunOptions,
  io: RunIo,
  interrupt = new InterruptWatch(io.note),
): Promise<RunReport> {
  const workDir = o.stateDir ? resolve(o.stateDir) : await mkdtemp(join(tmpdir(), 'goal-sync-'));
  await mkdir(workDir, { recursive: true, mode: 0o700 });
  let persistent = o.stateDir !== undefined;
  const peers = await startPeers({
    stateDir: persistent ? workDir : undefined,
    tokenTtlSeconds: o.tokenTtlSeconds,
    seed: o.seed,
    idpUrl: o.idpUrl,
    hcmUrl: o.hcmUrl,
  });
  const dynamo = await startDynalite({ path: persistent ? join(workDir, 'dynamo') : undefined });
  const silent = new Logger({ serviceName: 'token-broker', logLevel: o.verbose ? 'INFO' : 'SILENT' });
  const broker = await createLocalTokenBroker({
    doc: dynamo.doc,
    stateDir: join(workDir, 'secrets'),
    logger: silent,
    metrics: new Metrics({ namespace: 'HcmGoalSync', serviceName: 'token-broker', logger: silent }),
    options: o.tokenBufferSeconds === undefined ? {} : { bufferSeconds: o.tokenBufferSeconds },
  });
  if (o.verbose) broker.events.on((e) => io.note(`event ${e.type} ${JSON.stringify(e.detail)}`));
  try {
    const tables = await createProjectTables(dynamo.client);
    const sourcePath = await prepareSource(o, workDir, io);
    // The naive job gets its own grant and never asks the broker: connecting it would spend a token
    // call the naive column would then be charged for.
    const connection = o.naive ? 'existing' : await ensureConnection(broker, peers.idp);
    if (connection === 'reconnected')
      io.note(`connection ${LOCAL_CONNECTION_ID} needed re-auth: re-connected`);
    const [lo, hi] = o.latencyMs;
    await peers.hcm.setFaults({
      latencyMs: lo,
      jitterMs: hi - lo,
      rateLimitPerSecond: o.rateLimit,
      ...o.faults.hcm,
    });
    await peers.idp.setFaults(o.faults.idp);
    const baseline: StatsBaseline = {
      idp: await peers.idp.stats(),
      hcm: await peers.hcm.stats(),
      refreshes: o.naive
        ? { refreshes: 0, proactive: 0, jit: 0, afterUnauthorized: 0 }
        : (await refreshCounts(broker)).counts,
    };
    if (o.naive) {
      interrupt.onInterrupt(() => {
        io.note('the naive job has no checkpoints to stop at or resume from: exiting now');
        process.exit(130);
      });
      const { runNaive } = await import('./run-naive.ts');
      return await runNaive({ o, peers, sourcePath, baseline, io });
    }

    const runId = o.runId ?? newRunId();
    // An interrupted run is worth resuming, so its state outlives this process even without --state-dir.
    interrupt.onInterrupt(() => {
      persistent = true;
    });
    const chunkResults: SyncChunkResult[] = [];
    const lambdas = buildLocalLambdas({
      doc: dynamo.doc,
      checkpointTable: tables.checkpoints,
      broker,
      hcmUrl: peers.hcm.url,
      connectionId: LOCAL_CONNECTION_ID,
      events: broker.events,
      verbose: o.verbose,
      onChunk: (r) => chunkResults.push(r),
    });
    const watchers = startWatchers({ o, peers, baseline, io });
    const settledInChunks = () =>
      chunkResults.reduce((n, r) => n + r.counts.unchanged + r.counts.invalid + r.counts.failed, 0);
    let progressTotal = o.goals;
    const progress = new ProgressReporter(async () => {
      const hcm = await peers.hcm.stats();
      const tokens = await refreshCounts(broker);
      const c = lambdas.hcmStats();
      return {
        done:
          alreadyDone +
          hcm.creates +
          hcm.updates -
          baseline.hcm.creates -
          baseline.hcm.updates +
          settledInChunks(),
        total: progressTotal,
        refreshes: tokens.counts.refreshes - baseline.refreshes.refreshes,
        unauthorized: c.unauthorized,
        retries: c.retries,
      };
    }, o.progress);

    const runs = new RunStore(dynamo.doc, tables.checkpoints);
    // Records a previous execution of this run already settled: a resume must leave them alone.
    const alreadyDone = (await runs.listRecordStates(runId)).filter((r) => r.status === 'done').length;
    const started = Date.now();
    const { asl, functionArns } = renderDefinition({ maxConcurrency: o.concurrency });
    const input = {
      runId,
      connectionId: LOCAL_CONNECTION_ID,
      source: { uri: sourcePath, format: formatFromUri(sourcePath) },
      chunkSize: o.chunkSize,
      ...(o.maxInvalid ? { maxInvalid: formatMaxInvalid(o.maxInvalid) } : {}),
    };
    progress.start(o.goals);
    let error: string | undefined;
    const execution = executeLocally(asl, functionArns, lambdas.invokers, input, runId);
    interrupt.onInterrupt(() => {
      persistent = true;
      lambdas.drain();
      void lambdas.stop();
      execution.abort();
    });
    try {
      await execution.result;
    } catch (err) {
      // The local executor wraps the cause in "Execution has failed with the following error: ".
      error = (err instanceof Error ? err.message : String(err)).replace(
        /^Execution has failed with the following error: /,
        '',
      );
    } finally {
      // A failed execution can leave iterations running or sleeping before a retry: refuse new
      // invocations, wake the sleepers (abort), and let the running ones settle before teardown.
      const drained = lambdas.stop();
      if (error !== undefined) execution.abort();
      await drained;
      await progress.stop();
      watchers.stop();
    }
    progressTotal = (await runs.getRun(runId))?.totals?.totalRecords ?? o.goals;
    const report = await managedReport({
      runId,
      runs,
      broker,
      peers,
      baseline,
      durationMs: Date.now() - started,
      alreadyDone,
      failed: await failedRecords(dynamo.doc, tables.checkpoints, runId),
      error: interrupt.signal ? undefined : error,
    });
    if (interrupt.signal) report.interrupted = interrupt.signal;
    report.stateDir = workDir;
    return report;
  } finally {
    interrupt.dispose();
    broker.close();
    await peers.hcm.close();
    await peers.idp.close();
    await dynamo.close();
    if (!persistent) await rm(workDir, { recursive: true, force: true });
  }
}

async function prepareSource(o: LocalRunOptions, workDir: string, io: RunIo): Promise<string> {
  if (o.source) return resolve(o.source);
  const path = join(workDir, 'goals.jsonl');
  // A resumed run must read the very same file its plan was made from.
  if (o.resume && existsSync(path)) return path;
  const summary = await writeSampleFile(path, { goals: o.goals, invalidRate: o.invalidRate, seed: o.seed });
  io.note(`generated ${summary.lines} sample goals (${summary.invalid} invalid on purpose) in ${path}`);
  return path;
}
