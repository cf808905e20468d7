import { GoalRecordSchema } from '#core/source/index.ts';
import { ConfigError } from '../errors.ts';
import * as z from '../zod.ts';
import { MAX_KINDS, type SourceDigest } from './source-facts.ts';

const personNumber = z.string().check(z.minLength(1), z.maxLength(30));

/**
 * What `goal-sync preflight --stack` sends the preflight function: the connection, and either an S3
 * source the function reads itself or the digest the CLI read from a local file (plans, sampled
 * workers, one record per kind), which the function maps with the stack's mapping settings. The
 * answer is the check results, never a token.
 */
export const preflightRequestSchema = z.object({
  connectionId: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  source: z.optional(z.object({ uri: z.string().check(z.minLength(1), z.maxLength(2048)) })),
  digest: z.optional(
    z.object({
      records: z.int().check(z.nonnegative()),
      invalid: z.int().check(z.nonnegative()),
      plans: z
        .array(
          z.object({
            goalPlanId: z.int().check(z.positive()),
            workers: z
              .array(z.object({ personNumber, assignmentNumber: z.optional(personNumber) }))
              .check(z.maxLength(100)),
          }),
        )
        .check(z.maxLength(1_000)),
      kinds: z
        .array(z.object({ record: GoalRecordSchema, count: z.int().check(z.positive()) }))
        .check(z.maxLength(MAX_KINDS)),
    }),
  ),
  writeTestPerson: z.optional(personNumber),
  sampleSize: z.optional(z.int().check(z.positive(), z.lte(100))),
});

export type PreflightRequest = z.infer<typeof preflightRequestSchema>;
export type WireDigest = NonNullable<PreflightRequest['digest']>;

export function parsePreflightRequest(event: unknown): PreflightRequest {
  const parsed = preflightRequestSchema.safeParse(event);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))].join(', ');
    throw new ConfigError(`invalid preflight request (${fields})`);
  }
  if ((parsed.data.source === undefined) === (parsed.data.digest === undefined)) {
    throw new ConfigError('a preflight request names a source or carries its digest (one of the two)');
  }
  return parsed.data;
}

export function digestToWire(d: SourceDigest): WireDigest {
  return {
    records: d.records,
    invalid: d.invalid,
    plans: [...d.plans].map(([goalPlanId, workers]) => ({ goalPlanId, workers })),
    kinds: [...d.kinds.values()],
  };
}

export function digestFromWire(w: WireDigest): SourceDigest {
  return {
    records: w.records,
    invalid: w.invalid,
    plans: new Map(w.plans.map((p) => [p.goalPlanId, p.workers])),
    kinds: new Map(w.kinds.map((k, i) => [String(i), k])),
  };
}
