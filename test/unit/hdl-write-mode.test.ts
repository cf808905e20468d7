import { describe, expect, it } from 'vitest';
import type { LedgerItem } from '#core/checkpoint/index.ts';
import { parseHdlThreshold, parseWriteMode, routeOf } from '#core/sync/index.ts';
import { parseLocalArgs } from '../../local/runner/options.ts';

/**
 * The write path (issue 24): which records the HDL branch may take (routeOf), and the write mode's
 * settings as the execution input and `goal-sync local` take them.
 */
const OWNER = 'GOALSYNC';
const committed = (over: Partial<LedgerItem> = {}): LedgerItem => ({
  externalKey: 'K-1',
  connectionId: 'c1',
  contentHash: 'h1',
  hcmGoalId: 1,
  performanceGoalsUniqID: 'u1',
  goalPlanId: 10,
  goalPath: '/goalPlans/10/child/performanceGoals/u1',
  ...over,
});

describe('routeOf: what HDL may take', () => {
  it('a record with no goal yet goes to HDL; one whose goal HCM holds without our key goes to REST', () => {
    expect(routeOf('h1', undefined, false, OWNER)).toBe('hdl');
    expect(routeOf('h1', undefined, true, OWNER)).toBe('rest');
  });

  it('a goal HDL loaded under this owner is merged by key; one REST created (no source key) stays REST', () => {
    expect(routeOf('h2', committed({ hdlSourceOwner: OWNER }), true, OWNER)).toBe('hdl');
    expect(routeOf('h2', committed(), true, OWNER)).toBe('rest');
    expect(routeOf('h2', committed({ hdlSourceOwner: 'HRC_SQLLOADER' }), true, OWNER)).toBe('rest');
  });

  it('the same content is unchanged; a write that may still commit is reconciled by REST', () => {
    expect(routeOf('h1', committed({ hdlSourceOwner: OWNER }), true, OWNER)).toBe('unchanged');
    expect(routeOf('h2', committed({ hdlSourceOwner: OWNER, writeStartedAt: 1 }), true, OWNER)).toBe('rest');
    expect(routeOf('h1', { externalKey: 'K-1', connectionId: 'c1', ambiguous: true }, false, OWNER)).toBe(
      'rest',
    );
  });
});

describe('write mode settings', () => {
  it('execution input: rest, hdl, auto in any case; anything else named', () => {
    expect(parseWriteMode('HDL', 'input')).toBe('hdl');
    expect(parseWriteMode(' auto ', 'input')).toBe('auto');
    expect(() => parseWriteMode('bulk', 'execution input')).toThrow(
      /execution input: writeMode must be rest, hdl or auto, not "bulk"/,
    );
    expect(parseHdlThreshold('2500', 'input')).toBe(2500);
    expect(() => parseHdlThreshold(-1, 'execution input')).toThrow(/hdlThreshold must be a whole number/);
  });

  it('goal-sync local: --write-mode, --hdl-threshold, --hdl-source-owner (none unless given)', () => {
    const o = parseLocalArgs([
      '--write-mode',
      'hdl',
      '--hdl-threshold',
      '10',
      '--hdl-source-owner',
      'HRC_SQLLOADER',
    ]);
    expect(o).toMatchObject({ writeMode: 'hdl', hdlThreshold: 10, hdlSourceOwner: 'HRC_SQLLOADER' });
    const d = parseLocalArgs([]);
    expect((d as { writeMode?: string; hdlSourceOwner?: string }).writeMode).toBeUndefined();
    expect((d as { writeMode?: string; hdlSourceOwner?: string }).hdlSourceOwner).toBeUndefined();
    expect(() => parseLocalArgs(['--write-mode', 'bulk'])).toThrow(/--write-mode must be rest, hdl or auto/);
    expect(() => parseLocalArgs(['--hdl-source-owner', 'my owner'])).toThrow(/HRC_SOURCE_SYSTEM_OWNER/);
  });
});
