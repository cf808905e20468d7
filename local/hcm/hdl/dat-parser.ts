import { GOAL_COMPONENTS, type GoalComponent } from './contract.ts';

/**
 * A .dat file read as Oracle's reserved-characters page describes it: `|` separates attributes, a new
 * line ends a file line, `\` makes the next character data (`\n` a new line inside a value). Blank
 * lines and COMMENT lines are skipped; SET lines are reported as unsupported (the simulator keeps the
 * default reserved characters).
 */
export interface DatLine {
  /** 1-based line number in the file (what failed-lines reports name). */
  lineNumber: number;
  raw: string;
  instruction: string;
  component: string;
  values: string[];
}

export interface DatRow {
  lineNumber: number;
  raw: string;
  component: GoalComponent;
  attributes: Record<string, string>;
}

export interface DatFileProblem {
  lineNumber: number;
  raw: string;
  message: string;
}

export function splitDatLine(line: string): string[] {
  const cells: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === '\\' && i + 1 < line.length) {
      const next = line[++i]!;
      cur += next === 'n' ? '\n' : next;
    } else if (ch === '|') {
      cells.push(cur);
      cur = '';
    } else cur += ch;
  }
  cells.push(cur);
  return cells;
}

/**
 * MERGE rows with their METADATA's attribute names, and the lines the import rejects (unknown
 * component or attribute, a MERGE before its METADATA, a wrong number of values, another instruction).
 */
export function parseDat(text: string): { rows: DatRow[]; problems: DatFileProblem[] } {
  const rows: DatRow[] = [];
  const problems: DatFileProblem[] = [];
  const metadata = new Map<string, string[]>();
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const lineNumber = index + 1;
    if (raw.trim() === '' || raw.startsWith('COMMENT')) continue;
    const [instruction = '', component = '', ...values] = splitDatLine(raw);
    const problem = lineProblem(values, component, metadata);
    if (instruction === 'METADATA') {
      const known = (GOAL_COMPONENTS as Record<string, readonly string[]>)[component];
      const unknown = known ? values.filter((v) => !known.includes(v)) : [];
      if (!known)
        problems.push({
          lineNumber,
          raw,
          message: `The component ${component} isn't valid for the business object Goal.`,
        });
      else if (unknown.length > 0)
        problems.push({
          lineNumber,
          raw,
          message: `The attribute ${unknown.join(', ')} isn't valid for the component ${component}.`,
        });
      else metadata.set(component, values);
      continue;
    }
    const names = metadata.get(component);
    const message =
      instruction !== 'MERGE' ? `The instruction ${instruction} isn't supported here.` : problem;
    if (message !== undefined || !names) {
      problems.push({ lineNumber, raw, message: message ?? 'No METADATA line precedes this line.' });
      continue;
    }
    rows.push({
      lineNumber,
      raw,
      component: component as GoalComponent,
      attributes: Object.fromEntries(names.map((n, i) => [n, values[i]!])),
    });
  }
  return { rows, problems };
}

/** What is wrong with a MERGE line of `component` given the METADATA seen so far, or undefined. */
function lineProblem(
  values: string[],
  component: string,
  metadata: Map<string, string[]>,
): string | undefined {
  const names = metadata.get(component);
  if (!names) return `No METADATA line for the component ${component} precedes this line.`;
  if (values.length !== names.length)
    return `The line has ${values.length} values; its METADATA line names ${names.length} attributes.`;
  return undefined;
}
