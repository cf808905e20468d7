import { describe, expect, it } from 'vitest';
import { DEFAULT_FAULTS, mergeFaults } from '../../local/hcm/faults.ts';
import { parseFaultSpec, UsageError } from '../../local/runner/options.ts';

describe('--faults hdl.*: the HCM simulator data loader faults', () => {
  it('go to the HCM simulator under their own names, which it accepts', () => {
    const f = parseFaultSpec(
      'hdl.uploadDropAfterStoreRate=0.1,hdl.submitDropAfterAcceptRate=0.2,hdl.lineErrorRate=0.05,hdl.loadLinesPerSecond=5000,hdl.stuckRate=0.01,hcm.errorRate=0.1',
    );
    expect(f.hcm).toEqual({
      'hdl.uploadDropAfterStoreRate': 0.1,
      'hdl.submitDropAfterAcceptRate': 0.2,
      'hdl.lineErrorRate': 0.05,
      'hdl.loadLinesPerSecond': 5000,
      'hdl.stuckRate': 0.01,
      errorRate: 0.1,
    });
    expect(mergeFaults(DEFAULT_FAULTS, f.hcm)).toMatchObject({
      'hdl.loadLinesPerSecond': 5000,
      errorRate: 0.1,
    });
  });

  it('refuses a bad value or an unknown hdl key', () => {
    expect(() => parseFaultSpec('hdl.lineErrorRate=2')).toThrow(UsageError);
    expect(() => parseFaultSpec('hdl.loadLinesPerSecond=-1')).toThrow(UsageError);
    expect(() => parseFaultSpec('hdl.dropRate=0.1')).toThrow(UsageError);
  });
});
