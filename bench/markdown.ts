import type { Check } from './checks.ts';
import { type BenchResults, type MeasuredRow, summaryLines, warningsFor } from './results-file.ts';

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Other processes' mean cores, then steal (rows measured before steal was sampled have none to show). */
export function cpuCell(r: Pick<MeasuredRow, 'otherCpu' | 'loaded' | 'attempts'>): string {
  if (!r.otherCpu) return '?';
  const steal = r.otherCpu.stealMeanCores;
  return (
    fmt(r.otherCpu.meanCores, 2) +
    (steal === undefined ? '' : ` +${fmt(steal, 2)} steal`) +
    (r.loaded ? ' LOADED' : '') +
    (r.attempts > 1 ? ' (rerun)' : '')
  );
}

/**
 * The results table: one row per scenario x mode, in run order. Two ceiling shares, shown only where
 * the HCM rate limit is what bounds the run (`paced` scenarios; the JSON keeps both for every row):
 * the physical one first (rate limit / 1 request per goal: the headline), then the per-person finder
 * formula's (rate limit / (1 + persons / goals)), which a pattern spending finders can reach and still
 * leave goals unwritten. `map`: the Map branch a managed run took.
 */
export function tableCells(
  rows: MeasuredRow[],
  paced: ReadonlySet<string>,
): { head: string[]; rows: string[][] } {
  const head = [
    'scenario',
    'mode',
    'goals',
    'goals/s',
    'of physical ceiling',
    'of formula ceiling',
    'HCM req/goal',
    'token calls',
    'refreshes pro/jit/401',
    '401s',
    'reuse',
    'revoked',
    'dup',
    'lost',
    'pipeline RSS MB',
    'sims RSS MB',
    'wall s',
    'map',
    'other CPU (cores)',
    'outcome',
  ];
  const cells = rows.map((r) => {
    const f = r.refreshes;
    return [
      r.name,
      r.mode,
      fmt(r.goals),
      fmt(r.goalsPerSec, 1),
      paced.has(r.name) ? `${fmt(r.ceilingRatio * 100, 1)}%` : '-',
      paced.has(r.name) ? `${fmt(r.formulaCeilingRatio * 100, 1)}%` : '-',
      fmt(r.hcmRequestsPerGoal, 2),
      fmt(r.tokenEndpointCalls),
      `${f.proactive}/${f.jit}/${f.afterUnauthorized}`,
      fmt(r.unauthorized),
      fmt(r.reuseDetected),
      fmt(r.grantRevocations),
      fmt(r.duplicates),
      fmt(r.lost),
      fmt(r.peakRssMb),
      fmt(r.simulatorsPeakRssMb),
      fmt(r.wallMs / 1000, 1),
      r.map ?? '-',
      cpuCell(r),
      r.outcome,
    ];
  });
  return { head, rows: cells };
}

export function renderTable(rows: MeasuredRow[], paced: ReadonlySet<string>): string {
  const { head, rows: cells } = tableCells(rows, paced);
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...cells.map((c) => `| ${c.join(' | ')} |`),
  ].join('\n');
}

const MARK: Record<Check['verdict'], string> = { pass: 'PASS', fail: 'FAIL', info: 'info' };

export function renderChecks(checks: Check[]): string {
  return checks
    .map((c) => `- ${MARK[c.verdict]} \`${c.scenario}\` (${c.mode}) ${c.claim}: ${c.detail}`)
    .join('\n');
}

/** latest.md: warnings first, then what was measured, the table, the checks and the notes. */
export function renderReport(results: BenchResults, paced: ReadonlySet<string>, expected: string[]): string {
  const warnings = warningsFor(results, expected);
  return [
    `# Bench results ${results.generatedAt}`,
    '',
    ...warnings.flatMap((w) => [`> **${w}**`, '']),
    ...summaryLines(results).flatMap((l) => [l, '']),
    renderTable(results.scenarios, paced),
    '',
    '## Checks',
    '',
    renderChecks(results.checks),
    ...(results.notes.length > 0 ? ['', '## Notes', '', ...results.notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
}
