import { type DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';
import type { HdlPartItem, RunStore } from '#core/checkpoint/index.ts';
import { runPk, SK_PREFIX } from '#core/checkpoint/index.ts';
import type { HdlCallStats } from '#core/hdl/index.ts';
import type { LocalTokenBroker } from '../adapters/in-process-broker.ts';
import type { HcmStats } from '../hcm/index.ts';
import type { IdpStats } from '../idp/index.ts';
import { type RefreshCounts, refreshCounts } from './connection.ts';
import type { HcmPeer, IdpPeer } from './peers.ts';
import type { RunReport } from './report.ts';

/** Peer counters at the start of the run: the report shows what this run did, not the peers' lifetime. */
export interface StatsBaseline {
  idp: IdpStats;
  hcm: HcmStats;
  refreshes: RefreshCounts;
}

/** Token and HCM sections, read from the simulators' own stats (DESIGN.md section 5). */
export async function peerSections(
  peers: { idp: IdpPeer; hcm: HcmPeer },
  baseline: StatsBaseline,
  refreshes: RefreshCounts,
): Promise<Pick<RunReport, 'tokens' | 'hcm'>> {
  const idp = await peers.idp.stats();
  const hcm = await peers.hcm.stats();
  return {
    tokens: {
      endpointCalls: idp.tokenRequests - baseline.idp.tokenRequests,
      refreshes: refreshes.refreshes - baseline.refreshes.refreshes,
      proactive: refreshes.proactive - baseline.refreshes.proactive,
      jit: refreshes.jit - baseline.refreshes.jit,
      afterUnauthorized: refreshes.afterUnauthorized - baseline.refreshes.afterUnauthorized,
      reuseDetected: idp.reuseDetections - baseline.idp.reuseDetections,
      revocations: idp.revocations - baseline.idp.revocations,
    },
    hcm: {
      requests: hcm.requests.total - baseline.hcm.requests.total,
      unauthorized: hcm.unauthorized - baseline.hcm.unauthorized,
      throttled: hcm.throttled - baseline.hcm.throttled,
      serverErrors: hcm.serverErrors - baseline.hcm.serverErrors,
      duplicates: hcm.duplicates,
      goalsStored: hcm.goalsStored,
      writes: hcm.creates + hcm.updates - baseline.hcm.creates - baseline.hcm.updates,
      lateCommits: (hcm.lateCommits ?? 0) - (baseline.hcm.lateCommits ?? 0),
    },
  };
}

/** Failed record checkpoints of a run, with their reasons (already masked by the engine). */
export async function failedRecords(
  doc: DynamoDBDocumentClient,
  table: string,
  runId: string,
): Promise<Array<{ key: string; reason: string }>> {
  const out: Array<{ key: string; reason: string }> = [];
  const pages = paginateQuery(
    { client: doc },
    {
      TableName: table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :rec)',
      FilterExpression: '#status = :failed',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':pk': runPk(runId), ':rec': SK_PREFIX.record, ':failed': 'failed' },
      ConsistentRead: true,
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      out.push({ key: String(item.sk).slice(SK_PREFIX.record.length), reason: String(item.reason ?? '') });
    }
  }
  return out;
}

export async function managedReport(a: {
  runId: string;
  runs: RunStore;
  broker: LocalTokenBroker;
  peers: { idp: IdpPeer; hcm: HcmPeer };
  baseline: StatsBaseline;
  durationMs: number;
  alreadyDone: number;
  failed: Array<{ key: string; reason: string }>;
  error?: string;
  overlap?: { duplicateInvocations: number; secondRuns: NonNullable<RunReport['overlap']>['secondRuns'] };
  identityChanges?: RunReport['identityChanges'];
}): Promise<RunReport> {
  const run = await a.runs.getRun(a.runId);
  const counts = run?.counts;
  const { counts: refreshes } = await refreshCounts(a.broker);
  const sections = await peerSections(a.peers, a.baseline, refreshes);
  // Settled = done or failed, whatever execution did it; the rest is what a resume would still do.
  const states = await a.runs.listRecordStates(a.runId);
  const settled = states.filter((r) => r.status !== 'pending').length;
  // finish-sync writes the run's counts; an interrupted execution never got there: count the records.
  const tally = (action: string) => states.filter((r) => r.status === 'done' && r.action === action).length;
  const valid = run?.totals?.validRecords ?? 0;
  return {
    runId: a.runId,
    mode: 'managed',
    status: run?.status ?? 'failed',
    goals: {
      total: counts?.total ?? run?.totals?.totalRecords ?? 0,
      created: counts?.created ?? tally('created'),
      updated: counts?.updated ?? tally('updated'),
      unchanged: counts?.unchanged ?? tally('unchanged'),
      invalid: counts?.invalid ?? run?.totals?.invalid ?? 0,
      failed: counts?.failed ?? states.filter((r) => r.status === 'failed').length,
      unsettled: counts?.unsettled ?? states.filter((r) => r.status === 'unsettled').length,
      alreadyDone: a.alreadyDone,
      reconciled: counts?.reconciled ?? tally('reconciled'),
      ...(counts?.twins ? { twins: counts.twins } : {}),
    },
    ...sections,
    durationMs: a.durationMs,
    // This execution's writes only (the simulator's count): a re-run of a finished run writes nothing.
    goalsPerSec: a.durationMs > 0 ? (sections.hcm.writes * 1000) / a.durationMs : 0,
    execution: {
      written: sections.hcm.writes,
      alreadyDone: a.alreadyDone,
      notReached: Math.max(0, valid - settled),
    },
    invalidRecords: await a.runs.listInvalidRecords(a.runId),
    failedRecords: a.failed,
    events: a.broker.events.events.map((e) => ({ type: e.type, detail: e.detail })),
    ...(a.overlap
      ? {
          overlap: {
            duplicateInvocations: a.overlap.duplicateInvocations,
            lateCommits: sections.hcm.lateCommits ?? 0,
            secondRuns: a.overlap.secondRuns,
          },
        }
      : {}),
    ...(a.identityChanges && a.identityChanges.length > 0 ? { identityChanges: a.identityChanges } : {}),
    ...(a.error ? { error: a.error } : {}),
    ...(run?.lastError ? { errorType: run.lastError.error } : {}),
  };
}

/**
 * The HDL branch's counters (issue 24): data sets submitted (parts with a RequestId), the
 * dataLoadDataSets calls, and the lines each part's outcome step settled.
 */
export function hdlReport(parts: readonly HdlPartItem[], calls: HdlCallStats): NonNullable<RunReport['hdl']> {
  const sum = (f: 'loaded' | 'failed' | 'unsettled') => parts.reduce((n, p) => n + (p[f] ?? 0), 0);
  return {
    dataSets: parts.filter((p) => p.requestId !== undefined).length,
    uploads: calls.uploads,
    submissions: calls.submissions,
    polls: calls.polls,
    linesLoaded: sum('loaded'),
    linesFailed: sum('failed'),
    linesUnsettled: sum('unsettled'),
  };
}
