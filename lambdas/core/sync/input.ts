import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { formatFromUri } from '../source/open.ts';
import type { SourceRef } from '../source/types.ts';
import type { FinishInput } from './finish.ts';
import type { ChunkTask, PlanInput } from './plan.ts';

/**
 * Validation of the three handlers' inputs. Step Functions payloads come from people (execution input)
 * and from the definition; a malformed one is a ConfigError (not retried), with the field named.
 */
const id = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -');

const sourceSchema = z.object({
  uri: z.string().min(1),
  format: z.enum(['jsonl', 'csv']).optional(),
});

const planSchema = z.object({
  runId: id,
  connectionId: id,
  source: sourceSchema,
  chunkSize: z.number().int().min(1).max(10_000).optional(),
});

const chunkRefSchema = z.looseObject({
  index: z.number().int().min(0),
  byteStart: z.number().int().min(0),
  byteEnd: z.number().int().min(0),
  firstLine: z.number().int().min(1),
  lineCount: z.number().int().min(0),
});

const chunkTaskSchema = z.looseObject({
  runId: id,
  connectionId: id,
  source: sourceSchema,
  attempt: z.number().int().min(1),
  chunk: z.union([z.number().int().min(0), chunkRefSchema]),
});

/** A Distributed Map's ItemBatcher hands a worker several items at once. */
const chunkBatchSchema = z.looseObject({ Items: z.array(chunkTaskSchema).min(1) });

const finishSchema = z.looseObject({
  runId: id,
  outcome: z.enum(['completed', 'needs_reauth', 'failed']).optional(),
  error: z.looseObject({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
});

function parse<T>(schema: z.ZodType<T>, what: string, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || what}: ${i.message}`);
  throw new ConfigError(`invalid ${what} input: ${problems.join('; ')}`);
}

function sourceRef(source: { uri: string; format?: 'jsonl' | 'csv' | undefined }): SourceRef {
  return { uri: source.uri, format: source.format ?? formatFromUri(source.uri) };
}

export function parsePlanInput(value: unknown): PlanInput {
  const input = parse(planSchema, 'plan', value);
  return { ...input, source: sourceRef(input.source) };
}

export function parseChunkTasks(value: unknown): ChunkTask[] {
  const tasks =
    value && typeof value === 'object' && 'Items' in value
      ? parse(chunkBatchSchema, 'chunk batch', value).Items
      : [parse(chunkTaskSchema, 'chunk', value)];
  return tasks.map((t) => ({ ...t, source: sourceRef(t.source) }) as ChunkTask);
}

export function parseFinishInput(value: unknown): FinishInput {
  return parse(finishSchema, 'finish', value) as FinishInput;
}
