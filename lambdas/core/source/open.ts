import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../errors.ts';
import { fileBytes, s3Bytes } from './bytes.ts';
import type { GoalSource } from './port.ts';
import { type SourceReadOptions, StreamingGoalSource } from './source.ts';
import type { SourceRef } from './source-types.ts';
import { escapeControl } from './text.ts';

/** A GoalSource for a plain path, a file:// URL or an s3://bucket/key URI. */
export function openGoalSource(ref: SourceRef, deps: { s3?: S3Client } = {}): StreamingGoalSource {
  if (ref.uri.startsWith('s3://')) {
    const { bucket, key } = parseS3Uri(ref.uri);
    return new StreamingGoalSource(
      s3Bytes(deps.s3 ?? new S3Client({}), bucket, key, ref.version),
      ref.format,
      readOptions(ref),
    );
  }
  const path = ref.uri.startsWith('file://') ? fileURLToPath(ref.uri) : ref.uri;
  if (!path) throw new ConfigError('goal source URI is empty');
  return new StreamingGoalSource(fileBytes(path, ref.version), ref.format, readOptions(ref));
}

const readOptions = (ref: SourceRef): SourceReadOptions => ({
  ...(ref.encoding ? { encoding: ref.encoding } : {}),
  ...(ref.delimiter ? { delimiter: ref.delimiter } : {}),
});

/**
 * The AWS handlers' source policy: an s3:// URI in the stack's source bucket, nothing else. A plain path
 * or file:// URI would make the function read its own sandbox (/proc/self/environ holds its
 * credentials), and another bucket is outside what the stack grants and audits.
 */
export function openAwsGoalSource(ref: SourceRef, deps: { s3: S3Client; sourceBucket: string }): GoalSource {
  checkAwsSourceUri(ref.uri, deps.sourceBucket);
  return openGoalSource(ref, deps);
}

export function checkAwsSourceUri(uri: string, sourceBucket: string): void {
  if (!uri.startsWith('s3://')) {
    throw new ConfigError(
      `source.uri must be an s3:// URI in the source bucket (s3://${sourceBucket}/...); local paths are for goal-sync local only`,
    );
  }
  const { bucket } = parseS3Uri(uri);
  if (bucket !== sourceBucket) {
    throw new ConfigError(
      `source.uri must be in the stack's source bucket ${sourceBucket}, not ${escapeControl(bucket)}`,
    );
  }
}

/** The format a source name implies: .csv is CSV, .jsonl / .ndjson / .json is JSON Lines. */
export function formatFromUri(uri: string): 'jsonl' | 'csv' {
  const name = uri.replace(/[?#].*$/, '').toLowerCase();
  if (name.endsWith('.csv')) return 'csv';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson') || name.endsWith('.json')) return 'jsonl';
  throw new ConfigError(`cannot tell the format of ${escapeControl(uri)}: name it .jsonl or .csv`);
}

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new ConfigError(`not an s3://bucket/key URI: ${escapeControl(uri)}`);
  // Keys in s3:// URIs are written as-is (not URL-encoded), as the AWS CLI does.
  return { bucket: match[1]!, key: match[2]! };
}
