import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { parseGoalMapping } from '#core/hcm/index.ts';
import {
  buildHdlFiles,
  escapeHdlValue,
  GOAL_ATTRIBUTES,
  GOAL_DAT,
  GOAL_PLAN_GOAL_ATTRIBUTES,
  type HdlGoalEntry,
} from '#core/hdl/index.ts';
import type { GoalRecord } from '#core/source/index.ts';
import { ConfigError } from '../../lambdas/core/errors.ts';

const OWNER = 'GOALSYNC';

function entry(n: number, over: Partial<GoalRecord> = {}, plan = 300000009990001): HdlGoalEntry {
  return {
    record: {
      externalKey: `K-${String(n).padStart(5, '0')}`,
      personNumber: `E${n}`,
      goalName: `Goal ${n}`,
      description: 'Faster first commit',
      startDate: '2026-01-15',
      targetCompletionDate: '2026-06-30',
      status: 'IN_PROGRESS',
      goalPlanId: plan,
      weight: 20,
      category: 'DEVELOPMENT',
      priority: 'HIGH',
      percentComplete: 40,
      actualCompletionDate: '2026-05-01',
      ...over,
    },
    goalPlanName: `Plan ${plan}`,
    assignmentNumber: `A${n}`,
  };
}

/**
 * A reader written from Oracle's reserved-character page, independent of the writer: splits on an
 * unescaped `|`, turns `\n` into a new line and `\x` into x.
 */
function splitLine(line: string): string[] {
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

/** Goal.dat -> rows per component, keyed by the METADATA line's attribute names. */
function parseDat(dat: string): Record<string, Record<string, string>[]> {
  const out: Record<string, Record<string, string>[]> = {};
  const meta: Record<string, string[]> = {};
  for (const line of dat.split('\n').filter((l) => l !== '')) {
    const [op, component, ...cells] = splitLine(line);
    if (op === 'METADATA') meta[component!] = cells;
    else if (op === 'MERGE') {
      const names = meta[component!]!;
      expect(cells).toHaveLength(names.length);
      const rows = out[component!] ?? [];
      rows.push(Object.fromEntries(names.map((n, i) => [n, cells[i]!])));
      out[component!] = rows;
    } else throw new Error(`unexpected line ${line}`);
  }
  return out;
}

const dat = (zip: Uint8Array) => new TextDecoder().decode(unzipSync(zip)[GOAL_DAT]!);

describe('HDL escaping (Oracle: delimiter |, new line, escape \\)', () => {
  it('escapes the delimiter, new lines (LF, CRLF, CR) and the escape character itself', () => {
    expect(escapeHdlValue('a|b')).toBe('a\\|b');
    expect(escapeHdlValue('line1\nline2')).toBe('line1\\nline2');
    expect(escapeHdlValue('line1\r\nline2\rline3')).toBe('line1\\nline2\\nline3');
    expect(escapeHdlValue('C:\\path\\n')).toBe('C:\\\\path\\\\n');
    expect(escapeHdlValue('plain text, ünïcode')).toBe('plain text, ünïcode');
  });

  it('a value full of reserved characters reads back unchanged and stays on one line', () => {
    const nasty = 'a|b\\|c\nd\\n e\\';
    const { files } = buildHdlFiles([entry(1, { description: nasty, goalName: 'x|y' })], {
      runId: 'r1',
      sourceSystemOwner: OWNER,
    });
    const text = dat(files[0]!.zip);
    expect(text.split('\n').filter((l) => l !== '')).toHaveLength(4);
    const goal = parseDat(text).Goal![0]!;
    expect(goal.Description).toBe(nasty.replace(/\r\n?/g, '\n'));
    expect(goal.GoalName).toBe('x|y');
  });
});

describe('Goal.dat content (golden, parsed back)', () => {
  it('one Goal and one GoalPlanGoal MERGE line per record, Oracle names, codes from the REST mapping, dates YYYY/MM/DD', () => {
    const mapping = parseGoalMapping({ statusMap: 'IN_PROGRESS=INPROG', categoryMap: 'DEVELOPMENT=DEV' });
    const { files, rejected } = buildHdlFiles([entry(1)], { runId: 'r1', sourceSystemOwner: OWNER, mapping });
    expect(rejected).toEqual([]);
    const text = files[0]!.dat;
    expect(text.split('\n')[0]).toBe(['METADATA', 'Goal', ...GOAL_ATTRIBUTES].join('|'));
    expect(text).toContain(['METADATA', 'GoalPlanGoal', ...GOAL_PLAN_GOAL_ATTRIBUTES].join('|'));
    expect(parseDat(dat(files[0]!.zip))).toEqual({
      Goal: [
        {
          SourceSystemOwner: OWNER,
          SourceSystemId: 'K-00001',
          GoalName: 'Goal 1',
          Description: 'Faster first commit',
          StartDate: '2026/01/15',
          TargetCompletionDate: '2026/06/30',
          ActualCompletionDate: '2026/05/01',
          WorkerPersonNumber: 'E1',
          WorkerAssignmentNumber: 'A1',
          StatusCode: 'INPROG',
          PercentCompleteCode: '25',
          CategoryCode: 'DEV',
        },
      ],
      GoalPlanGoal: [
        {
          SourceSystemOwner: OWNER,
          SourceSystemId: 'K-00001_GPG',
          'GoalId(SourceSystemId)': 'K-00001',
          GoalPlanName: 'Plan 300000009990001',
          PriorityCode: 'HIGH',
          Weighting: '20',
        },
      ],
    });
  });

  it('a record with every optional field absent writes #NULL for each, so a cleared field is cleared in HCM', () => {
    const bare = entry(2);
    const { description, weight, category, priority, percentComplete, actualCompletionDate, ...rest } =
      bare.record;
    const { files } = buildHdlFiles([{ ...bare, record: rest }], { runId: 'r1', sourceSystemOwner: OWNER });
    const parsed = parseDat(files[0]!.dat);
    const goal = parsed.Goal![0]!;
    for (const a of ['Description', 'ActualCompletionDate', 'PercentCompleteCode', 'CategoryCode'])
      expect(goal[a], a).toBe('#NULL');
    expect(goal.GoalName).toBe('Goal 2');
    expect(parsed.GoalPlanGoal![0]!.PriorityCode).toBe('#NULL');
    expect(parsed.GoalPlanGoal![0]!.Weighting).toBe('#NULL');
  });

  it('a record the mapping has no code for is rejected with the mapping reason and written nowhere', () => {
    const { files, rejected } = buildHdlFiles([entry(1), entry(2, { status: 'ON_HOLD' })], {
      runId: 'r1',
      sourceSystemOwner: OWNER,
    });
    expect(rejected).toEqual([{ externalKey: 'K-00002', reason: expect.stringContaining('goalStatusMap') }]);
    expect(files.flatMap((f) => f.externalKeys)).toEqual(['K-00001']);
  });
});

describe('splitting and names', () => {
  it('splits by goal plan and by size, parts named from run id + part over plans in ascending id', () => {
    const entries = [
      ...Array.from({ length: 5 }, (_, i) => entry(i, {}, 2)),
      ...Array.from({ length: 2 }, (_, i) => entry(10 + i, {}, 1)),
    ];
    const { files } = buildHdlFiles(entries, { runId: 'run-7', sourceSystemOwner: OWNER, recordsPerFile: 2 });
    expect(files.map((f) => [f.name, f.goalPlanId, f.externalKeys.length])).toEqual([
      ['run-7-part-0001.zip', 1, 2],
      ['run-7-part-0002.zip', 2, 2],
      ['run-7-part-0003.zip', 2, 2],
      ['run-7-part-0004.zip', 2, 1],
    ]);
    for (const f of files) {
      const parsed = parseDat(dat(f.zip));
      expect(parsed.Goal!.map((g) => g.SourceSystemId)).toEqual(f.externalKeys);
      expect(parsed.GoalPlanGoal!.map((g) => g.GoalPlanName)).toEqual(
        f.externalKeys.map(() => `Plan ${f.goalPlanId}`),
      );
    }
  });

  it('defaults to 10,000 records per file', () => {
    const entries = Array.from({ length: 10_001 }, (_, i) => entry(i));
    const { files } = buildHdlFiles(entries, { runId: 'r', sourceSystemOwner: OWNER });
    expect(files.map((f) => f.externalKeys.length)).toEqual([10_000, 1]);
  });

  it('same records in any order give byte-identical zips', () => {
    const entries = Array.from({ length: 50 }, (_, i) => entry(i, {}, 1 + (i % 3)));
    const a = buildHdlFiles(entries, { runId: 'r', sourceSystemOwner: OWNER, recordsPerFile: 7 });
    const b = buildHdlFiles([...entries].reverse(), {
      runId: 'r',
      sourceSystemOwner: OWNER,
      recordsPerFile: 7,
    });
    expect(b.files.map((f) => f.name)).toEqual(a.files.map((f) => f.name));
    for (let i = 0; i < a.files.length; i++)
      expect(Buffer.from(b.files[i]!.zip)).toEqual(Buffer.from(a.files[i]!.zip));
  });

  it('refuses a bad size, run id or empty source system owner with a ConfigError', () => {
    const opts = { runId: 'r', sourceSystemOwner: OWNER };
    expect(() => buildHdlFiles([entry(1)], { ...opts, recordsPerFile: 0 })).toThrow(ConfigError);
    expect(() => buildHdlFiles([entry(1)], { ...opts, runId: '../x' })).toThrow(ConfigError);
    expect(() => buildHdlFiles([entry(1)], { ...opts, sourceSystemOwner: ' ' })).toThrow(
      /hdlSourceSystemOwner/,
    );
  });
});
