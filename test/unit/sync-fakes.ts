import type { HcmGoal, HcmGoalPayload, HcmGoals, NaturalKey, WriteGuard } from '#core/hcm/index.ts';
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
  findByNaturalKey: number;
  findByPerson: number;
  create: number;
  update: number;
}

/**
 * An in-memory HCM with hooks for faults. `beforeCreate` may throw (nothing committed); `afterCreate`
 * may throw after the goal is stored (commit-then-drop).
 */
export class FakeHcm implements HcmGoals {
  readonly goals: HcmGoal[] = [];
  readonly calls: FakeCalls = { findByNaturalKey: 0, findByPerson: 0, create: 0, update: 0 };
  /** The plan each findByPerson asked for (undefined: every plan of the person). */
  readonly findByPersonPlans: Array<number | undefined> = [];
  private nextId = 1000;
  beforeCreate?: (payload: HcmGoalPayload, call: number) => void;
  afterCreate?: (goal: HcmGoal, call: number) => void;
  beforeUpdate?: (uniqId: string) => void;
  delayMs = 0;

  private async pause(): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
  }

  async findByNaturalKey(k: NaturalKey): Promise<HcmGoal[]> {
    this.calls.findByNaturalKey += 1;
    await this.pause();
    return this.goals
      .filter(
        (g) =>
          g.PersonNumber === k.personNumber && g.GoalPlanId === k.goalPlanId && g.GoalName === k.goalName,
      )
      .map((g) => ({ ...g }));
  }

  async findByPerson(personNumber: string, goalPlanId?: number): Promise<HcmGoal[]> {
    this.calls.findByPerson += 1;
    this.findByPersonPlans.push(goalPlanId);
    await this.pause();
    return this.goals
      .filter(
        (g) => g.PersonNumber === personNumber && (goalPlanId === undefined || g.GoalPlanId === goalPlanId),
      )
      .map((g) => ({ ...g }));
  }

  async create(goalPlanId: number, payload: HcmGoalPayload, guard?: WriteGuard): Promise<HcmGoal> {
    this.calls.create += 1;
    await this.pause();
    // Like the real client: the claim is checked right before the request, which is then not sent.
    await guard?.();
    this.beforeCreate?.(payload, this.calls.create);
    const id = this.nextId++;
    const goal: HcmGoal = {
      ...payload,
      performanceGoalsUniqID: `uniq-${id}`,
      GoalId: id,
      GoalPlanGoalId: id + 1,
      GoalPlanId: goalPlanId,
      PersonId: 1,
      PersonNumber: payload.PersonNumber ?? '',
      AssignmentId: 1,
      StatusMeaning: payload.StatusCode,
      CreationDate: '2025-01-01',
      LastUpdateDate: '2025-01-01',
    };
    this.goals.push(goal);
    this.afterCreate?.(goal, this.calls.create);
    return { ...goal };
  }

  async update(
    goalPlanId: number,
    uniqId: string,
    patch: Partial<HcmGoalPayload>,
    _etag?: string,
    guard?: WriteGuard,
  ): Promise<HcmGoal> {
    this.calls.update += 1;
    await this.pause();
    await guard?.();
    this.beforeUpdate?.(uniqId);
    const goal = this.goals.find((g) => g.performanceGoalsUniqID === uniqId && g.GoalPlanId === goalPlanId);
    if (!goal) throw new HcmRequestError(404, `no goal ${uniqId}`);
    Object.assign(goal, patch);
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

/** A clock tests can move. */
export class TestClock {
  constructor(public t = Date.parse('2025-06-01T00:00:00Z')) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}
