import { AppError, TransientError } from './errors.ts';
import { maskSecrets } from './mask.ts';

/** AWS error names that mean "try again later" across DynamoDB, KMS, Secrets Manager, Scheduler, Lambda. */
const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalServerException',
  'InternalFailure',
  'KMSInternalException',
  'DependencyTimeoutException',
  'TransactionConflictException',
  'TimeoutError',
  // A call aborted at the lease deadline (AbortSignal.timeout raises TimeoutError, abort() AbortError).
  'AbortError',
  'RequestTimeout',
  'RequestTimeoutException',
  'EC2ThrottledException',
]);

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET']);

/** Whether an AWS SDK failure is worth retrying: throttling, 5xx, timeouts and socket errors. */
export function isTransientAwsError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof AppError) return err.retryable;
  if (TRANSIENT_NAMES.has(err.name)) return true;
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

/** Wraps a retryable AWS failure as TransientError (so callers and Step Functions can retry on the name). */
export function asTransient(err: unknown, what: string): unknown {
  if (err instanceof AppError || !isTransientAwsError(err)) return err;
  const name = (err as Error).name;
  return new TransientError(
    `${what} failed transiently (${name}): ${maskSecrets((err as Error).message)}`,
    undefined,
    {
      cause: err,
    },
  );
}

/** By name: lib-dynamodb and a second copy of client-dynamodb would defeat `instanceof`. */
export function isConditionFailed(err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}

/**
 * A conditional write: its answer, or undefined when the condition failed (what that means is the
 * caller's business); any other failure is classified like every AWS call (`what` names it).
 */
export async function unlessConditionFails<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    if (isConditionFailed(err)) return undefined;
    throw asTransient(err, what);
  }
}
