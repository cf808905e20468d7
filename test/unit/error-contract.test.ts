import { describe, expect, it } from 'vitest';
import { RETRY_ERRORS, renderDefinition } from '../../infra/state-machine.ts';
import * as errors from '../../lambdas/core/errors.ts';
import { AppError, ERROR_CODES } from '../../lambdas/core/errors.ts';

/**
 * The Step Functions contract: Lambda reports `errorType` = error.name, and the state machine's Retry and
 * Catch match on those names. Every error class lives in errors.ts with a name from ERROR_CODES, and the
 * refinements keep their parent's name so the state machine treats them as it treats the parent.
 */
const sample: Record<string, () => Error> = {
  ReauthRequiredError: () => new errors.ReauthRequiredError('c1', 'invalid_grant'),
  ConnectionRecoveringError: () => new errors.ConnectionRecoveringError('c1', 'invalid_client', 0),
  TransientError: () => new errors.TransientError('x'),
  LeaseTimeoutError: () => new errors.LeaseTimeoutError('c1', 1),
  ConnectionNotFoundError: () => new errors.ConnectionNotFoundError('c1'),
  ConnectionDisabledError: () => new errors.ConnectionDisabledError('c1'),
  TokenCommitError: () => new errors.TokenCommitError('c1'),
  InvalidRecordError: () => new errors.InvalidRecordError(1, 'bad'),
  RecordRejectedError: () => new errors.RecordRejectedError('status X has no code'),
  HcmRequestError: () => new errors.HcmRequestError(400, 'bad'),
  ConfigError: () => new errors.ConfigError('x'),
  CryptoError: () => new errors.CryptoError('x'),
  CheckpointConflictError: () => new errors.CheckpointConflictError('x'),
  RunInProgressError: () => new errors.RunInProgressError('c1', 'r1', 0),
  RunLeaseLostError: () => new errors.RunLeaseLostError('c1', 'r1'),
  SourceChangedError: () => new errors.SourceChangedError('size'),
  RunNotFoundError: () => new errors.RunNotFoundError('r1'),
  InputRejectedError: () => new errors.InputRejectedError('empty'),
  GrantRejectedError: () => new errors.GrantRejectedError('invalid_grant', 400),
  HdlLoadStuckError: () => new errors.HdlLoadStuckError('stuck', [1]),
  RunWouldNotFitError: () => new errors.RunWouldNotFitError('r1', 'too long'),
  AmbiguousWriteError: () => new errors.AmbiguousWriteError('POST', '504'),
  AmbiguousTokenResponseError: () => new errors.AmbiguousTokenResponseError('reset'),
  RefreshTokenMayBeConsumedError: () => new errors.RefreshTokenMayBeConsumedError('reset'),
  NotStartedError: () => new errors.NotStartedError('no time'),
  NoRateSlotError: () => new errors.NoRateSlotError('no slot'),
  ClaimLostError: () => new errors.ClaimLostError('lost'),
  UnsettledWriteError: () => new errors.UnsettledWriteError('POST may still land'),
  SimulatedCrashError: () => new errors.SimulatedCrashError('crash'),
};

const REFINEMENTS: Record<string, string> = {
  AmbiguousWriteError: 'TransientError',
  AmbiguousTokenResponseError: 'TransientError',
  RefreshTokenMayBeConsumedError: 'TransientError',
  NotStartedError: 'TransientError',
  NoRateSlotError: 'TransientError',
  SimulatedCrashError: 'TransientError',
  UnsettledWriteError: 'TransientError',
  ClaimLostError: 'CheckpointConflictError',
  RecordRejectedError: 'InvalidRecordError',
};

function errorEquals(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const n of node) errorEquals(n, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'ErrorEquals') for (const e of v as string[]) out.add(e);
      else errorEquals(v, out);
    }
  }
  return out;
}

describe('error contract (errors.ts <-> state machine)', () => {
  it('every error class exported by errors.ts is sampled here, and its name is a stable code', () => {
    const classes = Object.entries(errors).filter(
      ([, v]) => typeof v === 'function' && (v === AppError || v.prototype instanceof AppError),
    );
    expect(
      classes
        .map(([n]) => n)
        .filter((n) => n !== 'AppError')
        .sort(),
    ).toEqual(Object.keys(sample).sort());
    for (const [className, make] of Object.entries(sample)) {
      const err = make() as AppError;
      expect(err).toBeInstanceOf(AppError);
      expect(ERROR_CODES).toContain(err.name);
      expect(err.code).toBe(err.name);
      expect(err.name).toBe(REFINEMENTS[className] ?? className);
    }
  });

  it('every error name the state machine matches is one we throw or one AWS defines', () => {
    const { asl } = renderDefinition({ maxConcurrency: 2 });
    const names = [...errorEquals(asl)];
    expect(names.length).toBeGreaterThan(5);
    for (const n of names) {
      if (/^(States|Lambda|Runtime|Sandbox)\./.test(n)) continue;
      expect(ERROR_CODES, `state machine matches ${n}`).toContain(n);
    }
  });

  it('retryable errors are the ones the state machine retries; a rejected grant is never taken for re-auth by name', () => {
    for (const make of Object.values(sample)) {
      const err = make() as AppError;
      if (err.retryable) expect([...RETRY_ERRORS.transient], err.name).toContain(err.name);
    }
    expect(new errors.GrantRejectedError('invalid_grant', 400).name).not.toBe('ReauthRequiredError');
  });
});
