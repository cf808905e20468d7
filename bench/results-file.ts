import { readFile } from 'node:fs/promises';
import type { RunSeries } from '../local/charts/series.ts';
import type { Check } from './checks.ts';
import { type CodeIdentity, sameCode } from './code-identity.ts';
import type { LoadSummary } from './cpu-load.ts';
import type { BenchRow } from './row-metrics.ts';

/** Other processes above this many cores through a row's run: the row is `loaded` (and rerun once). */
export const LOADED_ABOVE_CORES = 1;

/** A results row and how it was measured. */
export interface MeasuredRow extends BenchRow {
  /** Scenario id (`baseline`, `scale-50k`): with `mode`, the row's key. */
  id: string;
  measuredAt: string;
  commit: string;
  /** CPU other processes used during the row's run (undefined where /proc/stat cannot be read). */
  otherCpu?: LoadSummary;
  /** Other processes took more than LOADED_ABOVE_CORES through the run, also after the rerun. */
  loaded: boolean;
  /** 2 when the first measurement was loaded and the row ran again. */
  attempts: number;
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  platform: string;
}

/** bench/results/latest.json */
export interface BenchResults {
  generatedAt: string;
  /** `code.commit`, at the top level for tools that look only there (a review hook does). */
  commit?: string;
  /** The code every row measured (rows of other code are never merged in). */
  code: CodeIdentity;
  machine: MachineInfo;
  scenarios: MeasuredRow[];
  checks: Check[];
  notes: string[];
  /** The charts' data per row key (`id/mode`). */
  series: Record<string, RunSeries>;
}

export const rowKey = (r: { id: string; mode: string }): string => `${r.id}/${r.mode}`;

/**
 * latest.json as text: everything indented for reading and diffing, except the charts' data, one
 * line per row (thousands of per-second points would otherwise be most of the file's lines).
 */
export function serializeResults(r: BenchResults): string {
  const { series, ...rest } = r;
  const head = JSON.stringify(rest, null, 2).replace(/\n}$/, '');
  const rows = Object.entries(series).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `${head},\n  "series": {\n${rows.join(',\n')}\n  }\n}\n`;
}

export async function readResults(file: string): Promise<BenchResults | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<BenchResults>;
    // A file from before this format (no code identity) cannot be merged with anything.
    return parsed.code && parsed.scenarios && parsed.checks && parsed.series
      ? (parsed as BenchResults)
      : undefined;
  } catch {
    return undefined;
  }
}

export interface Merged {
  rows: MeasuredRow[];
  checks: Check[];
  series: Record<string, RunSeries>;
  /** Earlier rows kept (not measured now, same code). */
  kept: string[];
  /** Earlier rows dropped because they measured other code (or uncommitted code). */
  dropped: string[];
}

/**
 * This run's rows, plus the earlier file's rows this run did not measure, when both measured the
 * same lambdas/ and local/ code. Rows are ordered as `order` (the scenario list). Scale checks compare
 * rows, so the caller computes them again over the merged rows; earlier ones are left out here.
 */
export function mergeResults(
  earlier: BenchResults | undefined,
  now: { code: CodeIdentity; rows: MeasuredRow[]; checks: Check[]; series: Record<string, RunSeries> },
  order: string[],
): Merged {
  const measured = new Set(now.rows.map(rowKey));
  const old = (earlier?.scenarios ?? []).filter((r) => !measured.has(rowKey(r)));
  const compatible = earlier !== undefined && sameCode(earlier.code, now.code);
  const kept = compatible ? old : [];
  const keptKeys = new Set(kept.map(rowKey));
  const rank = (r: MeasuredRow) => {
    const i = order.indexOf(rowKey(r));
    return i === -1 ? order.length : i;
  };
  const series = { ...now.series };
  for (const k of keptKeys) if (earlier?.series[k]) series[k] = earlier.series[k];
  return {
    rows: [...now.rows, ...kept].sort((a, b) => rank(a) - rank(b)),
    checks: [
      ...now.checks,
      ...(earlier?.checks ?? []).filter(
        (c) => c.scenario !== 'scale' && keptKeys.has(rowKey({ id: c.scenario, mode: c.mode })),
      ),
    ],
    series,
    kept: [...keptKeys],
    dropped: compatible ? [] : old.map(rowKey),
  };
}

/** The lines a reader must see first: rows measured on a busy machine, scenarios missing, uncommitted code. */
export function warningsFor(r: BenchResults, expected: string[]): string[] {
  const out: string[] = [];
  const loaded = r.scenarios.filter((row) => row.loaded);
  if (loaded.length > 0) {
    out.push(
      `NOT A QUIET MACHINE: ${loaded.map(rowKey).join(', ')} ran while other processes (with steal) took more than ` +
        `${LOADED_ABOVE_CORES} core (also in the one rerun): their times and ratios are not the system's.`,
    );
  }
  const have = new Set(r.scenarios.map(rowKey));
  const missing = expected.filter((k) => !have.has(k));
  if (missing.length > 0) out.push(`Not measured at this code: ${missing.join(', ')}.`);
  if (r.code.dirty)
    out.push('Measured with uncommitted changes under lambdas/ or local/: not a result of any commit.');
  return out;
}

function stealLine(cpu: LoadSummary[]): string {
  const withSteal = cpu.flatMap((c) => (c.stealMeanCores === undefined ? [] : [c]));
  if (withSteal.length === 0) return 'steal not sampled in these rows; ';
  const mean = withSteal.reduce((n, c) => n + (c.stealMeanCores ?? 0), 0) / withSteal.length;
  const max = Math.max(...withSteal.map((c) => c.stealMaxCores ?? 0));
  const of = withSteal.length < cpu.length ? ` (${withSteal.length} of ${cpu.length} rows)` : '';
  return `CPU stolen by the host: mean ${mean.toFixed(2)} cores, peak ${max.toFixed(2)}${of}; `;
}

/** One line on what was measured, where, and how busy the machine was. */
export function summaryLines(r: BenchResults): string[] {
  const m = r.machine;
  const cpu = r.scenarios.flatMap((row) => (row.otherCpu ? [row.otherCpu] : []));
  const meanOfMeans = cpu.length > 0 ? cpu.reduce((n, c) => n + c.meanCores, 0) / cpu.length : undefined;
  const max = cpu.length > 0 ? Math.max(...cpu.map((c) => c.maxCores)) : undefined;
  const dates = r.scenarios.map((row) => row.measuredAt).sort();
  return [
    `Code: commit ${r.code.commit.slice(0, 12)} (lambdas/ tree ${r.code.lambdasTree.slice(0, 12)}, ` +
      `local/ tree ${r.code.localTree.slice(0, 12)}${r.code.dirty ? ', uncommitted changes' : ''}).`,
    `Machine: ${m.cpus} x ${m.cpuModel}, ${m.memoryGb} GB, Node ${m.node} (${m.platform}). Rows measured ` +
      `${dates[0] ?? '?'} .. ${dates.at(-1) ?? '?'}.`,
    meanOfMeans === undefined
      ? 'CPU of other processes: not sampled (no /proc/stat).'
      : `CPU of other processes (/proc/stat minus the bench's process tree, sampled each second): mean ` +
        `${meanOfMeans.toFixed(2)} cores over the rows, peak ${max?.toFixed(2)}; ${stealLine(cpu)}a row above ` +
        `${LOADED_ABOVE_CORES} core on average (other processes plus steal) is marked loaded and runs once more.`,
  ];
}
