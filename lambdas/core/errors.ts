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
