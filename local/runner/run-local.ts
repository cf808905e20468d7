import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { type DynamoDBDocumentClient, paginateQuery, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { RunItem } from '#core/checkpoint/index.ts';
import { HdlPartStore, RunStore, runPk, SK_PREFIX, sourceChange } from '#core/checkpoint/index.ts';
import { fileSourceCopies, formatFromUri, formatMaxInvalid, openGoalSource } from '#core/source/index.ts';
import { RENDERED_MANIFEST_BUCKET } from '../../infra/state-machine.ts';
import { TransientError } from '../../lambdas/core/errors.ts';
import type { SyncChunkResult } from '../../lambdas/sync-chunk/handler.ts';
import {
  connectDynamo,
  createProjectTables,
  documentClient,
  dynamoClient,
  startDynalite,
} from '../adapters/dynalite.ts';
import { startDynamoFaultProxy } from '../adapters/dynamo-fault-proxy.ts';
import { createLocalTokenBroker, type LocalTokenBroker } from '../adapters/in-process-broker.ts';
import {
  LocalChunkManifest,
  LocalObjectStore,
  localGoalIndex,
  localObjectRoot,
  localObjects,
} from '../adapters/local-objects.ts';
import { writeSampleFile } from '../sample/generate.ts';
import { hasDynamoFaults } from './aws-faults.ts';
import { ensureConnection, LOCAL_CONNECTION_ID, refreshCounts, releaseDeadRefresh } from './connection.ts';
import { localDefinition } from './definition.ts';
import { runExecutionChain } from './execution-chain.ts';
import { executeLocally } from './executor.ts';
import { InterruptWatch } from './interrupt.ts';
import { buildLocalLambdas, localWriteTiming } from './lambdas.ts';
import { type LocalRunOptions, UsageError } from './options.ts';
import { startPeers } from './peers.ts';
import { ProgressReporter } from './progress.ts';
import { RefreshRecordingLogger } from './refresh-log.ts';
import type { RunReport } from './report.ts';
import { failedRecords, hdlReport, managedReport, type StatsBaseline } from './report-builder.ts';
import { writeRunHtml } from './report-html.ts';
import type { RunIo } from './run-io.ts';
import { startWatchers } from './watchers.ts';

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
  // Only --state-dir keeps a run: without it dynalite and the simulators live in memory (nothing to resume).
  const persistent = o.stateDir !== undefined;
  const peers = await startPeers({
    stateDir: persistent ? workDir : undefined,
    tokenTtlSeconds: o.tokenTtlSeconds,
    seed: o.seed,
    idpUrl: o.idpUrl,
    hcmUrl: o.hcmUrl,
  });
  // --dynamo-url: DynamoDB is another process's (the bench's peers), so this process's memory is the pipeline's.
  const dynamo = o.dynamoUrl
    ? connectDynamo(o.dynamoUrl)
    : await startDynalite({ path: persistent ? join(workDir, 'dynamo') : undefined });
  // --faults dynamo.*: every DynamoDB call of the pipeline and the broker goes through the fault proxy.
  const proxy = hasDynamoFaults(o.faults.aws)
    ? await startDynamoFaultProxy(dynamo.endpoint, { faults: o.faults.aws.dynamo })
    : undefined;
  const doc = proxy ? documentClient(dynamoClient(proxy.endpoint)) : dynamo.doc;
  // Silent unless --verbose, and it keeps the broker's refreshes (time, trigger) for the report's charts.
  const silent = new RefreshRecordingLogger({
    serviceName: 'token-broker',
    logLevel: o.verbose ? 'INFO' : 'SILENT',
  });
  const broker = await createLocalTokenBroker({
    doc,
    stateDir: join(workDir, 'secrets'),
    logger: silent,
    metrics: new Metrics({ namespace: 'HcmGoalSync', serviceName: 'token-broker', logger: silent }),
    options: {
      ...(o.tokenBufferSeconds === undefined ? {} : { bufferSeconds: o.tokenBufferSeconds }),
      faults: { crashAfterSendRate: o.faults.aws.broker.crashAfterSendRate ?? 0 },
    },
  });
  broker.keys.latencyMs = o.faults.aws.kms.latencyMs ?? 0;
  if (o.verbose) broker.events.on((e) => io.note(`event ${e.type} ${JSON.stringify(e.detail)}`));
  try {
    const tables = await createProjectTables(dynamo.client);
    const runs = new RunStore(dynamo.doc, tables.checkpoints);
    const runId = o.runId ?? newRunId();
    // Only a state dir given up front is on disk from the start (dynalite and the simulators journal there).
    if (o.stateDir) interrupt.resumable({ runId, stateDir: workDir });
    const resumed = o.resume ? await runs.getRun(o.resume) : undefined;
    if (o.resume && !resumed) {
      const known = await listRunIds(dynamo.doc, tables.checkpoints);
      throw new UsageError(
        `run ${o.resume} does not exist in ${workDir}; ${known.length > 0 ? `known runs: ${known.join(', ')}` : 'no runs there yet'}`,
      );
    }
    // A resume reads the source its run was planned from; --source may name it again, nothing else.
    // A verify of a state dir checks what its latest run wrote, from that run's source.
    const previous =
      o.verify && !o.resume && !o.source && o.stateDir
        ? await latestRun(runs, await listRunIds(dynamo.doc, tables.checkpoints))
        : undefined;
    if (previous)
      io.note(`verify: checking the goals of run ${previous.runId}, from its source ${previous.source.uri}`);
    const reused = resumed?.source ?? previous?.source;
    const pinned = reused?.uri;
    const sourcePath = pinned && !o.source ? pinned : await prepareSource(o, workDir, runId, io);
    const reading = pinned && !o.source ? reused : o;
    if (resumed) await refuseChangedSource(resumed, sourcePath);
    // The naive job gets its own grant and never asks the broker: connecting it would spend a token
    // call the naive column would then be charged for.
    if (o.resume && !o.naive && (await releaseDeadRefresh(dynamo.doc, tables.connections))) {
      io.note(`the crashed process left a refresh of ${LOCAL_CONNECTION_ID} unfinished: reconnecting it`);
    }
    // A connect that failed transiently (the broker died after the IdP answered, an IdP outage) left the
    // connection as it was: the run finds out, and ends needs_reauth with its report where it must.
    const connection = o.naive
      ? 'existing'
      : await ensureConnection(broker, peers.idp, undefined, o.grant).catch((err: unknown) => {
          if (!(err instanceof TransientError)) throw err;
          io.note(`connecting ${LOCAL_CONNECTION_ID} failed: ${err.message}`);
          return 'failed' as const;
        });
    if (connection === 'reconnected')
      io.note(`connection ${LOCAL_CONNECTION_ID} needed re-auth: re-connected`);
    const [lo, hi] = o.latencyMs;
    await peers.hcm.setFaults({
      ...(o.latencyP99Ms === undefined
        ? { latencyDistribution: 'uniform' as const, latencyMs: lo, jitterMs: hi - lo }
        : {
            latencyDistribution: 'lognormal' as const,
            latencyMs: lo,
            jitterMs: 0,
            latencyP99Ms: o.latencyP99Ms,
          }),
      rateLimitPerSecond: o.rateLimit,
      ...o.faults.hcm,
    });
    await peers.idp.setFaults(o.faults.idp);
    const input = {
      runId,
      connectionId: LOCAL_CONNECTION_ID,
      source: {
        uri: sourcePath,
        format: formatFromUri(sourcePath),
        ...(reading?.encoding ? { encoding: reading.encoding } : {}),
        ...(reading?.delimiter ? { delimiter: reading.delimiter } : {}),
      },
      chunkSize: o.chunkSize,
      ...(o.maxInvalid ? { maxInvalid: formatMaxInvalid(o.maxInvalid) } : {}),
      ...(o.resume ? { resume: true } : {}),
      ...(o.mapThreshold === undefined ? {} : { mapThreshold: o.mapThreshold }),
      ...(o.verify ? { verify: true } : {}),
      ...(o.writeMode ? { writeMode: o.writeMode } : {}),
      ...(o.hdlThreshold === undefined ? {} : { hdlThreshold: o.hdlThreshold }),
    };
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
      const naiveStart = Date.now();
      const naive = await runNaive({ o, peers, sourcePath, baseline, io });
      if (o.reportHtml)
        await writeRunHtml(o.reportHtml, {
          report: naive,
          peers,
          startMs: naiveStart,
          endMs: Date.now(),
          rateLimit: o.rateLimit,
        });
      return naive;
    }

    const chunkResults: SyncChunkResult[] = [];
    const lateCommitDelayMs = Number(o.faults.hcm.lateCommitDelayMs ?? 200);
    // The laptop's S3: plan-sync writes each run's chunk list, the Distributed Map's ItemReader reads it.
    const objects = new LocalObjectStore(localObjectRoot(workDir));
    const lambdas = buildLocalLambdas({
      doc,
      checkpointTable: tables.checkpoints,
      broker,
      hcmUrl: peers.hcm.url,
      hcmMaxRequestsPerSecond: localHcmCeiling(o),
      connectionId: LOCAL_CONNECTION_ID,
      events: broker.events,
      verbose: o.verbose,
      onChunk: (r) => chunkResults.push(r),
      timing: {
        ...localWriteTiming(o.faults.hcm.lateCommitRate ? lateCommitDelayMs : 0),
        ...(o.visibilityMs === undefined ? {} : { visibilityMs: o.visibilityMs }),
        ...(o.settleHorizonMs === undefined ? {} : { settleHorizonMs: o.settleHorizonMs }),
      },
      mapping: o.mapping,
      duplicateInvocationRate: o.faults.sfn.duplicateInvocationRate,
      seed: o.seed,
      manifest: new LocalChunkManifest(objects, RENDERED_MANIFEST_BUCKET),
      sourceCopies: fileSourceCopies(join(localObjectRoot(workDir), RENDERED_MANIFEST_BUCKET)),
      goalIndex: localGoalIndex(objects, RENDERED_MANIFEST_BUCKET),
      hdl: {
        ...(localHdlOwner(o) ? { sourceSystemOwner: localHdlOwner(o) } : {}),
        objects: localObjects(objects, RENDERED_MANIFEST_BUCKET),
      },
      indexOptions: {
        ...(o.indexPageSize === undefined ? {} : { pageSize: o.indexPageSize }),
        ...(o.indexMinRecords === undefined ? {} : { minRecords: o.indexMinRecords }),
      },
      ...(o.executionTimeoutS === undefined ? {} : { executionTimeoutMs: o.executionTimeoutS * 1000 }),
    });
    const { asl, functionArns } = localDefinition(o.concurrency);
    // The write path plan-sync chose (issue 24), for the report.
    let writeMode: 'rest' | 'hdl' | undefined;
    // The branch the Choice takes follows plan-sync's answer: noted from its output for the report.
    let planned:
      | { runId: string; map: 'inline' | 'distributed'; goalIndex?: RunReport['goalIndex'] }
      | undefined;
    const invokers = {
      ...lambdas.invokers,
      plan: async (event: Parameters<typeof lambdas.invokers.plan>[0]) => {
        const out = await lambdas.invokers.plan(event);
        const p = out as {
          runId?: string;
          map?: 'inline' | 'distributed';
          goalIndex?: RunReport['goalIndex'];
        };
        if (p?.runId === runId && p.map) planned = { runId: p.runId, map: p.map, goalIndex: p.goalIndex };
        const totals = (out as { totals?: { totalRecords?: number } })?.totals;
        if (p?.runId === runId && totals?.totalRecords !== undefined) progressTotal = totals.totalRecords;
        const chosen = (out as { writeMode?: 'rest' | 'hdl' })?.writeMode;
        if (p?.runId === runId && chosen) writeMode = chosen;
        return out;
      },
    };
    const secondRuns: SecondRun[] = [];
    const startSecondRun = async (): Promise<void> => {
      // A manual start during the nightly run: same connection and source, a new runId.
      const second = `${runId}-second`;
      const run = executeLocally(
        asl,
        functionArns,
        invokers,
        { ...input, runId: second, resume: false },
        second,
        { objects },
      );
      try {
        await run.result;
        secondRuns.push({ runId: second, outcome: 'started' });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        secondRuns.push({
          runId: second,
          outcome: /RunInProgress|is busy with run/.test(message) ? 'refused' : 'failed',
          error: message,
        });
      }
      io.note(`fault: second run ${second} -> ${secondRuns.at(-1)?.outcome}`);
    };
    // Records a previous execution of this run already settled: a resume must leave them alone.
    const alreadyDone = (await runs.listRecordStates(runId)).filter((r) => r.status === 'done').length;
    const watchers = startWatchers({ o, peers, baseline, io, startSecondRun });
    const settledInChunks = () =>
      chunkResults.reduce(
        (n, r) => n + r.counts.unchanged + r.counts.reconciled + r.counts.invalid + r.counts.failed,
        0,
      );
    // The records in the source, once plan-sync has counted them (a generated file: --goals at once).
    let progressTotal: number | undefined = o.source ? undefined : o.goals;
    const progress = new ProgressReporter(
      async () => {
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
      },
      o.progress,
      { everySeconds: o.progressEverySeconds },
    );

    const started = Date.now();
    progress.start();
    let error: string | undefined;
    // The first execution and every continuation finish-sync hands the run to (issue 24 item 4).
    const execution = runExecutionChain({
      runId,
      input,
      runs,
      start: (name, next) => executeLocally(asl, functionArns, invokers, next, name, { objects }),
      ...(o.executionTimeoutS === undefined ? {} : { timeoutMs: o.executionTimeoutS * 1000 }),
    });
    interrupt.onInterrupt(() => {
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
      watchers.stop();
      await watchers.settled();
      // A failed execution can leave iterations running or sleeping before a retry: refuse new
      // invocations, wake the sleepers (abort), and let the running ones settle before teardown.
      const drained = lambdas.stop();
      if (error !== undefined) execution.abort();
      await drained;
      await progress.stop();
    }
    // The run is over: no proactive refresh starts, and one in flight ends, while the report counts them.
    await quietBroker(broker, io);
    // What the stack's execution-status rule does in AWS: a run whose execution failed outside the
    // state machine's Catch still ends, with its event (no-op when MarkFailed already ran).
    if (error !== undefined && (await runs.getRun(runId))) {
      const last = execution.current;
      await lambdas
        .finishUnstopped({
          source: 'aws.states',
          'detail-type': 'Step Functions Execution Status Change',
          detail: {
            executionArn: `arn:aws:states:local:000000000000:execution:goal-sync:${last.name}`,
            name: last.name,
            status: last.timedOut ? 'TIMED_OUT' : 'FAILED',
            input: JSON.stringify(last.input),
            cause: error,
          },
        })
        .catch(() => undefined);
    }
    progressTotal = (await runs.getRun(runId))?.totals?.totalRecords ?? progressTotal;
    const report = await managedReport({
      runId,
      runs,
      broker,
      peers,
      baseline,
      durationMs: Date.now() - started,
      alreadyDone,
      failed: await failedRecords(doc, tables.checkpoints, runId),
      error: interrupt.signal ? undefined : error,
      ...(o.faults.sfn.duplicateInvocationRate || o.faults.secondRunAfter || o.faults.hcm.lateCommitRate
        ? { overlap: { duplicateInvocations: lambdas.duplicateInvocations().started, secondRuns } }
        : {}),
      identityChanges: await identityChanges(dynamo.doc, tables.checkpoints, runId),
    });
    // How many executions the run took: 1, or more when it continued past a deadline.
    report.executions = execution.executions.length;
    const mapRun = execution.mapRuns[0];
    if (mapRun) {
      report.map = 'distributed';
      const { items, children, succeeded, failed, aborted } = mapRun;
      report.mapRun = { items, children, succeeded, failed, aborted };
    } else if (planned) {
      report.map = planned.map;
    }
    if (writeMode) report.writeMode = writeMode;
    if (writeMode === 'hdl')
      report.hdl = hdlReport(await new HdlPartStore(doc, tables.checkpoints).list(runId), lambdas.hdlStats());
    if (planned?.goalIndex) {
      const { built, reason, goals, requests, assigneePlans } = planned.goalIndex;
      report.goalIndex = {
        built,
        ...(reason ? { reason } : {}),
        goals,
        requests,
        ...(assigneePlans !== undefined ? { assigneePlans } : {}),
      };
    }
    if (o.verify) {
      // finish-sync's counts, as in AWS (from the chunks' snapshots or every record). A run that never
      // reached finish-sync (Ctrl-C) reports what the chunk results of this execution saw.
      const sum = (f: 'verifyMissing' | 'verifyDrifted' | 'verifyRepaired') =>
        chunkResults.reduce((n, r) => n + (r.counts[f] ?? 0), 0);
      const found = (await runs.getRun(runId))?.counts?.verify ?? {
        missing: sum('verifyMissing'),
        drifted: sum('verifyDrifted'),
        repaired: sum('verifyRepaired'),
      };
      report.verify = { ...found, hcmRequests: report.hcm.requests };
    }
    if (interrupt.signal) report.interrupted = interrupt.signal;
    report.stateDir = workDir;
    report.tokenRefreshes = silent.refreshes;
    if (o.reportHtml)
      await writeRunHtml(o.reportHtml, {
        report,
        peers,
        startMs: started,
        endMs: started + report.durationMs,
        rateLimit: o.rateLimit,
      });
    return proxy ? { ...report, dynamoFaults: proxy.stats() } : report;
  } finally {
    interrupt.dispose();
    await quietBroker(broker, io);
    await peers.hcm.close();
    await peers.idp.close();
    await proxy?.close();
    await dynamo.close();
    if (!persistent) await rm(workDir, { recursive: true, force: true });
  }
}

/** How long shutdown waits for broker calls in flight: one lease, the longest a holder works. */
const SHUTDOWN_BROKER_WAIT_MS = 30_000;

/**
 * Stops the proactive timers and waits for broker calls in flight: a refresh at the IdP stores its pair
 * before DynamoDB and the IdP go away (bounded: the broker's own lease ends a holder's work within 30 s).
 */
async function quietBroker(broker: LocalTokenBroker, io: RunIo): Promise<void> {
  broker.close();
  if (broker.transport.pending === 0) return;
  io.note(`waiting for ${broker.transport.pending} token broker call(s) in flight to finish`);
  await broker.transport.settled(SHUTDOWN_BROKER_WAIT_MS);
}

/**
 * One generated source file per run id (invariant 8): a later run never overwrites the file an older
 * run was planned from, so its resume reads exactly what it pinned.
 */
async function prepareSource(o: LocalRunOptions, workDir: string, runId: string, io: RunIo): Promise<string> {
  if (o.source) return resolve(o.source);
  const path = join(workDir, 'sources', `${runId}.jsonl`);
  if (o.resume && existsSync(path)) return path;
  await mkdir(join(workDir, 'sources'), { recursive: true, mode: 0o700 });
  const summary = await writeSampleFile(path, { goals: o.goals, invalidRate: o.invalidRate, seed: o.seed });
  io.note(`generated ${summary.lines} sample goals (${summary.invalid} invalid on purpose) in ${path}`);
  return path;
}

/**
 * A resume must read exactly the source its plan pinned (invariant 8): checked here so the CLI says so
 * before anything starts; plan-sync refuses the same way in AWS (SourceChangedError).
 */
async function refuseChangedSource(run: RunItem, sourcePath: string): Promise<void> {
  const runId = run.runId;
  if (resolve(run.source.uri) !== sourcePath) {
    throw new UsageError(
      `run ${runId} was planned from ${run.source.uri}, not ${sourcePath}; resume it with that file`,
    );
  }
  const now = await openGoalSource({ uri: sourcePath, format: formatFromUri(sourcePath) })
    .identify?.()
    .catch(() => undefined);
  const change = sourceChange(run.source.version, now ?? { size: -1 });
  if (change) {
    throw new UsageError(
      `run ${runId} cannot resume: its source ${sourcePath} changed since it was planned (${change})`,
    );
  }
}

/** The run of the state dir that started last (what `--verify` without --source checks). */
async function latestRun(runs: RunStore, runIds: string[]): Promise<RunItem | undefined> {
  let latest: RunItem | undefined;
  for (const id of runIds) {
    const run = await runs.getRun(id);
    if (run && (!latest || run.startedAt > latest.startedAt)) latest = run;
  }
  return latest;
}

/** What a second start of the same connection got (secondRunAfter=N). */
export interface SecondRun {
  runId: string;
  outcome: 'refused' | 'started' | 'failed';
  error?: string;
}

/** Run ids in the local checkpoint table (for "known runs" when a resume names an unknown one). */
async function listRunIds(doc: DynamoDBDocumentClient, table: string): Promise<string[]> {
  const out = await doc.send(
    new ScanCommand({
      TableName: table,
      FilterExpression: 'sk = :run',
      ExpressionAttributeValues: { ':run': 'RUN' },
      ProjectionExpression: 'runId',
    }),
  );
  return (out.Items ?? []).map((i) => String(i.runId)).sort();
}

/**
 * Records whose person or plan changed: the goal written now and the one left behind in HCM. Filtered
 * in the query and read page by page: a 200k-goal run must not hold every record item to find a few.
 */
async function identityChanges(
  doc: DynamoDBDocumentClient,
  table: string,
  runId: string,
): Promise<Array<{ key: string; hcmGoalId: number; previous: { hcmGoalId: number; goalPlanId: number } }>> {
  const out: Array<{ key: string; hcmGoalId: number; previous: { hcmGoalId: number; goalPlanId: number } }> =
    [];
  const pages = paginateQuery(
    { client: doc },
    {
      TableName: table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :rec)',
      FilterExpression: 'attribute_exists(replacedGoal)',
      ProjectionExpression: '#key, hcmGoalId, replacedGoal',
      ExpressionAttributeNames: { '#key': 'externalKey' },
      ExpressionAttributeValues: { ':pk': runPk(runId), ':rec': SK_PREFIX.record },
      ConsistentRead: true,
    },
  );
  for await (const page of pages) {
    for (const i of page.Items ?? []) {
      const prev = i.replacedGoal as { hcmGoalId: number; goalPlanId: number };
      out.push({
        key: String(i.externalKey),
        hcmGoalId: Number(i.hcmGoalId),
        previous: { hcmGoalId: prev.hcmGoalId, goalPlanId: prev.goalPlanId },
      });
    }
  }
  return out;
}

/**
 * `--hcm-max-rps`, else the simulator's capacity: its per-client rate limit (`--rate-limit`, or
 * `hcm.rateLimitPerSecond`), so a local run keeps the speed the simulator allows. A pod-capacity
 * fault is not the client's to know: the pacer finds it. 0 = no ceiling.
 */
export function localHcmCeiling(o: LocalRunOptions): number {
  if (o.hcmMaxRps !== undefined) return o.hcmMaxRps;
  const faultLimit = o.faults.hcm.rateLimitPerSecond;
  return typeof faultLimit === 'number' ? faultLimit : o.rateLimit;
}

/**
 * HDL's source system owner locally: the flag's, or GOALSYNC when --write-mode asks for HDL or auto.
 * Neither: HDL is off (auto means REST), as in a stack without hdlSourceSystemOwner.
 */
function localHdlOwner(o: LocalRunOptions): string | undefined {
  if (o.hdlSourceOwner) return o.hdlSourceOwner;
  return o.writeMode === 'hdl' || o.writeMode === 'auto' ? 'GOALSYNC' : undefined;
}
