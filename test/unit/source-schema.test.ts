import { describe, expect, it } from 'vitest';
import { validateGoalRecord } from '#core/source/index.ts';

const valid = {
  externalKey: 'SRC:goal-001',
  personNumber: 'E000001',
  goalName: 'Improve onboarding',
  startDate: '2026-01-15',
  targetCompletionDate: '2026-06-30',
  status: 'IN_PROGRESS',
  goalPlanId: 300000009990001,
};

function reasonOf(raw: unknown): string {
  const result = validateGoalRecord(raw);
  if (result.ok) throw new Error('expected an invalid record');
  return result.reason;
}

describe('validateGoalRecord', () => {
  it('accepts a minimal record and a full one, dropping unknown fields', () => {
    const minimal = validateGoalRecord(valid);
    expect(minimal).toEqual({ ok: true, record: valid });
    const full = {
      ...valid,
      description: 'Measured by time to first commit',
      reviewPeriodId: 300000009980001,
      weight: 0,
      category: 'DEVELOPMENT',
      priority: 'HIGH',
      percentComplete: 100,
      actualCompletionDate: '2026-06-01',
      sourceSystemNote: 'ignored',
    };
    const result = validateGoalRecord(full);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.record).not.toHaveProperty('sourceSystemNote');
      expect(result.record.weight).toBe(0);
    }
  });

  it('names the field of every problem and keeps the external key for the report', () => {
    const result = validateGoalRecord({ ...valid, weight: 150, status: 'DONE' });
    expect(result).toMatchObject({ ok: false, key: 'SRC:goal-001' });
    const reason = reasonOf({ ...valid, weight: 150, status: 'DONE' });
    expect(reason).toMatch(/^status: .*NOT_STARTED/);
    expect(reason).toContain('weight: Too big');
  });

  it('says "is required" for missing fields', () => {
    const { goalName: _drop, status: _drop2, ...rest } = valid;
    expect(reasonOf(rest)).toBe('goalName: is required; status: is required');
  });

  it.each([
    ['2026-02-29', false], // 2026 is not a leap year
    ['2028-02-29', true],
    ['2026-04-31', false],
    ['2026-13-01', false],
    ['2026-1-05', false],
    ['2026-01-05T00:00:00Z', false],
  ])('startDate %s is a real calendar date: %s', (startDate, ok) => {
    const result = validateGoalRecord({ ...valid, startDate, targetCompletionDate: '2028-12-31' });
    expect(result.ok).toBe(ok);
    if (!result.ok) expect(result.reason).toMatch(/^startDate: must be a real calendar date/);
  });

  it('rejects a target date before the start date, and a completion before the start', () => {
    expect(reasonOf({ ...valid, targetCompletionDate: '2026-01-14' })).toBe(
      'targetCompletionDate: must be on or after startDate 2026-01-15',
    );
    expect(reasonOf({ ...valid, actualCompletionDate: '2025-12-31' })).toContain('actualCompletionDate');
    expect(validateGoalRecord({ ...valid, targetCompletionDate: valid.startDate }).ok).toBe(true);
  });

  it.each([
    ['externalKey', 'has space'],
    ['externalKey', ''],
    ['externalKey', 'k'.repeat(101)],
    ['goalName', 'x'.repeat(241)],
    ['description', 'd'.repeat(4001)],
    ['goalPlanId', '300000009990001'],
    ['goalPlanId', 1.5],
    ['percentComplete', -1],
    ['priority', 'URGENT'],
  ])('rejects %s = %j', (field, value) => {
    expect(reasonOf({ ...valid, [field]: value })).toMatch(new RegExp(`^${field}: `));
  });

  it('has no key for a record without a usable external key', () => {
    expect(validateGoalRecord(42)).toEqual({
      ok: false,
      reason: 'record: Invalid input: expected object, received number',
    });
    expect(validateGoalRecord({ ...valid, externalKey: 7 })).not.toHaveProperty('key');
  });
});
