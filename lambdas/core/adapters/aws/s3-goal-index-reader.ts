import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type GoalIndexStore, type IndexObjects, ObjectGoalIndex } from '#core/sync/index.ts';
import { ConfigError, TransientError } from '../../errors.ts';

/** Reads one index object; undefined when plan-sync left none (a small run: finders then). */
export function s3IndexGet(s3: S3Client, bucket: string): IndexObjects['get'] {
  return async (key) => {
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await out.Body?.transformToString('utf8');
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw new TransientError(`reading the goal index ${key} failed`, undefined, { cause: err });
    }
  };
}

/**
 * sync-chunk's side of plan-sync's index (s3-goal-index.ts writes it): read only, so its bundle holds
 * no S3 write command and its role needs none.
 */
export function s3GoalIndexReader(s3: S3Client, bucket: string, prefix = 'runs/'): GoalIndexStore {
  return new ObjectGoalIndex(
    {
      put: async () => {
        throw new ConfigError('the goal index is written by plan-sync only');
      },
      get: s3IndexGet(s3, bucket),
    },
    prefix,
  );
}
