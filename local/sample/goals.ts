import type { GoalRecord } from '#core/source/index.ts';
import { GOAL_PLANS, seedPerson } from '../hcm/seed.ts';
import { addDays, daysBetween, type Rng } from './random.ts';

/**
 * Plausible goal content. Some names carry a comma, double quotes or an apostrophe on purpose: they
 * exercise CSV quoting and the q= finder's quote escaping.
 */
export const GOAL_NAMES = [
  'Improve customer satisfaction score',
  'Reduce onboarding time for new hires',
  'Mentor a junior colleague',
  'Complete the cloud security certification',
  'Ship the "Atlas" data migration',
  'Cut infrastructure cost, keep the SLOs',
  "Lead the team's quarterly planning",
  'Automate the month-end close checklist',
  'Raise first-contact resolution rate',
  'Publish the API style guide',
  'Grow the partner pipeline by 15%',
  'Retire the legacy reporting server',
  'Run two customer discovery workshops',
  'Improve test coverage of the billing service',
  'Document the incident response runbook',
  'Present at an internal tech talk',
  'Reduce average ticket backlog age',
  'Launch the employee recognition pilot',
  'Standardise vendor contract templates',
  'Complete leadership essentials training',
  'Improve forecast accuracy to within 5%',
  "Own the customer's renewal playbook",
  'Harden the CI pipeline against flaky tests',
  'Translate the help centre into Spanish',
] as const;

/** The simulator's tenant's category codes (local/hcm/contract/lookups.ts): the sample sends them as they are. */
const CATEGORIES = ['PERFORMANCE', 'DEVELOPMENT', 'BEHAVIORAL'] as const;
const PRIORITIES = ['HIGH', 'MEDIUM', 'LOW'] as const;
const WEIGHTS = [10, 15, 20, 25, 30] as const;
/** ON_HOLD has no default HCM code (hcm/mapping-config.ts): a sample run would fail those records. */
const STATUSES: ReadonlyArray<GoalRecord['status']> = [
  'NOT_STARTED',
  'IN_PROGRESS',
  'IN_PROGRESS',
  'COMPLETED',
  'CANCELLED',
];
const DESCRIPTIONS = [
  'Agreed with my manager in the goal-setting conversation.',
  'Measured quarterly; evidence kept in the team wiki.',
  'Stretch goal, aligned with the department "North Star" objective.',
  "Follow-up from last year's review, with a clearer measure.",
];

/** One source goal as a plain object in the source schema's field names (GoalRecord when valid). */
export type SampleGoal = Record<string, string | number>;

export interface PersonGoals {
  personNumber: string;
  goals: SampleGoal[];
}

/**
 * The goals of the person at `personIndex` on visit `round` (round > 0 only when there are more
 * goals than persons: names then get a suffix so person + plan + name stays unique).
 */
export function goalsForPerson(
  r: Rng,
  personIndex: number,
  round: number,
  count: number,
  firstSeq: number,
): PersonGoals {
  const person = seedPerson(personIndex);
  const names = pickDistinct(r, GOAL_NAMES, count);
  const goals = names.map((baseName, i) => {
    const plan = r.pick(GOAL_PLANS);
    const span = daysBetween(plan.StartDate, plan.EndDate);
    const startDate = addDays(plan.StartDate, r.int(0, 90));
    const targetCompletionDate = addDays(startDate, r.int(30, span - daysBetween(plan.StartDate, startDate)));
    const status = r.pick(STATUSES);
    const goal: SampleGoal = {
      externalKey: `GS-${person.PersonNumber}-${String(firstSeq + i).padStart(3, '0')}`,
      personNumber: person.PersonNumber,
      goalName: round === 0 ? baseName : `${baseName} #${round + 1}`,
      startDate,
      targetCompletionDate,
      status,
      goalPlanId: plan.GoalPlanId,
      reviewPeriodId: plan.ReviewPeriodId,
      weight: r.pick(WEIGHTS),
      category: r.pick(CATEGORIES),
      priority: r.pick(PRIORITIES),
    };
    if (r.chance(0.8)) goal.description = r.pick(DESCRIPTIONS);
    // A worker with several assignments on the plan: the export names the one the goal is for.
    if (person.assignments.length > 1) goal.assignmentNumber = person.assignments[0]!.AssignmentNumber;
    if (status === 'COMPLETED') {
      goal.percentComplete = 100;
      goal.actualCompletionDate = addDays(startDate, r.int(0, daysBetween(startDate, targetCompletionDate)));
    } else if (status === 'IN_PROGRESS') {
      goal.percentComplete = r.int(1, 9) * 10;
    }
    return goal;
  });
  return { personNumber: person.PersonNumber, goals };
}

/** A later revision of a goal: same keys, different content, still valid. */
export function reviseGoal(goal: SampleGoal): SampleGoal {
  const revised: SampleGoal = {
    ...goal,
    description: `${goal.description ?? ''} Revised after the mid-year check-in.`.trim(),
  };
  if (goal.status === 'NOT_STARTED') {
    revised.status = 'IN_PROGRESS';
    revised.percentComplete = 10;
  } else if (goal.status === 'IN_PROGRESS') {
    revised.percentComplete = Math.min(95, Number(goal.percentComplete ?? 0) + 5);
  }
  return revised;
}

export const INVALID_KINDS = [
  'bad-date',
  'missing-field',
  'weight',
  'status',
  'date-order',
  'malformed',
] as const;
export type InvalidKind = (typeof INVALID_KINDS)[number];

/** Breaks a goal in one of the ways real exports break ('malformed' is handled by the serializer). */
export function corrupt(goal: SampleGoal, kind: InvalidKind): SampleGoal {
  const bad = { ...goal };
  switch (kind) {
    case 'bad-date':
      bad.startDate = `${String(bad.startDate).slice(0, 4)}-02-30`;
      break;
    case 'missing-field':
      delete bad.goalName;
      break;
    case 'weight':
      bad.weight = 150;
      break;
    case 'status':
      bad.status = 'DONE';
      break;
    case 'date-order':
      bad.targetCompletionDate = addDays(String(bad.startDate), -1);
      break;
    case 'malformed':
      break;
  }
  return bad;
}

function pickDistinct<T>(r: Rng, items: readonly T[], count: number): T[] {
  const pool = [...items];
  const n = Math.min(count, pool.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(r.next() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n);
}
