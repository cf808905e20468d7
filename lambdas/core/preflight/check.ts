/**
 * One preflight check's result. `fail` makes the preflight exit 1; `warn` is reported with what it
 * means on a real pod but blocks nothing (e.g. a privilege the pipeline does not need); `skip` says
 * why a check could not run (usually because an earlier one failed).
 */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable kebab-case id: scripts match on it (`--json`), docs/first-real-run.md explains each. */
  name: string;
  status: CheckStatus;
  /** `status !== 'fail'`. */
  ok: boolean;
  /** What was seen, in one line. Never a token or a secret. */
  detail: string;
  /** What to do about it; present for `fail` and `warn`. */
  fix?: string;
}

export const pass = (name: string, detail: string): CheckResult => ({
  name,
  status: 'pass',
  ok: true,
  detail,
});
export const warn = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  status: 'warn',
  ok: true,
  detail,
  fix,
});
export const fail = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  status: 'fail',
  ok: false,
  detail,
  fix,
});
export const skip = (name: string, detail: string): CheckResult => ({
  name,
  status: 'skip',
  ok: true,
  detail,
});

export interface PreflightReport {
  /** Every check passed or only warned. */
  ok: boolean;
  checks: CheckResult[];
  counts: Record<CheckStatus, number>;
}

export function toReport(checks: CheckResult[]): PreflightReport {
  const counts: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) counts[c.status] += 1;
  return { ok: counts.fail === 0, checks, counts };
}

const LABEL: Record<CheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

/** One line per check (two with a fix), then the verdict. */
export function renderReport(report: PreflightReport): string {
  const width = Math.max(...report.checks.map((c) => c.name.length), 4);
  const lines = report.checks.flatMap((c) => {
    const head = `${LABEL[c.status]}  ${c.name.padEnd(width)}  ${c.detail}`;
    return c.fix && c.status !== 'pass' ? [head, `      ${' '.repeat(width)}  fix: ${c.fix}`] : [head];
  });
  const { pass: p, warn: w, fail: f, skip: s } = report.counts;
  lines.push(
    '',
    report.ok
      ? `preflight passed: ${p} passed, ${w} warnings, ${s} skipped`
      : `preflight FAILED: ${f} failed, ${p} passed, ${w} warnings, ${s} skipped`,
  );
  return lines.join('\n');
}
