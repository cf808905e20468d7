import { describe, expect, it } from 'vitest';
import type { GoalPlanAssignee } from '#core/hcm/index.ts';
import type { GoalRecord } from '#core/source/index.ts';
import { hdlEntries, PlanAssignees } from '#core/sync/index.ts';

const PLAN = 300000009990001;
const row = (n: number, assignment: number, number?: string): GoalPlanAssignee => ({
  PersonId: n,
  PersonNumber: `E${n}`,
  AssignmentId: n * 10 + assignment,
  ...(number ? { AssignmentNumber: number } : {}),
});
const record = (key: string, personNumber: string, over: Partial<GoalRecord> = {}): GoalRecord => ({
  externalKey: key,
  personNumber,
  goalName: key,
  startDate: '2026-01-01',
  targetCompletionDate: '2026-02-01',
  status: 'NOT_STARTED',
  goalPlanId: PLAN,
  ...over,
});

describe('hdlEntries: plan names and assignment numbers from one read per plan', () => {
  const assignees = new PlanAssignees(PLAN, [
    row(1, 1, 'E1-1'),
    row(2, 1, 'E2-1'),
    row(2, 2, 'E2-2'),
    row(3, 1),
  ]);
  const plans = new Map([[PLAN, { goalPlanName: 'FY2026 Performance Goals', assignees }]]);

  it("names the worker's only assignment, or the one the record names", () => {
    const { entries, rejected } = hdlEntries(
      [record('a', 'E1'), record('b', 'E2', { assignmentNumber: 'E2-2' })],
      plans,
    );
    expect(rejected).toEqual([]);
    expect(entries.map((e) => [e.record.externalKey, e.goalPlanName, e.assignmentNumber])).toEqual([
      ['a', 'FY2026 Performance Goals', 'E1-1'],
      ['b', 'FY2026 Performance Goals', 'E2-2'],
    ]);
  });

  it('rejects, with the REST path reasons, what it cannot name: several assignments, none, no number, no plan', () => {
    const { entries, rejected } = hdlEntries(
      [record('c', 'E2'), record('d', 'E9'), record('e', 'E3'), record('f', 'E1', { goalPlanId: 42 })],
      plans,
    );
    expect(entries).toEqual([]);
    expect(rejected).toEqual([
      { externalKey: 'c', reason: expect.stringContaining('name one in assignmentNumber') },
      { externalKey: 'd', reason: expect.stringContaining('is not assigned to goal plan') },
      { externalKey: 'e', reason: expect.stringContaining('has no AssignmentNumber') },
      { externalKey: 'f', reason: 'goal plan 42 was not read' },
    ]);
  });
});
