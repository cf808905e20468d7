import { GoalRecordSchema } from '#core/source/index.ts';
import { ConfigError } from '../errors.ts';
import * as z from '../zod.ts';
import type { SourceFacts } from './source-facts.ts';

const personNumber = z.string().check(z.minLength(1), z.maxLength(30));

/**
 * What `goal-sync preflight --stack` sends the preflight function: the connection, and either an S3
 * source the function reads itself or the facts the CLI read from a local file (plans, sampled
 * workers, attributes and codes the mapping sends, one record as the write test's template). The
 * answer is the check results, never a token.
 */
export const preflightRequestSchema = z.object({
  connectionId: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  source: z.optional(z.object({ uri: z.string().check(z.minLength(1), z.maxLength(2048)) })),
  facts: z.optional(
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
      createAttributes: z.array(z.string().check(z.maxLength(100))).check(z.maxLength(200)),
      codes: z.record(
        z.string().check(z.maxLength(100)),
        z.array(z.string().check(z.maxLength(100))).check(z.maxLength(1_000)),
      ),
      sample: z.optional(GoalRecordSchema),
    }),
  ),
  writeTestPerson: z.optional(personNumber),
  sampleSize: z.optional(z.int().check(z.positive(), z.lte(100))),
});

export type PreflightRequest = z.infer<typeof preflightRequestSchema>;
export type WireFacts = NonNullable<PreflightRequest['facts']>;

export function parsePreflightRequest(event: unknown): PreflightRequest {
  const parsed = preflightRequestSchema.safeParse(event);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))].join(', ');
    throw new ConfigError(`invalid preflight request (${fields})`);
  }
  if ((parsed.data.source === undefined) === (parsed.data.facts === undefined)) {
    throw new ConfigError('a preflight request names a source or carries its facts (one of the two)');
  }
  return parsed.data;
}

export function factsToWire(f: SourceFacts): WireFacts {
  return {
    records: f.records,
    invalid: f.invalid,
    plans: [...f.plans].map(([goalPlanId, workers]) => ({ goalPlanId, workers })),
    createAttributes: [...f.createAttributes],
    codes: Object.fromEntries([...f.codes].map(([attr, codes]) => [attr, [...codes]])),
    ...(f.sample ? { sample: f.sample } : {}),
  };
}

export function factsFromWire(w: WireFacts): SourceFacts {
  return {
    records: w.records,
    invalid: w.invalid,
    plans: new Map(w.plans.map((p) => [p.goalPlanId, p.workers])),
    createAttributes: new Set(w.createAttributes),
    codes: new Map(Object.entries(w.codes).map(([attr, codes]) => [attr, new Set(codes)])),
    ...(w.sample ? { sample: w.sample } : {}),
  };
}
