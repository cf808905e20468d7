/**
 * Deterministic seed data for the HCM simulator: persons (workers) and goal plans. The sample-goal
 * generator uses the same functions, so every generated goal names a person and plan the simulator knows.
 * Persons are pure arithmetic on an index, so lookups need no table even for 20,000+ persons.
 */

export const DEFAULT_PERSON_COUNT = 20_000;
const PERSON_ID_BASE = 300_000_000_000_000;
const ASSIGNMENT_ID_BASE = 300_000_100_000_000;

export interface SeedPerson {
  PersonNumber: string;
  PersonId: number;
  AssignmentId: number;
  DisplayName: string;
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

/** The person at zero-based `index`: E000001 is index 0. */
export function seedPerson(index: number): SeedPerson {
  const first = FIRST_NAMES[index % FIRST_NAMES.length]!;
  const last = LAST_NAMES[Math.floor(index / FIRST_NAMES.length) % LAST_NAMES.length]!;
  return {
    PersonNumber: `E${String(index + 1).padStart(6, '0')}`,
    PersonId: PERSON_ID_BASE + index,
    AssignmentId: ASSIGNMENT_ID_BASE + index,
    DisplayName: `${first} ${last}`,
  };
}

export function seedPersons(count: number = DEFAULT_PERSON_COUNT): SeedPerson[] {
  return Array.from({ length: count }, (_, i) => seedPerson(i));
}

/** O(1) lookups over the first `count` seed persons. */
export class PersonDirectory {
  constructor(readonly count: number = DEFAULT_PERSON_COUNT) {}

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

  private at(index: number): SeedPerson | undefined {
    return index >= 0 && index < this.count ? seedPerson(index) : undefined;
  }
}
