import type { Check } from './checks.ts';
import type { BenchRow } from './row-metrics.ts';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  platform: string;
}

export interface BenchResults {
  generatedAt: string;
  machine: MachineInfo;
  scenarios: BenchRow[];
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/**
 * The results table: one row per scenario x mode, in run order. Two ceiling shares, shown only where
 * the HCM rate limit is what bounds the run (`paced` scenarios; the JSON keeps both for every row):
 * the physical one first (rate limit / 1 request per goal: the headline), then the per-person finder
 * formula's (rate limit / (1 + persons / goals)), which a pattern spending finders can reach and still
 * leave goals unwritten. `map`: the Map branch a managed run took.
 */
export function renderTable(rows: BenchRow[], paced: ReadonlySet<string>): string {
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
    'outcome',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const f = r.refreshes;
    lines.push(
      `| ${[
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
        r.outcome,
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

const MARK: Record<Check['verdict'], string> = { pass: 'PASS', fail: 'FAIL', info: 'info' };

export function renderChecks(checks: Check[]): string {
  return checks
    .map((c) => `- ${MARK[c.verdict]} \`${c.scenario}\` (${c.mode}) ${c.claim}: ${c.detail}`)
    .join('\n');
}

export function renderReport(
  results: BenchResults,
  checks: Check[],
  notes: string[],
  paced: ReadonlySet<string>,
): string {
  const m = results.machine;
  return [
    `# Bench results ${results.generatedAt}`,
    '',
    `Machine: ${m.cpus} x ${m.cpuModel}, ${m.memoryGb} GB, Node ${m.node} (${m.platform}).`,
    '',
    renderTable(results.scenarios, paced),
    '',
    '## Checks',
    '',
    renderChecks(checks),
    ...(notes.length > 0 ? ['', '## Notes', '', ...notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
}
