import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type GoalIndexStore, ObjectGoalIndex } from '#core/sync/index.ts';
import { s3IndexGet } from './s3-goal-index-reader.ts';

/**
 * plan-sync's index of existing goals in the manifest bucket, under the run's `runs/` prefix beside
 * its chunk list (plan-sync writes, sync-chunk reads with s3-goal-index-reader.ts). Goal data only:
 * no tokens or secrets.
 */
export function s3GoalIndex(s3: S3Client, bucket: string, prefix = 'runs/'): GoalIndexStore {
  return new ObjectGoalIndex(
    {
      async put(key, body) {
        await s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }),
        );
      },
      get: s3IndexGet(s3, bucket),
    },
    prefix,
  );
}
