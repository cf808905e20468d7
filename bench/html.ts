import { renderReportPage } from '../local/charts/page.ts';
import type { RunSeries } from '../local/charts/series.ts';
import { renderChecks, tableCells } from './markdown.ts';
import { type BenchResults, rowKey, summaryLines, warningsFor } from './results-file.ts';
import { SCENARIOS, scenarioId } from './scenarios.ts';

/**
 * latest.html: the warnings and the headline table on top, then per scenario its managed and naive
 * runs side by side on one time axis (local/charts/). Static SVG, rendered now.
 */
export function renderBenchHtml(
  r: BenchResults,
  paced: ReadonlySet<string>,
  expected: string[],
): Promise<string> {
  const ids = [...new Set(r.scenarios.map((row) => row.id))];
  const sections = ids.map((id) => {
    const scenario = SCENARIOS.find((s) => scenarioId(s) === id);
    const rows = r.scenarios.filter((row) => row.id === id);
    const runs = rows.map((row) => r.series[rowKey(row)]).filter((s): s is RunSeries => s !== undefined);
    const outcomes = rows.map((row) => `${row.mode}: ${row.outcome}`).join('; ');
    return {
      id,
      title: `${id} (${rows[0]?.goals.toLocaleString('en-US') ?? '?'} goals)`,
      subtitle: [scenario?.proves, outcomes].filter(Boolean).join('. '),
      runs,
    };
  });
  return renderReportPage({
    title: `Bench results ${r.generatedAt}`,
    warnings: warningsFor(r, expected),
    summary: summaryLines(r),
    table: tableCells(r.scenarios, paced),
    sections,
    notes: [
      'Charts: bars are the access tokens the IdP issued (issue to expiry), points the broker refreshes by ' +
        'trigger (the naive job has no broker), crosses the 401s on the token they refused; HCM answers per second with 401, 429 and 5xx in colour and ' +
        'the rate limit dashed; goals the HCM simulator stored per second. Dashed vertical lines: a resumed ' +
        'or restarted process.',
      ...r.notes,
      // The checks as plain text (the Markdown's list marks and code quotes dropped).
      ...(r.checks.length > 0
        ? renderChecks(r.checks)
            .replace(/`/g, '')
            .split('\n')
            .map((l) => l.replace(/^- /, ''))
        : []),
    ],
  });
}
