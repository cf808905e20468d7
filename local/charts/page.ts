import type { RunSeries } from './series.ts';
import { runSpec } from './spec.ts';
import { renderSvg } from './svg.ts';

export interface ReportSection {
  /** Anchor id (letters, digits, dashes). */
  id: string;
  title: string;
  /** What the scenario proves, one line. */
  subtitle?: string;
  /** Drawn side by side on one time axis (managed beside naive). */
  runs: RunSeries[];
}

export interface ReportPage {
  title: string;
  /** Lines above the table: what was measured, where, how busy the machine was. */
  summary: string[];
  /** Shown first and highlighted (a result that could not get a quiet machine, a missing row). */
  warnings: string[];
  table: { head: string[]; rows: string[][] };
  sections: ReportSection[];
  notes: string[];
}

const html = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1400px; }
h1 { font-size: 22px; margin: 0 0 8px; } h2 { font-size: 17px; margin: 28px 0 2px; }
p.sub { margin: 0 0 8px; color: #555; }
.warn { background: #fff3cd; border: 1px solid #e0c36c; padding: 6px 10px; margin: 6px 0; }
table { border-collapse: collapse; font-size: 12px; margin: 12px 0; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; white-space: normal; vertical-align: bottom; } td:first-child, td:nth-child(2), td:last-child { text-align: left; }
.runs { display: flex; flex-wrap: wrap; gap: 16px; }
figure.chart { margin: 0; } figure.chart svg { display: block; }
ul.notes { font-size: 12px; color: #444; }
`;

/**
 * A static report: the headline table, then per section the charts of its runs, rendered to inline
 * SVG now. No script, no stylesheet or font from elsewhere: it opens the same offline, years later.
 */
export async function renderReportPage(p: ReportPage): Promise<string> {
  const sections: string[] = [];
  for (const s of p.sections) {
    // Per-second buckets are whole epoch seconds: the last one may end a second after the run.
    const domainS = Math.max(1, ...s.runs.map((r) => Math.ceil(r.durationS) + 1));
    const figures: string[] = [];
    for (const run of s.runs) {
      const svg = await renderSvg(runSpec(run, { domainS }));
      figures.push(`<figure class="chart" data-chart="${html(`${s.id}/${run.label}`)}">${svg}</figure>`);
    }
    sections.push(
      [
        `<section id="${html(s.id)}">`,
        `<h2>${html(s.title)}</h2>`,
        s.subtitle ? `<p class="sub">${html(s.subtitle)}</p>` : '',
        `<div class="runs">${figures.join('\n')}</div>`,
        '</section>',
      ].join('\n'),
    );
  }
  const head = p.table.head.map((h) => `<th>${html(h)}</th>`).join('');
  const rows = p.table.rows.map((r) => `<tr>${r.map((c) => `<td>${html(c)}</td>`).join('')}</tr>`);
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${html(p.title)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>${html(p.title)}</h1>`,
    ...p.warnings.map((w) => `<p class="warn">${html(w)}</p>`),
    ...p.summary.map((l) => `<p>${html(l)}</p>`),
    `<table><thead><tr>${head}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`,
    ...sections,
    p.notes.length > 0
      ? `<h2>Notes</h2><ul class="notes">${p.notes.map((n) => `<li>${html(n)}</li>`).join('')}</ul>`
      : '',
    '</body></html>',
    '',
  ].join('\n');
}
