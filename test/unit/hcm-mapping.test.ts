import { describe, expect, it } from 'vitest';
import type { HcmGoal } from '#core/hcm/index.ts';
import { contentHash, diffGoal, naturalKeyOf, toHcmPayload } from '#core/hcm/index.ts';
import type { GoalRecord } from '#core/source/index.ts';

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

function stored(payload = toHcmPayload(record)): HcmGoal {
  return {
    ...payload,
    performanceGoalsUniqID: 'abc',
    GoalId: 1,
    GoalPlanGoalId: 2,
    GoalPlanId: record.goalPlanId,
    PersonId: 3,
    PersonNumber: record.personNumber,
    AssignmentId: 4,
    StatusMeaning: 'In progress',
    CreationDate: '2026-01-01T00:00:00Z',
    LastUpdateDate: '2026-01-01T00:00:00Z',
  };
}

describe('goal mapping', () => {
  it('maps every source field to its HCM attribute, absent optionals to null', () => {
    expect(toHcmPayload(record)).toEqual({
      GoalName: 'Improve onboarding',
      Description: 'Faster first commit',
      PersonNumber: 'E000001',
      ReviewPeriodId: 300000009980001,
      StartDate: '2026-01-15',
      TargetCompletionDate: '2026-06-30',
      ActualCompletionDate: null,
      StatusCode: 'IN_PROGRESS',
      PercentComplete: 40,
      PriorityCode: 'HIGH',
      Weight: 20,
      CategoryCode: 'DEVELOPMENT',
    });
    const { reviewPeriodId: _r, description: _d, ...bare } = record;
    const payload = toHcmPayload(bare);
    expect(payload).not.toHaveProperty('ReviewPeriodId');
    expect(payload.Description).toBeNull();
    expect(naturalKeyOf(record)).toEqual({
      personNumber: 'E000001',
      goalPlanId: 300000009990001,
      goalName: 'Improve onboarding',
    });
  });

  it('hashes content: stable, independent of key order and externalKey, sensitive to every mapped field and the plan', () => {
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
    ];
    const hashes = new Set(variants.map((v) => contentHash({ ...record, ...v })));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(h)).toBe(false);
  });

  it('diffGoal: null when equal, treating null, absent and empty as the same and dates by day', () => {
    expect(diffGoal(stored(), toHcmPayload(record))).toBeNull();
    const { description: _d, ...noDescription } = record;
    expect(
      diffGoal(stored({ ...toHcmPayload(record), Description: '' }), toHcmPayload(noDescription)),
    ).toBeNull();
    const withTime = { ...stored(), StartDate: '2026-01-15T00:00:00+00:00' };
    expect(diffGoal(withTime, toHcmPayload(record))).toBeNull();
  });

  it('diffGoal: only changed patchable attributes, with null to clear', () => {
    const desired = toHcmPayload({ ...record, weight: 30, status: 'COMPLETED', description: undefined });
    expect(diffGoal(stored(), desired)).toEqual({ Weight: 30, StatusCode: 'COMPLETED', Description: null });
    // Identity attributes are never patched (HCM refuses to change them).
    expect(
      diffGoal({ ...stored(), PersonNumber: 'E000002', ReviewPeriodId: 9 }, toHcmPayload(record)),
    ).toBeNull();
  });
});
