import fc from 'fast-check';
import type {
  AssigneesPage,
  GoalPayload,
  GoalPlanAssignee,
  GoalQuery,
  GoalRef,
  HcmGoals,
  PlanGoal,
  PlanGoalsPage,
  PlanGoalsQuery,
  WriteGuard,
} from '#core/hcm/index.ts';
import { hcmResources, tokenThenGuard } from '#core/hcm/index.ts';
import { AmbiguousWriteError, HcmRequestError, TransientError } from '../../../lambdas/core/errors.ts';
import { type Actor, cycle, type World } from './world.ts';

/**
 * What one HCM request meets. ok: answered. late: the gateway answers 504, Oracle commits the write
 * `lateMs` after it was sent, which may be long past the visibility wait (issue 25: nothing bounds it).
 * dropped: committed, the answer lost. slow: longer than the client's timeout (it gives up; the write
 * still commits on Oracle's side). noToken: the token cannot be had for a write, so nothing is sent.
 */
export interface HcmCall {
  kind: 'ok' | 'late' | 'dropped' | 'slow' | 'noToken';
  latencyMs: number;
  lateMs: number;
}

export const hcmCallArb: fc.Arbitrary<HcmCall> = fc.record({
  kind: fc.constantFrom<HcmCall['kind']>('ok', 'ok', 'ok', 'late', 'dropped', 'slow', 'noToken'),
  latencyMs: fc.constantFrom(20, 300, 3_000),
  lateMs: fc.constantFrom(50, 20_000, 65_000, 180_000),
});

/** The latest a late write of the model commits after it was sent. */
export const LATEST_COMMIT_MS = 180_000;

/**
 * Oracle HCM's goals, as the write protocol sees them: finders read what has committed, a POST creates a
 * goal (no uniqueness check: two POSTs make two goals, which is the bug the protocol prevents), a PATCH
 * changes one when its If-Match still names the goal's ETag at the moment it commits (412 otherwise).
 * No bound on when a write Oracle took on commits: the protocol may not rest on its visibility wait.
 */
/** The model's workers: P1-P9, each with one assignment on every plan. */
const ASSIGNEES: GoalPlanAssignee[] = Array.from({ length: 9 }, (_, i) => ({
  PersonId: 101 + i,
  PersonNumber: `P${i + 1}`,
  AssignmentId: 201 + i,
  AssignmentNumber: `E${i + 1}`,
}));

export function personNumberOf(personId: number | undefined): string {
  return ASSIGNEES.find((a) => a.PersonId === personId)?.PersonNumber ?? '?';
}

export class HcmModel {
  readonly goals = new Map<number, PlanGoal>();
  private nextId = 1;
  private versions = 0;
  posts = 0;
  /** Whether the plan listing honours keyset paging (`q=GoalId>after`); a pod without it answers by offset. */
  keyset = false;
  /** POSTs that left, per goal name (the token was had and the claim renewed). */
  readonly postsSent = new Map<string, number>();
  /** Goal names whose POST's claim check ran and then the token was refused: nothing left. */
  readonly markedUnsent = new Set<string>();

  constructor(
    private readonly world: World,
    private readonly timing: { requestTimeoutMs: number; visibilityMs: number },
  ) {}

  /** Goals per natural key (more than one is a duplicate). */
  countsByKey(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const g of this.goals.values()) {
      const k = `${personNumberOf(g.PersonId)}|${g.ref.goalPlanId}|${g.GoalName}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    return counts;
  }

  port(actor: Actor, plan: readonly HcmCall[] = []): HcmGoals {
    let calls = 0;
    const next = () => cycle(plan, calls++, { kind: 'ok', latencyMs: 20, lateMs: 50 } as HcmCall);
    const read = <T>(label: string, effect: () => T): Promise<T> => {
      const c = next();
      return this.world.step(actor, `HCM GET ${label}`, c.kind === 'slow' ? 1_000 : c.latencyMs, effect);
    };
    const write = async (
      label: string,
      guard: WriteGuard | undefined,
      apply: () => PlanGoal,
      onSent: () => void = () => {},
      onMarkedUnsent: () => void = () => {},
    ): Promise<PlanGoal> => {
      const c = next();
      // The client's order (write-order.ts): the token, then the claim check, then the send.
      let checked = false;
      await tokenThenGuard(
        () =>
          c.kind === 'noToken'
            ? this.world.step(actor, `token for ${label} [refused]`, 20, () => {
                if (checked) onMarkedUnsent();
                throw new TransientError('token broker unavailable');
              })
            : Promise.resolve(),
        guard &&
          (async () => {
            checked = true;
            await guard();
          }),
      );
      onSent();
      const sent = this.world.now;
      let committed: PlanGoal | undefined;
      const commit = () => {
        committed ??= apply();
        return committed;
      };
      // Oracle's side: a write it took on commits by its deadline, whatever the client does meanwhile.
      const latency = c.kind === 'slow' ? this.timing.requestTimeoutMs * 2 : c.latencyMs;
      this.world.deadline(sent + (c.kind === 'late' ? c.lateMs : latency), () => {
        try {
          commit();
        } catch {
          // A PATCH of a goal deleted meanwhile: nothing commits.
        }
      });
      try {
        return await this.world.step(
          actor,
          `HCM ${label} [${c.kind}]`,
          latency,
          () => {
            if (c.kind === 'ok') return commit();
            if (c.kind === 'dropped') commit();
            throw new AmbiguousWriteError(
              `HCM ${label}`,
              c.kind === 'late' ? 'HTTP 504' : 'connection reset',
            );
          },
          this.world.timeout(this.timing.requestTimeoutMs),
        );
      } catch (err) {
        if (err instanceof Error && err.name === 'TimeoutError')
          throw new AmbiguousWriteError(`HCM ${label}`, 'timed out', { cause: err });
        throw err;
      }
    };
    return {
      // Finders on the plan's child collection: the worker's goals, or the one with the name.
      findGoals: (goalPlanId: number, query: GoalQuery) =>
        read(`plan ${goalPlanId} person ${query.personId} ${query.goalName ?? '*'}`, () =>
          [...this.goals.values()]
            .filter(
              (g) =>
                g.ref.goalPlanId === goalPlanId &&
                g.PersonId === query.personId &&
                (query.goalName === undefined || g.GoalName === query.goalName),
            )
            .map((g) => ({ ...g })),
        ),
      listPlanAssignees: (
        goalPlanId: number,
        page: PlanGoalsQuery,
        personNumber?: string,
      ): Promise<AssigneesPage> =>
        read(`assignees ${goalPlanId} ${personNumber ?? '*'}`, () => {
          const all = ASSIGNEES.filter((a) => personNumber === undefined || a.PersonNumber === personNumber);
          const items = all.slice(page.offset, page.offset + page.limit);
          return { items, read: items.length, hasMore: page.offset + items.length < all.length };
        }),
      // The plan's child collection, ordered by GoalId; like every read it sees only committed goals, so
      // a late commit after the listing is missing from it (what the plan-time index must survive).
      listPlanGoals: (goalPlanId: number, page: PlanGoalsQuery): Promise<PlanGoalsPage> =>
        read(`plan ${goalPlanId} @${page.offset}`, () => {
          const all = [...this.goals.values()]
            .filter((g) => g.ref.goalPlanId === goalPlanId)
            .sort((a, b) => a.GoalId - b.GoalId);
          const after = page.keyset?.after;
          const from =
            this.keyset && page.keyset ? all.filter((g) => after === undefined || g.GoalId > after) : all;
          const start = this.keyset && page.keyset ? 0 : page.offset;
          const items = from.slice(start, start + page.limit).map((g) => ({ ...g }));
          return {
            items,
            hasMore: start + items.length < from.length,
            ...(page.totalResults ? { totalResults: all.length } : {}),
          };
        }),
      create: (goalPlanId: number, payload: GoalPayload, guard?: WriteGuard) => {
        this.posts += 1;
        return write(
          `POST ${payload.GoalName}`,
          guard,
          () => this.insert(goalPlanId, payload),
          () => this.postsSent.set(payload.GoalName, (this.postsSent.get(payload.GoalName) ?? 0) + 1),
          () => this.markedUnsent.add(payload.GoalName),
        );
      },
      // By the self link's path, as the client sends it; If-Match is judged when the change commits.
      update: (ref: GoalRef, patch: Partial<GoalPayload>, etag?: string, guard?: WriteGuard) =>
        write(`PATCH ${ref.uniqId}${etag ? ` if ${etag}` : ''}`, guard, () => {
          const goal = [...this.goals.values()].find((g) => g.ref.path === ref.path);
          if (!goal) throw new HcmRequestError(404, 'goal not found');
          if (etag !== undefined && etag !== goal.etag) throw new HcmRequestError(412, 'goal changed');
          Object.assign(goal, patch, { etag: `"${goal.GoalId}-${++this.versions}"` });
          return { ...goal };
        }),
    };
  }

  /** A goal a person made in HCM (no ledger entry of ours), committed at once. */
  seed(goalPlanId: number, payload: GoalPayload): PlanGoal {
    return this.insert(goalPlanId, payload);
  }

  private insert(goalPlanId: number, payload: GoalPayload): PlanGoal {
    const id = this.nextId++;
    const uniqId = `uniq-${id}`;
    const goal: PlanGoal = {
      ...payload,
      GoalId: id,
      ref: { goalPlanId, path: `${hcmResources.planGoals(goalPlanId)}/${uniqId}`, uniqId },
      etag: `"${id}-${++this.versions}"`,
    };
    this.goals.set(id, goal);
    return { ...goal };
  }
}
