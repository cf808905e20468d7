import type {
  AssigneesPage,
  GoalPayload,
  GoalPlanAssignee,
  GoalQuery,
  GoalRef,
  HcmGoals,
  PlanGoal,
  PlanGoalsQuery,
  WriteGuard,
} from '#core/hcm/index.ts';
import { hcmResources } from '#core/hcm/index.ts';
import type { ChunkRef, GoalRecord, GoalSource, SourceEntry, SourcePlan } from '#core/source/index.ts';
import { HcmRequestError } from '../../lambdas/core/errors.ts';

/** A goal record as the source would deliver it; `n` picks the person (3 goals per person). */
export function goal(n: number, overrides: Partial<GoalRecord> = {}): GoalRecord {
  return {
    externalKey: `G-${String(n).padStart(5, '0')}`,
    personNumber: `P${String(Math.floor(n / 3)).padStart(4, '0')}`,
    goalName: `Goal ${n}`,
    description: `Description of goal ${n}`,
    startDate: '2025-01-01',
    targetCompletionDate: '2025-12-31',
    status: 'NOT_STARTED',
    goalPlanId: 300,
    ...overrides,
  };
}

/** In-memory GoalSource over ready-made entries; a chunk is a line range. */
export class ArraySource implements GoalSource {
  constructor(readonly entries: SourceEntry[]) {}

  static of(records: GoalRecord[], invalidLines: number[] = []): ArraySource {
    const entries: SourceEntry[] = [];
    let line = 1;
    for (const record of records) {
      while (invalidLines.includes(line)) {
        entries.push({ line, invalid: { line, reason: 'status: invalid option' } });
        line += 1;
      }
      entries.push({ line, record });
      line += 1;
    }
    return new ArraySource(entries);
  }

  chunk(index = 0, firstLine = 1, lineCount = this.entries.length): ChunkRef {
    return { index, byteStart: 0, byteEnd: 0, firstLine, lineCount };
  }

  async plan(chunkSize: number): Promise<SourcePlan> {
    const chunks: ChunkRef[] = [];
    for (let i = 0; i < this.entries.length; i += chunkSize) {
      chunks.push(this.chunk(chunks.length, i + 1, Math.min(chunkSize, this.entries.length - i)));
    }
    const invalid = this.entries.flatMap((e) => ('invalid' in e ? [e.invalid] : []));
    return {
      totalRecords: this.entries.length,
      validRecords: this.entries.length - invalid.length,
      invalid,
      chunks,
      bytes: 0,
    };
  }

  async *readChunk(chunk: ChunkRef): AsyncGenerator<SourceEntry> {
    for (const e of this.entries) {
      if (e.line >= chunk.firstLine && e.line < chunk.firstLine + chunk.lineCount) yield e;
    }
  }
}

export interface FakeCalls {
  /** Finders with a goal name (one goal). */
  findByNaturalKey: number;
  /** Finders for a worker's goals in one plan. */
  findByPerson: number;
  create: number;
  update: number;
}

/** The worker a person number stands for in the fakes: P0001 -> PersonId 1000001, one assignment. */
export function fakeAssignee(personNumber: string): GoalPlanAssignee {
  const n = Number(personNumber.replace(/\D/g, '')) || 0;
  return {
    PersonId: 1_000_000 + n,
    PersonNumber: personNumber,
    AssignmentId: 2_000_000 + n,
    AssignmentNumber: `E${personNumber}`,
  };
}

const EVERYONE = Array.from({ length: 1000 }, (_, n) => fakeAssignee(`P${String(n).padStart(4, '0')}`));

/**
 * An in-memory HCM with hooks for faults. `beforeCreate` may throw (nothing committed); `afterCreate`
 * may throw after the goal is stored (commit-then-drop). Every person is assigned to every plan with
 * one assignment (fakeAssignee) unless `assigneesOf` says otherwise.
 */
export class FakeHcm implements HcmGoals {
  readonly goals: PlanGoal[] = [];
  readonly calls: FakeCalls = { findByNaturalKey: 0, findByPerson: 0, create: 0, update: 0 };
  /** The plan each worker finder asked for. */
  readonly findByPersonPlans: number[] = [];
  /** goalPlanAssignees pages read. */
  assigneeReads = 0;
  /** The plan's assignees; default: P0000-P0999 (the people goal() names), one assignment each. */
  assigneesOf?: (goalPlanId: number) => GoalPlanAssignee[];
  private nextId = 1000;
  beforeCreate?: (payload: GoalPayload, call: number) => void;
  afterCreate?: (goal: PlanGoal, call: number) => void;
  beforeUpdate?: (uniqId: string) => void;
  /** The If-Match of every PATCH, in order (undefined: none sent). */
  readonly ifMatch: Array<string | undefined> = [];
  delayMs = 0;

  private async pause(): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
  }

  async findGoals(goalPlanId: number, query: GoalQuery): Promise<PlanGoal[]> {
    if (query.goalName === undefined) {
      this.calls.findByPerson += 1;
      this.findByPersonPlans.push(goalPlanId);
    } else this.calls.findByNaturalKey += 1;
    await this.pause();
    return this.goals
      .filter(
        (g) =>
          g.ref.goalPlanId === goalPlanId &&
          g.PersonId === query.personId &&
          (query.goalName === undefined || g.GoalName === query.goalName),
      )
      .map((g) => ({ ...g }));
  }

  async listPlanAssignees(
    goalPlanId: number,
    page: PlanGoalsQuery,
    personNumber?: string,
  ): Promise<AssigneesPage> {
    this.assigneeReads += 1;
    const all = (this.assigneesOf?.(goalPlanId) ?? EVERYONE).filter(
      (a) => personNumber === undefined || a.PersonNumber === personNumber,
    );
    const items = all.slice(page.offset, page.offset + page.limit);
    return {
      items,
      read: items.length,
      hasMore: page.offset + items.length < all.length,
      ...(page.totalResults ? { totalResults: all.length } : {}),
    };
  }

  async create(goalPlanId: number, payload: GoalPayload, guard?: WriteGuard): Promise<PlanGoal> {
    this.calls.create += 1;
    await this.pause();
    // Like the real client: the claim is checked right before the request, which is then not sent.
    await guard?.();
    this.beforeCreate?.(payload, this.calls.create);
    const id = this.nextId++;
    const uniqId = `uniq-${id}`;
    const goal: PlanGoal = {
      ...payload,
      GoalId: id,
      ref: { goalPlanId, path: `${hcmResources.planGoals(goalPlanId)}/${uniqId}`, uniqId },
      etag: `"${id}-1"`,
    };
    this.goals.push(goal);
    this.afterCreate?.(goal, this.calls.create);
    return { ...goal };
  }

  async update(
    ref: GoalRef,
    patch: Partial<GoalPayload>,
    etag?: string,
    guard?: WriteGuard,
  ): Promise<PlanGoal> {
    this.calls.update += 1;
    this.ifMatch.push(etag);
    await this.pause();
    await guard?.();
    this.beforeUpdate?.(ref.uniqId);
    const goal = this.goals.find((g) => g.ref.path === ref.path);
    if (!goal) throw new HcmRequestError(404, `no goal ${ref.uniqId}`);
    // Like HCM: If-Match is checked against the goal's ETag when the change is applied.
    if (etag !== undefined && goal.etag !== undefined && etag !== goal.etag)
      throw new HcmRequestError(412, `goal ${ref.uniqId} changed: ETag ${goal.etag}`);
    Object.assign(goal, patch);
    goal.etag = nextEtag(goal);
    return { ...goal };
  }

  totalCalls(): number {
    return this.calls.findByNaturalKey + this.calls.findByPerson + this.calls.create + this.calls.update;
  }

  resetCalls(): void {
    this.calls.findByNaturalKey = 0;
    this.calls.findByPerson = 0;
    this.calls.create = 0;
    this.calls.update = 0;
  }
}

/** The goal's next ETag: its id and a version that grows with every change. */
export function nextEtag(goal: PlanGoal): string {
  const version = Number(/-(\d+)"$/.exec(goal.etag ?? '')?.[1] ?? 0);
  return `"${goal.GoalId}-${version + 1}"`;
}

/** A clock tests can move. */
export class TestClock {
  constructor(public t = Date.parse('2025-06-01T00:00:00Z')) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}
