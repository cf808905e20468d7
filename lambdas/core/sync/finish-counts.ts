import type { ChunkSummary, GoalCounts, RunItem, RunStore, VerifyCounts } from '#core/checkpoint/index.ts';

/** finish-sync's counts of a run: from this attempt's chunk snapshots when complete, else every record. */

export function fromSummaries(run: RunItem, summaries: ChunkSummary[]): GoalCounts | undefined {
  const totals = run.totals;
  if (!totals || run.chunkCount === undefined || summaries.length !== run.chunkCount) return undefined;
  // Only a full set of complete snapshots from this attempt describes the run exactly.
  if (summaries.some((s) => s.attempt !== run.attempt || s.status !== 'complete')) return undefined;
  const sum = (f: keyof ChunkSummary) => summaries.reduce((n, s) => n + (s[f] as number), 0);
  const sumVerify = (f: 'verifyMissing' | 'verifyDrifted' | 'verifyRepaired') =>
    summaries.reduce((n, s) => n + (s[f] ?? 0), 0);
  const counts: GoalCounts = {
    total: totals.totalRecords,
    created: sum('created'),
    updated: sum('updated'),
    unchanged: sum('unchanged'),
    reconciled: sum('reconciled'),
    invalid: totals.invalid,
    failed: sum('failed'),
    unsettled: summaries.reduce((n, s) => n + (s.unsettled ?? 0), 0),
    ...(run.verify
      ? {
          verify: {
            missing: sumVerify('verifyMissing'),
            drifted: sumVerify('verifyDrifted'),
            repaired: sumVerify('verifyRepaired'),
          },
        }
      : {}),
  };
  const settled =
    counts.created + counts.updated + counts.unchanged + counts.reconciled + counts.failed + counts.unsettled;
  return settled === totals.validRecords ? counts : undefined;
}

/** Counts from every record; `pending`: valid records with no terminal state (never settled). */
export async function fromRecords(run: RunItem, runs: RunStore): Promise<GoalCounts & { pending: number }> {
  const counts: GoalCounts = {
    total: run.totals?.totalRecords ?? 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    reconciled: 0,
    invalid: run.totals?.invalid ?? 0,
    failed: 0,
    unsettled: 0,
  };
  const verify: VerifyCounts = { missing: 0, drifted: 0, repaired: 0 };
  let settled = 0;
  for (const r of await runs.listRecordStates(run.runId)) {
    if (r.verifyFinding) {
      verify[r.verifyFinding] += 1;
      if (r.status === 'done') verify.repaired += 1;
    }
    if (r.status === 'failed') counts.failed += 1;
    else if (r.status === 'unsettled') counts.unsettled += 1;
    else if (r.status === 'done' && r.action && r.action in counts) counts[r.action as 'created'] += 1;
    else continue;
    settled += 1;
  }
  // Records with no terminal state at all (a run that stopped early) are unsettled too.
  const pending = Math.max(0, (run.totals?.validRecords ?? 0) - settled);
  counts.unsettled += pending;
  return { ...counts, ...(run.verify ? { verify } : {}), pending };
}

/** Keys with twins of ours, from this attempt's chunk summaries (the records hold no twin). */
export function twinCount(run: RunItem, summaries: ChunkSummary[]): number {
  return summaries.filter((s) => s.attempt === run.attempt).reduce((n, s) => n + (s.twins ?? 0), 0);
}
