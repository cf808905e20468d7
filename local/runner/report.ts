import { escapeControl } from '#core/source/index.ts';

/** The run report (DESIGN.md section 5): benchmarks and tooling read exactly these fields. */
export interface RunReport {
  runId: string;
  mode: 'managed' | 'naive';
  status: string;
  goals: {
    total: number;
    created: number;
    updated: number;
    unchanged: number;
    invalid: number;
    failed: number;
    /**
     * Records whose write may have reached HCM with no read showing it yet (and records never
     * settled): not failed, not written again; the next run adopts what it finds (exit code 1).
     */
    unsettled: number;
    /** Found `done` by a resumed run and not touched again. */
    alreadyDone: number;
    /** `pending` intents reconciled against HCM by natural key instead of creating again. */
    reconciled: number;
    /** Keys with two goals in HCM that this system POSTed both (absent: none; `goal-sync twins`). */
    twins?: number;
  };
  tokens: {
    endpointCalls: number;
    refreshes: number;
    proactive: number;
    jit: number;
    afterUnauthorized: number;
    reuseDetected: number;
    revocations: number;
  };
  hcm: {
    requests: number;
    unauthorized: number;
    throttled: number;
    serverErrors: number;
    duplicates: number;
    goalsStored: number;
    writes: number;
    /** Writes the simulator answered 504 and applied later (hcm.lateCommitRate). */
    lateCommits?: number;
  };
  /** The write path plan-sync chose for the run (issue 24; absent when it never got past planning). */
  writeMode?: 'rest' | 'hdl';
  /** Executions the run took: more than 1 when it continued past an execution's REST deadline (issue 24). */
  executions?: number;
  /**
   * HDL runs: data sets submitted, dataLoadDataSets uploads / submissions / status polls, and the
   * records the data sets loaded, failed (with Oracle's message) or left unsettled. Records HDL must
   * not take (goals HCM holds without our source key) went through the REST Map: goals.* counts both.
   */
  hdl?: {
    dataSets: number;
    uploads: number;
    submissions: number;
    polls: number;
    linesLoaded: number;
    linesFailed: number;
    linesUnsettled: number;
  };
  /** Which Map branch the state machine took (absent when the run never got past planning). */
  map?: 'inline' | 'distributed';
  /** The Distributed Map's run: child executions (one per ItemBatcher batch) and how they ended. */
  mapRun?: { items: number; children: number; succeeded: number; failed: number; aborted: number };
  /**
   * plan-sync's plan-wide read of existing goals (lambdas/core/sync/goal-index.ts): built, or why not
   * (chunks then send per-person finders); goals listed, the HCM requests the read took, and the
   * plans whose assignees it read whole (their workers cost the chunks no request).
   */
  goalIndex?: { built: boolean; reason?: string; goals: number; requests: number; assigneePlans?: number };
  /**
   * `--verify` runs: goals the ledger calls written that HCM no longer had (missing) or had with other
   * content (drifted), how many of them were written back, and the run's HCM requests in all.
   */
  verify?: { missing: number; drifted: number; repaired: number; hcmRequests: number };
  durationMs: number;
  /**
   * Managed runs: the broker's token refreshes in this process (epoch ms, trigger, version), from its
   * "token refreshed" log lines: the bench and --report-html draw them on the token chart.
   */
  tokenRefreshes?: Array<{ atMs: number; trigger: string; version: number }>;
  goalsPerSec: number;
  invalidRecords: Array<{ key?: string; line: number; reason: string }>;
  failedRecords: Array<{ key: string; reason: string }>;
  events: Array<{ type: string; detail: Record<string, unknown> }>;
  /** Overlap faults this execution saw (sfn.duplicateInvocationRate, hcm.lateCommitRate, secondRunAfter). */
  overlap?: {
    duplicateInvocations: number;
    lateCommits: number;
    secondRuns: Array<{ runId: string; outcome: 'refused' | 'started' | 'failed'; error?: string }>;
  };
  /** Records whose person or plan changed: a new goal was written, the old one left in HCM. */
  identityChanges?: Array<{
    key: string;
    hcmGoalId: number;
    previous: { hcmGoalId: number; goalPlanId: number };
  }>;
  crashed?: boolean;
  error?: string;
  /** `--faults dynamo.*`: what the DynamoDB fault proxy did (requests seen, throttled, answers dropped). */
  dynamoFaults?: { requests: number; throttled: number; dropped: number };
  /** Step Functions' error name when the run failed (e.g. InputRejectedError -> exit 4). */
  errorType?: string;
  /** What this execution did, apart from earlier executions of the same run id. */
  execution?: {
    /** Goals this execution created or updated in HCM (the simulator's count). */
    written: number;
    /** Records an earlier execution had already settled: not touched again. */
    alreadyDone: number;
    /** Valid records nobody settled yet (an interrupted, failed or needs-reauth run): a resume does them. */
    notReached: number;
    /** Valid goals that are not in HCM although the job moved past them (naive job only). */
    lost?: number;
  };
  /** Set when Ctrl-C / SIGTERM stopped the run: the signal. */
  interrupted?: string;
  /** Where the run's state lives (a resume needs it). */
  stateDir?: string;
  /** The next command to type, when there is one. */
  next?: string;
}

/** Exit codes shared by goal-sync commands (README "Exit codes"). */
export const EXIT_CODES = {
  ok: 0,
  failed: 1,
  usage: 2,
  needsReauth: 3,
  inputRejected: 4,
  interrupted: 130,
  terminated: 143,
} as const;

/** Exit code of `goal-sync local` for a report (see EXIT_CODES). */
export function exitCodeFor(report: RunReport): number {
  if (report.interrupted)
    return report.interrupted === 'SIGTERM' ? EXIT_CODES.terminated : EXIT_CODES.interrupted;
  if (report.errorType === 'InputRejectedError') return EXIT_CODES.inputRejected;
  if (report.status === 'needs_reauth') return EXIT_CODES.needsReauth;
  if (report.status !== 'completed' || report.goals.failed > 0 || report.goals.unsettled > 0)
    return EXIT_CODES.failed;
  return EXIT_CODES.ok;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** The human summary printed at the end of a run. */
export function renderSummary(r: RunReport): string {
  if (r.errorType === 'InputRejectedError') return renderRejection(r);
  const x = r.execution;
  const rows: Array<[string, string]> = [
    ['run', `${r.runId} (${r.mode})`],
    ['status', r.interrupted ? `interrupted (${r.interrupted})` : r.status],
    ['duration', `${(r.durationMs / 1000).toFixed(1)} s  (${r.goalsPerSec.toFixed(1)} goals/s written)`],
    ['records in source', `${fmt(r.goals.total)}  (${fmt(r.goals.invalid)} invalid, reported)`],
  ];
  if (x) {
    rows.push(['this execution', '']);
    rows.push(['  written to HCM now', fmt(x.written)]);
    rows.push(['  already done before', fmt(x.alreadyDone)]);
    rows.push(['  not reached yet', fmt(x.notReached)]);
    if (x.lost !== undefined) rows.push(['  lost (not in HCM)', fmt(x.lost)]);
  }
  rows.push(
    ['run totals', ''],
    ['  created', fmt(r.goals.created)],
    ['  updated', fmt(r.goals.updated)],
    ['  unchanged', fmt(r.goals.unchanged)],
    ['  reconciled after crash', fmt(r.goals.reconciled)],
    ['  failed', fmt(r.goals.failed)],
    ['  unsettled (next run looks first)', fmt(r.goals.unsettled)],
    ...(r.goals.twins
      ? [['  twins of ours in HCM (goal-sync twins)', fmt(r.goals.twins)] as [string, string]]
      : []),
    ['token endpoint calls', fmt(r.tokens.endpointCalls)],
    [
      '  refreshes',
      `${fmt(r.tokens.refreshes)} (proactive ${r.tokens.proactive}, jit ${r.tokens.jit}, after-401 ${r.tokens.afterUnauthorized})`,
    ],
    ['  reuse detections', fmt(r.tokens.reuseDetected)],
    ['  grant revocations', fmt(r.tokens.revocations)],
    ['HCM requests', fmt(r.hcm.requests)],
    ['  401 / 429 / 5xx', `${r.hcm.unauthorized} / ${r.hcm.throttled} / ${r.hcm.serverErrors}`],
    ['HCM goals stored', fmt(r.hcm.goalsStored)],
    ['HCM duplicate goals', fmt(r.hcm.duplicates)],
    ...(r.writeMode
      ? [
          ['write path', r.writeMode === 'hdl' ? 'HCM Data Loader (HDL), then REST' : 'REST'] as [
            string,
            string,
          ],
        ]
      : []),
    // A run that continued past an execution's REST deadline (issue 24 item 4, --execution-timeout-s).
    ...(r.executions !== undefined && r.executions > 1
      ? [['executions', `${r.executions} (continued before each timeout)`] as [string, string]]
      : []),
    ...(r.hdl
      ? [
          [
            '  HDL data sets',
            `${fmt(r.hdl.dataSets)} (${fmt(r.hdl.uploads)} uploads, ${fmt(r.hdl.submissions)} submissions, ${fmt(r.hdl.polls)} polls)`,
          ] as [string, string],
          [
            '  HDL lines',
            `${fmt(r.hdl.linesLoaded)} loaded, ${fmt(r.hdl.linesFailed)} failed, ${fmt(r.hdl.linesUnsettled)} unsettled`,
          ] as [string, string],
        ]
      : []),
    ...(r.goalIndex
      ? [
          [
            'HCM plan-wide read',
            r.goalIndex.built
              ? `${fmt(r.goalIndex.requests)} requests, ${fmt(r.goalIndex.goals)} goals listed, assignees of ${fmt(r.goalIndex.assigneePlans ?? 0)} plans`
              : `not used (${r.goalIndex.reason ?? 'no index'}): per-person finders`,
          ] as [string, string],
        ]
      : []),
    ...(r.verify
      ? [
          [
            'verify',
            `${fmt(r.verify.missing)} missing, ${fmt(r.verify.drifted)} drifted, ${fmt(r.verify.repaired)} repaired`,
          ] as [string, string],
        ]
      : []),
  );
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  if (r.invalidRecords.length > 0) {
    lines.push('', `  invalid records (${r.invalidRecords.length}, first 5):`);
    for (const rec of r.invalidRecords.slice(0, 5)) {
      lines.push(`    line ${rec.line}${rec.key ? ` ${rec.key}` : ''}: ${rec.reason}`);
    }
  }
  if (r.failedRecords.length > 0) {
    lines.push('', `  failed records (${r.failedRecords.length}, first 5):`);
    for (const rec of r.failedRecords.slice(0, 5)) lines.push(`    ${rec.key}: ${rec.reason}`);
  }
  for (const e of r.events.filter((ev) => ev.type.startsWith('connection.'))) {
    lines.push(`  event ${e.type}: ${JSON.stringify(e.detail)}`);
  }
  if (r.error) lines.push('', `  error: ${escapeControl(r.error)}`);
  if (r.next) lines.push('', `  next: ${r.next}`);
  return lines.join('\n');
}

/** A rejected input did nothing: the reason, the invalid records and what to do, not a table of zeros. */
function renderRejection(r: RunReport): string {
  const lines = [
    `  ${escapeControl(r.error ?? 'input rejected')}`,
    `  run ${r.runId}: nothing was written to HCM`,
  ];
  if (r.invalidRecords.length > 0) {
    lines.push('', `  invalid records (${r.invalidRecords.length}, first 5):`);
    for (const rec of r.invalidRecords.slice(0, 5)) {
      lines.push(`    line ${rec.line}${rec.key ? ` ${rec.key}` : ''}: ${escapeControl(rec.reason)}`);
    }
  }
  if (r.next) lines.push('', `  next: ${r.next}`);
  return lines.join('\n');
}
