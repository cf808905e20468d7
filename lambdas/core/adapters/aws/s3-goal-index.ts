import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type GoalIndexStore, ObjectGoalIndex } from '#core/sync/index.ts';
import { TransientError } from '../../errors.ts';

/**
 * plan-sync's index of existing goals in the manifest bucket, under the run's `runs/` prefix beside
 * its chunk list (plan-sync writes, sync-chunk reads). Goal data only: no tokens or secrets.
 */
export function s3GoalIndex(s3: S3Client, bucket: string, prefix = 'runs/'): GoalIndexStore {
  return new ObjectGoalIndex(
    {
      async put(key, body) {
        await s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }),
        );
      },
      async get(key) {
        try {
          const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          return await out.Body?.transformToString('utf8');
        } catch (err) {
          // No index for this attempt (a small run, or plan-sync without HCM access): finders then.
          if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
          throw new TransientError(`reading the goal index ${key} failed`, undefined, { cause: err });
        }
      },
    },
    prefix,
  );
}
