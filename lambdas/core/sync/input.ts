import { z } from 'zod';
import type { SourceRef } from '#core/source/index.ts';
import { formatFromUri } from '#core/source/index.ts';
import { ConfigError } from '../errors.ts';
import type { FinishInput } from './finish.ts';
import type { ChunkTask, PlanInput } from './plan.ts';

/**
 * Validation of the three handlers' inputs. Step Functions payloads come from people (execution input)
 * and from the definition; a malformed one is a ConfigError (not retried), with the field named.
 */
const id = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -');

const versionSchema = z.object({
  size: z.number().int().min(0),
  sha256: z.string().optional(),
  etag: z.string().optional(),
  versionId: z.string().optional(),
});

const sourceSchema = z.object({
  uri: z.string().min(1),
  format: z.enum(['jsonl', 'csv']).optional(),
  version: versionSchema.optional(),
});

const planSchema = z.object({
  runId: id,
  connectionId: id,
  source: sourceSchema,
  chunkSize: z.number().int().min(1).max(10_000).optional(),
  resume: z.boolean().optional(),
  ifRunning: z.enum(['fail', 'skip']).optional(),
  mapThreshold: z.number().int().min(0).optional(),
  verify: z.boolean().optional(),
});

/** The state machine hands plan-sync the execution input plus the execution's own id. */
const wrappedPlanSchema = z.looseObject({
  input: z.unknown(),
  execution: z.looseObject({ id: z.string().min(1) }),
});

/** An EventBridge "Step Functions Execution Status Change" event (the rule for runs that end outside the Catch). */
const statusChangeSchema = z.looseObject({
  source: z.literal('aws.states'),
  detail: z.looseObject({
    executionArn: z.string(),
    name: z.string().optional(),
    status: z.string(),
    input: z.string().nullable().optional(),
    error: z.string().nullable().optional(),
    cause: z.string().nullable().optional(),
  }),
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

function sourceRef(source: z.infer<typeof sourceSchema>): SourceRef {
  return {
    uri: source.uri,
    format: source.format ?? formatFromUri(source.uri),
    ...(source.version ? { version: source.version } : {}),
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
  // (goal-sync start) or the run id plus -r<n> (goal-sync resume).
  const fallback = (d.name ?? d.executionArn.split(':').pop() ?? '').replace(/-r\d+$/, '');
  const parsedId = parse(id, 'execution status change', typeof runId === 'string' ? runId : fallback);
  return {
    runId: canonicalRunId(parsedId),
    outcome: 'failed',
    executionArn: d.executionArn,
    error: {
      Error: d.error ?? `Execution${d.status.charAt(0)}${d.status.slice(1).toLowerCase().replace('_o', 'O')}`,
      Cause:
        d.cause ?? `the execution ended with status ${d.status} outside the state machine's error handling`,
    },
  };
}
