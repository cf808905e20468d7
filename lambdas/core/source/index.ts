/**
 * The public surface of `source/`: what code outside this folder may import (a test enforces it).
 * Everything else in the folder is internal.
 */

export type { MaxInvalid } from './acceptance.ts';
export {
  acceptanceProblem,
  checkAcceptance,
  DEFAULT_MAX_INVALID,
  formatMaxInvalid,
  parseMaxInvalid,
} from './acceptance.ts';
export type { ByteSource } from './bytes.ts';
export { fileBytes } from './bytes.ts';
export { fileSourceCopies, S3SourceCopies } from './copies.ts';
export { type CsvDelimiter, checkCsvHeader, jsonProblem, parseDelimiter } from './decode.ts';
export { encodingName } from './encoding.ts';
export { MAX_LINE_BYTES } from './framing.ts';
export type { SourceShape } from './normalize.ts';
export { checkAwsSourceUri, formatFromUri, openAwsGoalSource, openGoalSource, parseS3Uri } from './open.ts';
export type { GoalSource, NormalizedCopy, SourceCopyStore } from './port.ts';
export type { GoalRecord } from './schema.ts';
export { GoalRecordSchema, keyOf, validateGoalRecord } from './schema.ts';
export { StreamingGoalSource } from './source.ts';
export type {
  ChunkRef,
  ReadChunkOptions,
  SourceEntry,
  SourcePlan,
  SourceRef,
  SourceVersion,
} from './source-types.ts';
export { closest, didYouMean, escapeControl } from './text.ts';
