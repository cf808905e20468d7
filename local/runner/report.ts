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
    /** Found `done` by a resumed run and not touched again. */
    alreadyDone: number;
    /** `pending` intents reconciled against HCM by natural key instead of creating again. */
    reconciled: number;
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
  durationMs: number;
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
}

/** Exit codes of `goal-sync local`: 0 ok, 1 failed records, 2 bad arguments, 3 needs re-auth. */
export function exitCodeFor(report: RunReport): number {
  if (report.status === 'needs_reauth') return 3;
  if (report.status !== 'completed' || report.goals.failed > 0) return 1;
  return 0;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** The human summary printed at the end of a run. */
export function renderSummary(r: RunReport): string {
  const rows: Array<[string, string]> = [
    ['run', `${r.runId} (${r.mode})`],
    ['status', r.status],
    ['duration', `${(r.durationMs / 1000).toFixed(1)} s  (${r.goalsPerSec.toFixed(1)} goals/s)`],
    ['goals in source', fmt(r.goals.total)],
    ['  created', fmt(r.goals.created)],
    ['  updated', fmt(r.goals.updated)],
    ['  unchanged', fmt(r.goals.unchanged)],
    ['  already done (resume)', fmt(r.goals.alreadyDone)],
    ['  reconciled after crash', fmt(r.goals.reconciled)],
    ['  invalid (reported)', fmt(r.goals.invalid)],
    ['  failed', fmt(r.goals.failed)],
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
  ];
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
  if (r.error) lines.push('', `  error: ${r.error}`);
  return lines.join('\n');
}
