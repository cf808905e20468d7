import type { SourceRef } from '#core/source/index.ts';
import { encodingName, formatFromUri } from '#core/source/index.ts';
import { ConfigError } from '../errors.ts';
import * as z from '../zod.ts';
import type { FinishInput } from './finish.ts';
import type { ChunkTask, PlanInput } from './plan.ts';

/**
 * Validation of the three handlers' inputs. Step Functions payloads come from people (execution input)
 * and from the definition; a malformed one is a ConfigError (not retried), with the field named.
 */
const id = z
  .string()
  .check(z.regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -'));
const int = (min: number, max?: number) =>
  max === undefined ? z.int().check(z.gte(min)) : z.int().check(z.gte(min), z.lte(max));
const text = z.optional(z.string());
const nullableText = z.optional(z.nullable(z.string()));

const versionSchema = z.object({
  size: int(0),
  sha256: text,
  etag: text,
  versionId: text,
});

const sourceSchema = z.object({
  uri: z.string().check(z.minLength(1)),
  format: z.optional(z.enum(['jsonl', 'csv'])),
  version: z.optional(versionSchema),
  encoding: z.optional(z.string().check(z.minLength(1), z.maxLength(40))),
  delimiter: z.optional(z.enum([',', ';', '\t'])),
});

const planSchema = z.object({
  runId: id,
  connectionId: id,
  source: sourceSchema,
  chunkSize: z.optional(int(1, 10_000)),
  resume: z.optional(z.boolean()),
  ifRunning: z.optional(z.enum(['fail', 'skip'])),
  mapThreshold: z.optional(int(0)),
  verify: z.optional(z.boolean()),
});

/** The state machine hands plan-sync the execution input plus the execution's own id. */
const wrappedPlanSchema = z.looseObject({
  input: z.unknown(),
  execution: z.looseObject({ id: z.string().check(z.minLength(1)) }),
});

/** An EventBridge "Step Functions Execution Status Change" event (the rule for runs that end outside the Catch). */
const statusChangeSchema = z.looseObject({
  source: z.literal('aws.states'),
  detail: z.looseObject({
    executionArn: z.string(),
    name: text,
    status: z.string(),
    input: nullableText,
    error: nullableText,
    cause: nullableText,
  }),
});

const chunkRefSchema = z.looseObject({
  index: int(0),
  byteStart: int(0),
  byteEnd: int(0),
  firstLine: int(1),
  lineCount: int(0),
});

const chunkTaskSchema = z.looseObject({
  runId: id,
  connectionId: id,
  source: sourceSchema,
  attempt: int(1),
  generation: z.optional(int(1)),
  // The execution's REST deadline (epoch ms, 0: none): a pass that starts later defers.
  restDeadline: z.optional(int(0)),
  chunk: z.union([int(0), chunkRefSchema]),
});

/** A Distributed Map's ItemBatcher hands a worker several items at once. */
const chunkBatchSchema = z.looseObject({ Items: z.array(chunkTaskSchema).check(z.minLength(1)) });

const finishSchema = z.looseObject({
  runId: id,
  outcome: z.optional(z.enum(['completed', 'needs_reauth', 'failed'])),
  error: z.optional(z.looseObject({ Error: text, Cause: text })),
  executionArn: text,
  restDeadline: z.optional(int(0)),
  executionInput: z.optional(z.record(z.string(), z.unknown())),
});

function parse<T>(schema: z.ZodMiniType<T>, what: string, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || what}: ${i.message}`);
  throw new ConfigError(`invalid ${what} input: ${problems.join('; ')}`);
}

function sourceRef(source: z.infer<typeof sourceSchema>): SourceRef {
  return {
    uri: source.uri,
    format: source.format ?? formatFromUri(source.uri),
    ...(source.version ? { version: source.version } : {}),
    // The canonical name (latin1 -> windows-1252), so a resume compares and reads the same thing.
    ...(source.encoding ? { encoding: encodingName(source.encoding) } : {}),
    ...(source.delimiter ? { delimiter: source.delimiter } : {}),
  };
}

/**
 * Run ids become execution names and CLI arguments, which cannot hold ':' (a scheduler's fire time
 * `nightly-2026-12-02T02:00:00Z` would be unusable): every handler normalizes the same way.
 */
export function canonicalRunId(runId: string): string {
  return runId.replaceAll(':', '');
}

export function parsePlanInput(value: unknown): PlanInput {
  const wrapped = wrappedPlanSchema.safeParse(value);
  const raw = wrapped.success ? wrapped.data.input : value;
  const input = parse(planSchema, 'plan', raw);
  return {
    ...input,
    runId: canonicalRunId(input.runId),
    source: sourceRef(input.source),
    ...(wrapped.success ? { executionArn: wrapped.data.execution.id } : {}),
  };
}

export function parseChunkTasks(value: unknown): ChunkTask[] {
  const tasks =
    value && typeof value === 'object' && 'Items' in value
      ? parse(chunkBatchSchema, 'chunk batch', value).Items
      : [parse(chunkTaskSchema, 'chunk', value)];
  return tasks.map((t) => ({ ...t, source: sourceRef(t.source) }) as ChunkTask);
}

export function parseFinishInput(value: unknown): FinishInput {
  const change = statusChangeSchema.safeParse(value);
  if (change.success) return fromStatusChange(change.data.detail);
  const input = parse(finishSchema, 'finish', value) as FinishInput;
  return { ...input, runId: canonicalRunId(input.runId) };
}

/** An execution that FAILED / TIMED_OUT / ABORTED: finish its run as failed, naming how it ended. */
function fromStatusChange(d: z.infer<typeof statusChangeSchema>['detail']): FinishInput {
  let runId: unknown;
  try {
    runId = d.input ? (JSON.parse(d.input) as { runId?: unknown }).runId : undefined;
  } catch {
    runId = undefined;
  }
  // Without the input (not delivered for some encrypted executions), the execution name is the run id
  // (goal-sync start), the run id plus -r<n> (goal-sync resume) or --<n> (a continuation).
  const fallback = (d.name ?? d.executionArn.split(':').pop() ?? '').replace(/(-r|--)\d+$/, '');
  // A run id the input got wrong (MarkFailed could not finish it either) falls back to the name too:
  // the execution still ends in one sync.failed instead of a retried, dead-lettered finish.
  const usable = typeof runId === 'string' && id.safeParse(runId).success ? runId : fallback;
  const parsedId = parse(id, 'execution status change', usable);
  const executionInput = objectOf(d.input);
  return {
    runId: canonicalRunId(parsedId),
    outcome: 'failed',
    executionArn: d.executionArn,
    // A continuing run's hand-over, if the execution ended before it, is started from this input.
    ...(executionInput ? { executionInput } : {}),
    error: {
      Error: d.error ?? `Execution${d.status.charAt(0)}${d.status.slice(1).toLowerCase().replace('_o', 'O')}`,
      Cause:
        d.cause ?? `the execution ended with status ${d.status} outside the state machine's error handling`,
    },
  };
}

function objectOf(json: string | null | undefined): Record<string, unknown> | undefined {
  try {
    const v: unknown = json ? JSON.parse(json) : undefined;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
