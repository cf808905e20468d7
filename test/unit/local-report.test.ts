import { describe, expect, it } from 'vitest';
import { EXIT_CODES, exitCodeFor, type RunReport, renderSummary } from '../../local/runner/report.ts';

function report(goals: Partial<RunReport['goals']>, status = 'completed'): RunReport {
  return {
    runId: 'r',
    mode: 'managed',
    status,
    goals: {
      total: 10,
      created: 10,
      updated: 0,
      unchanged: 0,
      invalid: 0,
      failed: 0,
      unsettled: 0,
      alreadyDone: 0,
      reconciled: 0,
      ...goals,
    },
    tokens: {
      endpointCalls: 0,
      refreshes: 0,
      proactive: 0,
      jit: 0,
      afterUnauthorized: 0,
      reuseDetected: 0,
      revocations: 0,
    },
    hcm: {
      requests: 0,
      unauthorized: 0,
      throttled: 0,
      serverErrors: 0,
      duplicates: 0,
      goalsStored: 10,
      writes: 10,
    },
    durationMs: 1_000,
    goalsPerSec: 10,
    invalidRecords: [],
    failedRecords: [],
    events: [],
  };
}

describe('goal-sync local summary', () => {
  it('unsettled records have a summary line of their own and exit 1, with no record failed', () => {
    const unsettled = report({ created: 8, unsettled: 2 });
    expect(renderSummary(unsettled)).toMatch(/unsettled \(next run looks first\)\s+2/);
    expect(exitCodeFor(unsettled)).toBe(EXIT_CODES.failed);
    // The guard on the count itself: even a report whose status says completed exits 1.
    expect(exitCodeFor(report({}))).toBe(EXIT_CODES.ok);
    expect(renderSummary(report({}))).toMatch(/unsettled \(next run looks first\)\s+0/);
  });

  it('twins have a line only when there are some, and do not fail the run (a person decides)', () => {
    const twins = report({ twins: 2 });
    expect(renderSummary(twins)).toMatch(/twins of ours in HCM \(goal-sync twins\)\s+2/);
    expect(exitCodeFor(twins)).toBe(EXIT_CODES.ok);
    expect(renderSummary(report({}))).not.toMatch(/twins/);
  });
});
