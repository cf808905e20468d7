import { maskSecrets } from './mask.ts';

/**
 * Every failure the system can name. `name` is what Step Functions sees as the error type
 * (Lambda reports `errorType` = error.name), so the state machine's Retry/Catch match on these.
 */
export type ErrorCode =
  | 'ReauthRequiredError'
  | 'TransientError'
  | 'LeaseTimeoutError'
  | 'ConnectionNotFoundError'
  | 'ConnectionDisabledError'
  | 'TokenCommitError'
  | 'InvalidRecordError'
  | 'HcmRequestError'
  | 'ConfigError'
  | 'CryptoError'
  | 'CheckpointConflictError'
  | 'RunInProgressError'
  | 'RunLeaseLostError'
  | 'SourceChangedError'
  | 'RunNotFoundError'
  | 'InputRejectedError';

export class AppError extends Error {
  readonly code: ErrorCode;
  /** Whether retrying the same operation later can succeed. */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    // Messages can carry upstream text (IdP error_description, HCM bodies): mask anything token-like.
    super(maskSecrets(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = code;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** The grant is dead (invalid_grant / invalid_client / unauthorized_client): a human must reconnect. */
export class ReauthRequiredError extends AppError {
  constructor(
    readonly connectionId: string,
    readonly reason: string,
    options: { cause?: unknown } = {},
  ) {
    super('ReauthRequiredError', `connection ${connectionId} needs re-authentication: ${reason}`, options);
  }
}

/** Timeouts, 5xx, 429, socket errors: retry with backoff. `retryAfterMs` honours Retry-After. */
export class TransientError extends AppError {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    options: { cause?: unknown; status?: number } = {},
  ) {
    super('TransientError', message, { retryable: true, cause: options.cause });
    this.status = options.status;
  }
  readonly status: number | undefined;
}

export class LeaseTimeoutError extends AppError {
  constructor(connectionId: string, waitedMs: number) {
    super(
      'LeaseTimeoutError',
      `gave up waiting ${waitedMs} ms for the refresh of connection ${connectionId}`,
      {
        retryable: true,
      },
    );
  }
}

export class ConnectionNotFoundError extends AppError {
  constructor(connectionId: string) {
    super('ConnectionNotFoundError', `connection ${connectionId} does not exist`);
  }
}

export class ConnectionDisabledError extends AppError {
  constructor(connectionId: string) {
    super('ConnectionDisabledError', `connection ${connectionId} is disabled`);
  }
}

/** A refreshed token pair could not be persisted. Never answered by refreshing again. */
export class TokenCommitError extends AppError {
  constructor(connectionId: string, options: { cause?: unknown } = {}) {
    super(
      'TokenCommitError',
      `could not persist the refreshed tokens of connection ${connectionId}`,
      options,
    );
  }
}

export class InvalidRecordError extends AppError {
  constructor(
    readonly line: number,
    readonly reason: string,
    readonly key?: string,
  ) {
    super('InvalidRecordError', `line ${line}${key ? ` (${key})` : ''}: ${reason}`);
  }
}

/** A non-retryable HCM answer (400, 404, 412 after reconciliation, ...). */
export class HcmRequestError extends AppError {
  constructor(
    readonly status: number,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super('HcmRequestError', `HCM answered ${status}: ${message}`, options);
  }
}

export class ConfigError extends AppError {
  constructor(message: string) {
    super('ConfigError', message);
  }
}

export class CryptoError extends AppError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('CryptoError', message, options);
  }
}

export class CheckpointConflictError extends AppError {
  constructor(message: string) {
    super('CheckpointConflictError', message, { retryable: true });
  }
}

/** Another run of the same connection holds the run lease (invariant 7: one run per connection). */
export class RunInProgressError extends AppError {
  constructor(
    readonly connectionId: string,
    readonly activeRunId: string,
    readonly leaseExpiresAt: number,
  ) {
    super(
      'RunInProgressError',
      `connection ${connectionId} is busy with run ${activeRunId} (lease until ${new Date(leaseExpiresAt).toISOString()}); ` +
        `resume that run (goal-sync resume ${activeRunId}) or wait for it to finish`,
    );
  }
}

/** This run's lease on its connection was taken by another run: stop writing (not retried). */
export class RunLeaseLostError extends AppError {
  constructor(connectionId: string, runId: string, holder?: string) {
    super(
      'RunLeaseLostError',
      `run ${runId} no longer holds connection ${connectionId}${holder ? ` (now held by run ${holder})` : ''}`,
    );
  }
}

/** A resume found a source other than the one its plan pinned (invariant 8). */
export class SourceChangedError extends AppError {
  constructor(
    readonly change: string,
    readonly runId?: string,
  ) {
    super(
      'SourceChangedError',
      runId
        ? `run ${runId} cannot resume: its source changed since it was planned (${change})`
        : `the goal source changed under the run: ${change}`,
    );
  }
}

/** A resume named a run that does not exist: nothing is started fresh under that name. */
export class RunNotFoundError extends AppError {
  constructor(
    readonly runId: string,
    known: string[] = [],
  ) {
    super(
      'RunNotFoundError',
      `run ${runId} does not exist${known.length > 0 ? `; known runs: ${known.slice(0, 10).join(', ')}` : ''}`,
    );
  }
}

/**
 * The source as a whole is unusable: empty, every record invalid, more invalid records than the run
 * allows (`maxInvalid`), or a CSV header that lacks required columns (invariant 9). Never retried.
 */
export class InputRejectedError extends AppError {
  constructor(message: string) {
    super('InputRejectedError', `input rejected: ${message}`);
  }
}

export function isRetryable(err: unknown): boolean {
  return err instanceof AppError ? err.retryable : false;
}
