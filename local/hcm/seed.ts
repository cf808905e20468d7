/**
 * Deterministic seed data for the HCM simulator: workers with their assignments, goal plans, and which
 * assignments each plan is assigned to (HRG_GOAL_PLN_ASSIGNMENTS: plans are not assigned
 * automatically). Workers are pure arithmetic on an index, so lookups need no table even for 20,000+.
 *
 * Two kinds of awkward worker are seeded on purpose (every Nth index, both options of the simulator):
 * - two assignments (`twoAssignmentsEvery`, default 40: E000040, E000080, ...), both on every plan,
 *   so a create must name the AssignmentId;
 * - no goal plan at all (`unassignedEvery`, default 53: E000053, E000106, ...), so a create is refused.
 */

export const DEFAULT_PERSON_COUNT = 20_000;
const PERSON_ID_BASE = 300_000_000_000_000;
const ASSIGNMENT_ID_BASE = 300_000_100_000_000;
/** A second assignment's id is the first's plus this. */
const SECOND_ASSIGNMENT_OFFSET = 50_000_000;
const PLAN_ASSIGNMENT_ID_BASE = 300_000_200_000_000;

export interface WorkerProfile {
  /** Every Nth worker (index % N === N - 1) has two assignments. 0 = none. */
  twoAssignmentsEvery: number;
  /** Every Nth worker has no goal plan assigned. 0 = none. */
  unassignedEvery: number;
}

export const DEFAULT_WORKER_PROFILE: Readonly<WorkerProfile> = Object.freeze({
  twoAssignmentsEvery: 40,
  unassignedEvery: 53,
});

export interface SeedAssignment {
  AssignmentId: number;
  AssignmentNumber: string;
}

export interface SeedPerson {
  PersonNumber: string;
  PersonId: number;
  DisplayName: string;
  assignments: SeedAssignment[];
  /** False: no goal plan is assigned to any of the worker's assignments. */
  onPlans: boolean;
}

export interface GoalPlan {
  GoalPlanId: number;
  GoalPlanName: string;
  ReviewPeriodId: number;
  ReviewPeriodName: string;
  /** YYYY-MM-DD, inclusive bounds of the review period. */
  StartDate: string;
  EndDate: string;
}

export const GOAL_PLANS: readonly GoalPlan[] = Object.freeze([
  {
    GoalPlanId: 300000009990001,
    GoalPlanName: 'FY2026 Performance Goals',
    ReviewPeriodId: 300000009980001,
    ReviewPeriodName: 'FY2026',
    StartDate: '2026-01-01',
    EndDate: '2026-12-31',
  },
  {
    GoalPlanId: 300000009990002,
    GoalPlanName: 'FY2027 Performance Goals',
    ReviewPeriodId: 300000009980002,
    ReviewPeriodName: 'FY2027',
    StartDate: '2027-01-01',
    EndDate: '2027-12-31',
  },
]);

const PLANS_BY_ID = new Map(GOAL_PLANS.map((p) => [p.GoalPlanId, p]));

export function goalPlanById(goalPlanId: number): GoalPlan | undefined {
  return PLANS_BY_ID.get(goalPlanId);
}

const FIRST_NAMES =
  'Ava Ben Chloe Diego Elena Farid Grace Hiro Ines Jonas Kemi Liam Maya Noah Olga Priya Quinn Rosa Sven Tara'.split(
    ' ',
  );
const LAST_NAMES =
  'Adams Banerjee Castro Dubois Eriksen Fischer Garcia Haddad Ito Jensen Kowalski Lopez Moreau Nakamura Okafor Patel Quist Rossi Schmidt Tanaka Usman Varga Weber Xu Yilmaz'.split(
    ' ',
  );

const every = (n: number, index: number) => n > 0 && index % n === n - 1;

/** The worker at zero-based `index`: E000001 is index 0. */
export function seedPerson(index: number, profile: WorkerProfile = DEFAULT_WORKER_PROFILE): SeedPerson {
  const first = FIRST_NAMES[index % FIRST_NAMES.length]!;
  const last = LAST_NAMES[Math.floor(index / FIRST_NAMES.length) % LAST_NAMES.length]!;
  const PersonNumber = `E${String(index + 1).padStart(6, '0')}`;
  const assignments: SeedAssignment[] = [
    { AssignmentId: ASSIGNMENT_ID_BASE + index, AssignmentNumber: `${PersonNumber}-1` },
  ];
  if (every(profile.twoAssignmentsEvery, index)) {
    assignments.push({
      AssignmentId: ASSIGNMENT_ID_BASE + SECOND_ASSIGNMENT_OFFSET + index,
      AssignmentNumber: `${PersonNumber}-2`,
    });
  }
  return {
    PersonNumber,
    PersonId: PERSON_ID_BASE + index,
    DisplayName: `${first} ${last}`,
    assignments,
    onPlans: !every(profile.unassignedEvery, index),
  };
}

export function seedPersons(
  count: number = DEFAULT_PERSON_COUNT,
  profile: WorkerProfile = DEFAULT_WORKER_PROFILE,
): SeedPerson[] {
  return Array.from({ length: count }, (_, i) => seedPerson(i, profile));
}

/** One row of goalPlanAssignees: a plan assigned to one assignment of one worker. */
export interface PlanAssignee {
  GoalPlanAssignmentId: number;
  GoalPlanId: number;
  PersonId: number;
  PersonNumber: string;
  AssignmentId: number;
  AssignmentNumber: string;
}

/** O(1) lookups over the first `count` seed workers. */
export class PersonDirectory {
  constructor(
    readonly count: number = DEFAULT_PERSON_COUNT,
    readonly profile: WorkerProfile = DEFAULT_WORKER_PROFILE,
  ) {}

  byNumber(personNumber: string): SeedPerson | undefined {
    const m = /^E(\d{6,})$/.exec(personNumber);
    if (!m) return undefined;
    const person = this.at(Number(m[1]) - 1);
    // E0000001 parses to index 0 but is not E000001's number: require the exact canonical form.
    return person?.PersonNumber === personNumber ? person : undefined;
  }

  byId(personId: number): SeedPerson | undefined {
    return Number.isSafeInteger(personId) ? this.at(personId - PERSON_ID_BASE) : undefined;
  }

  /** The plan's rows for this worker: one per assignment, none when the worker has no plan. */
  planAssignees(person: SeedPerson, plan: GoalPlan): PlanAssignee[] {
    if (!person.onPlans) return [];
    const planIndex = GOAL_PLANS.indexOf(plan);
    return person.assignments.map((a, i) => ({
      GoalPlanAssignmentId:
        PLAN_ASSIGNMENT_ID_BASE + planIndex * 10_000_000 + (person.PersonId - PERSON_ID_BASE) * 2 + i,
      GoalPlanId: plan.GoalPlanId,
      PersonId: person.PersonId,
      PersonNumber: person.PersonNumber,
      AssignmentId: a.AssignmentId,
      AssignmentNumber: a.AssignmentNumber,
    }));
  }

  /** Every plan assignee row, plan by plan, worker by worker. */
  *allPlanAssignees(): Generator<PlanAssignee> {
    for (const plan of GOAL_PLANS) {
      for (let i = 0; i < this.count; i++) yield* this.planAssignees(seedPerson(i, this.profile), plan);
    }
  }

  assigneeById(id: number): PlanAssignee | undefined {
    const rel = id - PLAN_ASSIGNMENT_ID_BASE;
    if (!Number.isSafeInteger(rel) || rel < 0) return undefined;
    const plan = GOAL_PLANS[Math.floor(rel / 10_000_000)];
    const person = this.at(Math.floor((rel % 10_000_000) / 2));
    if (!plan || !person) return undefined;
    return this.planAssignees(person, plan).find((a) => a.GoalPlanAssignmentId === id);
  }

  private at(index: number): SeedPerson | undefined {
    return index >= 0 && index < this.count ? seedPerson(index, this.profile) : undefined;
  }
}
