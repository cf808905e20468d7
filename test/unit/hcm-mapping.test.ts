import { describe, expect, it } from 'vitest';
import type { PlanGoal } from '#core/hcm/index.ts';
import {
  contentHash,
  DEFAULT_GOAL_MAPPING,
  diffGoal,
  mapGoal,
  mappingFromEnv,
  mappingToEnv,
  naturalKeyOf,
  parseGoalMapping,
  patchBody,
  toGoalPayload,
} from '#core/hcm/index.ts';
import type { GoalRecord } from '#core/source/index.ts';
import { ConfigError, RecordRejectedError } from '../../lambdas/core/errors.ts';

const record: GoalRecord = {
  externalKey: 'K-1',
  personNumber: 'E000001',
  goalName: 'Improve onboarding',
  description: 'Faster first commit',
  startDate: '2026-01-15',
  targetCompletionDate: '2026-06-30',
  status: 'IN_PROGRESS',
  goalPlanId: 300000009990001,
  reviewPeriodId: 300000009980001,
  weight: 20,
  category: 'DEVELOPMENT',
  priority: 'HIGH',
  percentComplete: 40,
};

function stored(payload = toGoalPayload(record)): PlanGoal {
  const uniqId = 'abc';
  return {
    ...payload,
    GoalId: 1,
    PersonId: 3,
    AssignmentId: 4,
    ref: { goalPlanId: record.goalPlanId, path: `/x/child/performanceGoals/${uniqId}`, uniqId },
  };
}

describe('goal mapping', () => {
  it("maps every source field to Oracle's attribute names, percent to a code, absent optionals to null", () => {
    expect(toGoalPayload(record)).toEqual({
      GoalName: 'Improve onboarding',
      Description: 'Faster first commit',
      ReviewPeriodId: 300000009980001,
      StartDate: '2026-01-15',
      TargetCompletionDate: '2026-06-30',
      ActualCompletionDate: null,
      StatusCode: 'IN_PROGRESS',
      PercentCompletion: '25',
      PriorityCode: 'HIGH',
      Weighting: 20,
      CategoryCode: 'DEVELOPMENT',
    });
    const { reviewPeriodId: _r, description: _d, ...bare } = record;
    const payload = toGoalPayload(bare);
    expect(payload).not.toHaveProperty('ReviewPeriodId');
    expect(payload).not.toHaveProperty('PersonNumber');
    expect(payload.Description).toBeNull();
    expect(naturalKeyOf(record)).toEqual({
      personNumber: 'E000001',
      goalPlanId: 300000009990001,
      goalName: 'Improve onboarding',
    });
  });

  it('percent: the default quarter ranges, rounded down; the operator may replace them', () => {
    const code = (p: number, m = DEFAULT_GOAL_MAPPING) =>
      toGoalPayload({ ...record, percentComplete: p }, m).PercentCompletion;
    expect([0, 24.9, 25, 74, 75, 99.9, 100].map((p) => code(p))).toEqual([
      '0',
      '0',
      '25',
      '50',
      '75',
      '75',
      '100',
    ]);
    const tens = parseGoalMapping({ percentCodes: '0-9=0,10-49=10,50-99=50,100=100' });
    expect([5, 10, 60, 100].map((p) => code(p, tens))).toEqual(['0', '10', '50', '100']);
  });

  it('status and category through the mapping; an unknown value is a record error naming it and the setting', () => {
    expect(toGoalPayload({ ...record, status: 'CANCELLED' }).StatusCode).toBe('CANCEL');
    const onHold = mapGoal({ ...record, status: 'ON_HOLD' });
    expect(onHold.ok).toBe(false);
    expect(!onHold.ok && onHold.reason).toMatch(/status 'ON_HOLD'.*goalStatusMap.*--status-map/);
    expect(() => toGoalPayload({ ...record, status: 'ON_HOLD' })).toThrow(RecordRejectedError);

    const tenant = parseGoalMapping({ statusMap: 'ON_HOLD=ORA_HOLD', categoryMap: 'DEVELOPMENT=DEV' });
    expect(toGoalPayload({ ...record, status: 'ON_HOLD' }, tenant).StatusCode).toBe('ORA_HOLD');
    // The defaults stay for statuses the operator did not name.
    expect(toGoalPayload(record, tenant)).toMatchObject({ StatusCode: 'IN_PROGRESS', CategoryCode: 'DEV' });
    const other = mapGoal({ ...record, category: 'SALES' }, tenant);
    expect(!other.ok && other.reason).toMatch(/category 'SALES'.*goalCategoryMap.*--category-map/);
  });

  it('parseGoalMapping refuses bad settings, naming the setting', () => {
    expect(() => parseGoalMapping({ statusMap: 'ON_HOLD' })).toThrow(/goalStatusMap.*SOURCE=CODE/);
    expect(() => parseGoalMapping({ statusMap: 'A=B,A=C' })).toThrow(/mapped twice/);
    expect(() => parseGoalMapping({ percentCodes: '0-50=0,40-100=50' })).toThrow(/40 is in two ranges/);
    expect(() => parseGoalMapping({ percentCodes: '0-50=0,60-100=50' })).toThrow(/51-59 has no code/);
    expect(() => parseGoalMapping({ percentCodes: '0-99=0' })).toThrow(/100-100 has no code/);
    expect(() => parseGoalMapping({ categoryMap: 'X=has space' })).toThrow(ConfigError);
    // cdk.json values arrive as objects.
    expect(parseGoalMapping({ statusMap: { ON_HOLD: 'HOLD' } }).status.ON_HOLD).toBe('HOLD');
  });

  it('the mapping survives the Lambda environment', () => {
    const m = parseGoalMapping({
      statusMap: 'ON_HOLD=H',
      categoryMap: 'A=B',
      percentCodes: '0-49=0,50-100=50',
    });
    expect(mappingFromEnv(mappingToEnv(m))).toEqual(m);
    expect(mappingFromEnv(undefined)).toEqual(DEFAULT_GOAL_MAPPING);
  });

  it('hashes content: stable, independent of key order and externalKey, sensitive to every mapped field, the plan, the assignment and the mapping', () => {
    const h = contentHash(record);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    const reordered = Object.fromEntries(Object.entries(record).reverse()) as GoalRecord;
    expect(contentHash(reordered)).toBe(h);
    expect(contentHash({ ...record, externalKey: 'other' })).toBe(h);
    const variants: Partial<GoalRecord>[] = [
      { goalName: 'x' },
      { description: undefined },
      { weight: 21 },
      { status: 'COMPLETED' },
      { percentComplete: undefined },
      { goalPlanId: 300000009990002 },
      { actualCompletionDate: '2026-06-01' },
      { assignmentNumber: 'E1-2' },
    ];
    const hashes = new Set(variants.map((v) => contentHash({ ...record, ...v })));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(h)).toBe(false);
    // Within one percent code the hash does not change; a new category code changes it.
    expect(contentHash({ ...record, percentComplete: 45 })).toBe(h);
    expect(contentHash(record, parseGoalMapping({ categoryMap: 'DEVELOPMENT=DEV' }))).not.toBe(h);
  });

  it('diffGoal: null when equal, treating null, absent and empty as the same and dates by day', () => {
    expect(diffGoal(stored(), toGoalPayload(record))).toBeNull();
    const { description: _d, ...noDescription } = record;
    expect(
      diffGoal(stored({ ...toGoalPayload(record), Description: '' }), toGoalPayload(noDescription)),
    ).toBeNull();
    const withTime = { ...stored(), StartDate: '2026-01-15T00:00:00+00:00' };
    expect(diffGoal(withTime, toGoalPayload(record))).toBeNull();
  });

  it('diffGoal and patchBody: only patchable attributes, with null to clear; never the worker', () => {
    const desired = toGoalPayload({ ...record, weight: 30, status: 'COMPLETED', description: undefined });
    expect(diffGoal(stored(), desired)).toEqual({
      Weighting: 30,
      StatusCode: 'COMPLETED',
      Description: null,
    });
    expect(diffGoal({ ...stored(), PersonId: 9, ReviewPeriodId: 9 }, toGoalPayload(record))).toBeNull();
    const body = patchBody({ ...desired, PersonId: 1, AssignmentId: 2 });
    expect(body).not.toHaveProperty('PersonId');
    expect(body).not.toHaveProperty('AssignmentId');
    expect(body).not.toHaveProperty('ReviewPeriodId');
    expect(body).toMatchObject({ Weighting: 30, Description: null, PercentCompletion: '25' });
  });
});
