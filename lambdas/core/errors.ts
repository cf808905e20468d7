import { maskSecrets } from './mask.ts';

/**
 * Every failure the system can name. `name` is what Step Functions sees as the error type
 * (Lambda reports `errorType` = error.name), so the state machine's Retry/Catch match on these.
 */
export const ERROR_CODES = [
  'ReauthRequiredError',
  'ConnectionRecoveringError',
  'TransientError',
  'LeaseTimeoutError',
  'ConnectionNotFoundError',
  'ConnectionDisabledError',
  'TokenCommitError',
  'InvalidRecordError',
  'HcmRequestError',
  'ConfigError',
  'CryptoError',
  'CheckpointConflictError',
  'RunInProgressError',
  'RunLeaseLostError',
  'SourceChangedError',
  'RunNotFoundError',
  'InputRejectedError',
  'GrantRejectedError',
  'HdlLoadStuckError',
  'RunWouldNotFitError',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

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

/**
 * needs_reauth that the broker clears by itself (nothing rotating was consumed: a briefly wrong client
 * secret, an undecryptable envelope put right): callers come back after `retryAt` instead of failing the
 * run. `notSent`: the HCM call that met it had sent nothing yet (its claim can be given back as is).
 */
export class ConnectionRecoveringError extends AppError {
  constructor(
    readonly connectionId: string,
    readonly reason: string,
    readonly retryAt: number,
    options: { cause?: unknown; notSent?: boolean } = {},
  ) {
    super(
      'ConnectionRecoveringError',
      `connection ${connectionId} is recovering by itself (next try ${new Date(retryAt).toISOString()}): ${reason}`,
      { retryable: true, cause: options.cause },
    );
    this.notSent = options.notSent === true;
  }
  readonly notSent: boolean;
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
/**
 * A record HCM cannot take as it stands, found before any request: a source value the operator's
 * mapping has no code for, a worker not assigned to the goal plan or with several assignments on it.
 * The record fails (reported, never dropped); the run goes on. A refinement of InvalidRecordError.
 */
export class RecordRejectedError extends InvalidRecordError {
  constructor(reason: string) {
    super(0, reason);
    this.message = maskSecrets(reason);
  }
}

export class HcmRequestError extends AppError {
  /**
   * HCM refused the request on a business rule: a 500 whose body carries `o:errorDetails` (Oracle
   * reports rule failures that way, e.g. on PATCH). Nothing was written; the record fails with HCM's
   * message instead of being retried as an unclear write.
   */
  readonly businessRule: boolean;

  constructor(
    readonly status: number,
    message: string,
    options: { cause?: unknown; businessRule?: boolean } = {},
  ) {
    super('HcmRequestError', `HCM answered ${status}: ${message}`, options);
    this.businessRule = options.businessRule === true;
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
  constructor(
    connectionId: string,
    runId: string,
    holder?: string,
    /** The run generation this pass carries and the connection's current one (invariant 10). */
    readonly generation?: number,
    readonly currentGeneration?: number,
  ) {
    const superseded =
      generation !== undefined && currentGeneration !== undefined && generation !== currentGeneration;
    const held = holder ? ` (now held by run ${holder})` : superseded ? '' : ' (released)';
    const gen = superseded ? `, generation ${generation} superseded by ${currentGeneration}` : '';
    super(
      'RunLeaseLostError',
      `run ${runId} no longer holds connection ${connectionId}${held}${gen}; not writing`,
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

/**
 * A REST run whose estimated duration at the request ceiling exceeds what its execution has left
 * (run-estimate.ts): refused at plan time rather than timed out hours later. Not retryable: the same
 * run with the same settings would not fit either.
 */
export class RunWouldNotFitError extends AppError {
  constructor(
    readonly runId: string,
    detail: string,
  ) {
    super('RunWouldNotFitError', `run ${runId} would not fit in its execution: ${detail}`);
  }
}

export function isRetryable(err: unknown): boolean {
  return err instanceof AppError ? err.retryable : false;
}

// Refinements: each keeps its parent's name (the Step Functions contract) and adds what its callers test.

/**
 * A write whose outcome is unknown: the request was sent, then the connection failed, timed out or
 * answered 5xx. The goal MAY exist now. Retrying a create blindly is how duplicate goals happen, so
 * the client never does; the caller must look the goal up (finder / ledger) before creating again.
 * It stays a TransientError (same `name`), so Step Functions retries the chunk, which reconciles.
 */
export class AmbiguousWriteError extends TransientError {
  readonly ambiguous = true as const;

  constructor(what: string, why: string, options: { cause?: unknown; status?: number } = {}) {
    super(
      `${what}: outcome unknown (${why}); the goal may have been created, look it up before creating again`,
      undefined,
      options,
    );
  }
}

/** True for a write that may have committed although it failed: reconcile before any new create. */
export function isAmbiguousWrite(err: unknown): boolean {
  return (
    err instanceof AmbiguousWriteError ||
    (typeof err === 'object' && err !== null && (err as { ambiguous?: unknown }).ambiguous === true)
  );
}

/**
 * The IdP rejected the grant or the client. It never leaves the broker: the refresh holder records the
 * state and throws ReauthRequiredError (with the connection id) instead, so it has a name of its own
 * rather than borrowing one Step Functions would act on.
 */
export class GrantRejectedError extends AppError {
  constructor(
    readonly oauthError: string,
    readonly status: number,
    description?: string,
  ) {
    super(
      'GrantRejectedError',
      `token endpoint answered ${status} ${oauthError}${description ? `: ${maskSecrets(description).slice(0, 200)}` : ''}`,
    );
  }
}

/**
 * No usable answer arrived although the request may have reached the IdP (reset after send, timeout,
 * truncated body). For a refresh_token grant the old refresh token may already be consumed: resending
 * it would trip reuse detection and revoke the whole grant, so the grant layer must not retry.
 */
export class AmbiguousTokenResponseError extends TransientError {
  readonly mayHaveBeenProcessed = true;
}

/** Thrown instead of retrying when the response to a refresh_token request was lost. */
export class RefreshTokenMayBeConsumedError extends TransientError {
  readonly reason = 'token response lost; refresh token may have been rotated';
}

/**
 * A call that was never started because its whole timeout would not fit before the deadline. Nothing
 * reached the peer, so it is a plain transient failure: safe to retry later, never a reason for re-auth.
 */
export class NotStartedError extends TransientError {
  readonly notSent = true;
}

/** No slot of the shared token-endpoint rate by the deadline (or the limiter's table kept failing): nothing was sent. */
export class NoRateSlotError extends NotStartedError {}

/**
 * An unclear POST of this record may still land and no read has shown its goal: no second POST before
 * the settle horizon. It never leaves syncRecord: the record ends `unsettled`, the next run looks again.
 */
export class UnsettledWriteError extends TransientError {}

/** The claim was lost or could not be renewed in time: the write was not sent (or not committed). */
export class ClaimLostError extends CheckpointConflictError {}

/** `--faults broker.crashAfterSendRate`: the holder "dies" after the IdP answered, lease and marker left. */
export class SimulatedCrashError extends TransientError {}

/**
 * An HCM Data Loader data set stayed in progress past the poll budget (issue 24): the run fails naming
 * the RequestIds; a resume polls them again instead of submitting the parts anew.
 */
export class HdlLoadStuckError extends AppError {
  constructor(
    message: string,
    readonly requestIds: number[],
  ) {
    super('HdlLoadStuckError', message);
  }
}
