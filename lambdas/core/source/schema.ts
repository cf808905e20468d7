import * as z from '../zod.ts';
import { excelArtefact } from './excel.ts';

/** YYYY-MM-DD that is a real calendar date (zod's ISO date rejects 2023-02-29 and 2024-04-31). */
const isoDate = z.iso.date({ error: 'must be a real calendar date YYYY-MM-DD' });
const percent = z.number().check(z.gte(0), z.lte(100));
const KEY_RE = /^[A-Za-z0-9._:-]+$/;

/**
 * The source's own vocabulary for status and priority. hcm/mapping.ts turns it into Oracle's codes; the
 * source names no Oracle code itself, so that source/ does not depend on hcm/ (which depends on it).
 */
export const SOURCE_STATUSES = ['NOT_STARTED', 'IN_PROGRESS', 'COMPLETED', 'CANCELLED', 'ON_HOLD'] as const;
export const SOURCE_PRIORITIES = ['HIGH', 'MEDIUM', 'LOW'] as const;

/**
 * One goal as the source system exports it. Unknown fields are stripped, not rejected: source exports
 * often carry extra columns, and the mapping only sends what is listed here.
 */
export const GoalRecordSchema = z
  .object({
    externalKey: z
      .string()
      .check(
        z.minLength(1),
        z.maxLength(100),
        z.regex(KEY_RE, { error: 'may only contain letters, digits and . _ : -' }),
      ),
    personNumber: z.string().check(z.trim(), z.minLength(1), z.maxLength(30)),
    /** The worker's assignment the goal belongs to; needed only for a worker with several on the plan. */
    assignmentNumber: z.optional(z.string().check(z.trim(), z.minLength(1), z.maxLength(30))),
    goalName: z.string().check(z.trim(), z.minLength(1), z.maxLength(240)),
    description: z.optional(z.string().check(z.maxLength(4000))),
    startDate: isoDate,
    targetCompletionDate: isoDate,
    status: z.enum(SOURCE_STATUSES),
    goalPlanId: z.int().check(z.positive()),
    reviewPeriodId: z.optional(z.int().check(z.positive())),
    weight: z.optional(percent),
    category: z.optional(z.string().check(z.minLength(1), z.maxLength(30))),
    priority: z.optional(z.enum(SOURCE_PRIORITIES)),
    percentComplete: z.optional(percent),
    actualCompletionDate: z.optional(isoDate),
  })
  .check((ctx) => {
    const r = ctx.value;
    // ISO dates compare correctly as strings.
    if (r.targetCompletionDate < r.startDate) {
      ctx.issues.push({
        code: 'custom',
        input: r.targetCompletionDate,
        path: ['targetCompletionDate'],
        message: `must be on or after startDate ${r.startDate}`,
      });
    }
    if (r.actualCompletionDate !== undefined && r.actualCompletionDate < r.startDate) {
      ctx.issues.push({
        code: 'custom',
        input: r.actualCompletionDate,
        path: ['actualCompletionDate'],
        message: `must be on or after startDate ${r.startDate}`,
      });
    }
  });

export type GoalRecord = z.infer<typeof GoalRecordSchema>;

/** Every field a goal record knows, and those it cannot do without (what a CSV header must name). */
export const GOAL_FIELDS: readonly string[] = Object.keys(GoalRecordSchema.shape);
export const REQUIRED_GOAL_FIELDS: readonly string[] = GOAL_FIELDS.filter(
  (name) => !(GoalRecordSchema.shape as Record<string, z.ZodMiniType>)[name]!.safeParse(undefined).success,
);

export type GoalValidation = { ok: true; record: GoalRecord } | { ok: false; reason: string; key?: string };

/** At most this many issues are spelled out; a record with more is broken enough. */
const MAX_ISSUES = 5;

export function validateGoalRecord(raw: unknown): GoalValidation {
  // reportInput lets a missing field read "is required" instead of "expected string, received undefined".
  const parsed = GoalRecordSchema.safeParse(raw, { reportInput: true });
  if (parsed.success) return { ok: true, record: parsed.data };
  const issues = parsed.error.issues;
  const reasons = issues.slice(0, MAX_ISSUES).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : 'record';
    const missing =
      (issue.code === 'invalid_type' || issue.code === 'invalid_value') && issue.input === undefined;
    const excel = issue.path.length === 1 ? excelArtefact(String(issue.path[0]), issue.input) : undefined;
    return `${path}: ${missing ? 'is required' : (excel ?? issue.message)}`;
  });
  if (issues.length > MAX_ISSUES) reasons.push(`(+${issues.length - MAX_ISSUES} more)`);
  const key = keyOf(raw);
  return key === undefined
    ? { ok: false, reason: reasons.join('; ') }
    : { ok: false, reason: reasons.join('; '), key };
}

/** The external key of a record that may be invalid, when it is at least a plausible key (for reports). */
export function keyOf(raw: unknown): string | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const key = (raw as { externalKey?: unknown }).externalKey;
  // Only a key that could be valid is echoed: anything else is content, not an identifier.
  return typeof key === 'string' && key.length > 0 && key.length <= 100 && KEY_RE.test(key) ? key : undefined;
}
