import { describe, expect, it } from 'vitest';
import { parseFaultSpec, parseLocalArgs, UsageError } from '../../local/runner/options.ts';

describe('--faults: the issue 11 names and --grant', () => {
  it('accepts exactly dynamo.{latencyMs,throttleRate,dropAfterApplyRate}, kms.latencyMs, broker.crashAfterSendRate', () => {
    const f = parseFaultSpec(
      'dynamo.latencyMs=100,dynamo.throttleRate=0.05,dynamo.dropAfterApplyRate=0.01,kms.latencyMs=300,broker.crashAfterSendRate=0.1,hcm.errorRate=0.1',
    );
    expect(f.aws).toEqual({
      dynamo: { latencyMs: 100, throttleRate: 0.05, dropAfterApplyRate: 0.01 },
      kms: { latencyMs: 300 },
      broker: { crashAfterSendRate: 0.1 },
    });
    expect(f.hcm).toEqual({ errorRate: 0.1 });
    expect(() => parseFaultSpec('dynamo.throttleRate=2')).toThrow(UsageError);
    expect(() => parseFaultSpec('kms.latencyMs=-1')).toThrow(UsageError);
    expect(() => parseFaultSpec('dynamo.errorRate=0.1')).toThrow(UsageError);
    expect(() => parseFaultSpec('kms.errorRate=0.1')).toThrow(UsageError);
  });

  it('--grant takes refresh_token (default), client_credentials or jwt-bearer', () => {
    const grant = (args: string[]) => (parseLocalArgs(args) as { grant: string }).grant;
    expect(grant([])).toBe('refresh_token');
    expect(grant(['--grant', 'client_credentials'])).toBe('client_credentials');
    expect(grant(['--grant', 'jwt-bearer'])).toBe('jwt_bearer');
    expect(() => parseLocalArgs(['--grant', 'password'])).toThrow(UsageError);
  });
});
