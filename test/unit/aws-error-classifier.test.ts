import { describe, expect, it } from 'vitest';
import { dynamoCall } from '#core/checkpoint/index.ts';
import { asTransient, isConditionFailed, isTransientAwsError } from '../../lambdas/core/aws-errors.ts';
import { TransientError } from '../../lambdas/core/errors.ts';

const named = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} (test)`), { name, ...extra });

/**
 * One AWS error classifier (aws-errors.ts) for every adapter: the checkpoint stores and the broker's
 * connection store used to disagree (6 names vs 18), so the same DynamoDB throttle was retried by one
 * and failed the run in the other.
 */
describe('AWS error classifier', () => {
  const transient = [
    named('ProvisionedThroughputExceededException'),
    named('ThrottlingException'),
    named('RequestLimitExceeded'),
    named('TransactionConflictException'),
    named('InternalServerError'),
    named('TimeoutError'),
    named('SomethingNew', { $metadata: { httpStatusCode: 503 } }),
    named('Error', { code: 'ECONNRESET' }),
  ];
  const permanent = [
    named('ConditionalCheckFailedException'),
    named('ValidationException', { $metadata: { httpStatusCode: 400 } }),
    named('AccessDeniedException'),
  ];

  it.each(transient.map((e) => [e.name, e]))(
    '%s is transient for the checkpoint stores and the broker alike',
    async (_n, err) => {
      expect(isTransientAwsError(err)).toBe(true);
      expect(asTransient(err, 'connection read')).toBeInstanceOf(TransientError);
      await expect(dynamoCall('UpdateItem', () => Promise.reject(err))).rejects.toBeInstanceOf(
        TransientError,
      );
    },
  );

  it.each(permanent.map((e) => [e.name, e]))('%s passes through unchanged everywhere', async (_n, err) => {
    expect(isTransientAwsError(err)).toBe(false);
    expect(asTransient(err, 'connection read')).toBe(err);
    await expect(dynamoCall('UpdateItem', () => Promise.reject(err))).rejects.toBe(err);
  });

  it('names the DynamoDB operation and keeps the cause, without the upstream message secrets', async () => {
    const err = named('ThrottlingException');
    const wrapped = await dynamoCall('BatchGetItem', () => Promise.reject(err)).catch((e: unknown) => e);
    expect((wrapped as Error).message).toMatch(
      /^DynamoDB BatchGetItem failed transiently \(ThrottlingException\)/,
    );
    expect((wrapped as Error).cause).toBe(err);
    expect(isConditionFailed(named('ConditionalCheckFailedException'))).toBe(true);
  });
});
