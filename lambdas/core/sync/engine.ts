import type { ChunkStore, RecordState, RecordStore, RunFence } from '#core/checkpoint/index.ts';
import {
  committedIds,
  type DoneAction,
  GoalLedger,
  type HcmIds,
  needsReconcile,
  type VerifyFinding,
  WRITE_TIMING_DEFAULTS,
  type WriteTiming,
} from '#core/checkpoint/index.ts';
import type { GoalMapping, HcmGoals } from '#core/hcm/index.ts';
import { contentHash, DEFAULT_GOAL_MAPPING, diffGoal, mapGoal } from '#core/hcm/index.ts';
import type { ChunkRef, GoalRecord, GoalSource } from '#core/source/index.ts';
import { ConnectionRecoveringError, ReauthRequiredError } from '../errors.ts';
import { type Clock, systemClock } from '../ports.ts';
import { type ChunkCounts, emptyCounts, type Settled, settledOf, tally, tallyVerify } from './counts.ts';
import type { GoalSnapshot } from './goal-snapshot.ts';
import { countingHcm, ExistingGoals } from './hcm-access.ts';
import { AssigneeCache } from './plan-directory.ts';
import { runPool, TimeBudget } from './pool.ts';
import { findTwins, TWINS_KEPT_PER_CHUNK } from './twins.ts';
import { type RecordOutcome, syncRecord, type VerifyHint } from './write-goal.ts';

export interface ChunkJob {
  runId: string;
  connectionId: string;
  /** Run attempt (from plan-sync): records that failed in an earlier attempt are retried. */
  attempt: number;
  chunk: ChunkRef;
  /** The run generation plan-sync's take of the run lease got (invariant 10); absent: not fenced. */
  generation?: number;
}

export interface EngineDeps {
  source: GoalSource;
  hcm: HcmGoals;
  records: RecordStore;
  /** Claims and commits (invariant 7); built from `records`' table when left out. */
  ledger?: GoalLedger;
  /** The run lease's fence for this job's run and generation: checked before every claim and write. */
  fence?: RunFence;
  /** Receives the chunk's snapshot for finish-sync's aggregation; optional for callers that only count. */
  chunks?: ChunkStore;
  /** Unique per invocation: the claim owner. */
  workerId: string;
  /** Lambda's context.getRemainingTimeInMillis. */
  remainingTimeMs: () => number;
  clock?: Clock;
  /**
   * The chunk's slice of the plan-wide read (goal-index.ts): existing goals are looked up in it
   * instead of sent finders for; with `verify`, committed goals are checked against it too.
   */
  snapshot?: GoalSnapshot;
}

export interface EngineOptions {
  /** Records in flight at once inside the chunk (default 8); more when the HCM client's demand is higher. */
  concurrency?: number;
  /** Stop taking records when less time than this remains (default 20 s; grows to 3 x p99 record time). */
  minTimeMarginMs?: number;
  /** Claim TTL, request timeout, visibility wait after an unclear write (goal-ledger.ts). */
  timing?: Partial<WriteTiming>;
  /** Writes in a row with an unknown outcome before a record is failed for this attempt (default 5). */
  maxUnclearWrites?: number;
  /** The tenant's status / category / percent codes (default DEFAULT_GOAL_MAPPING). */
  mapping?: GoalMapping;
}

export const ENGINE_DEFAULTS = {
  concurrency: 8,
  minTimeMarginMs: 20_000,
  maxUnclearWrites: 5,
} as const;

export interface ChunkResult {
  index: number;
  /** `deferred`: not processed, the execution's REST deadline had passed (sync-chunk; continuation.ts). */
  status: 'complete' | 'partial' | 'deferred';
  counts: ChunkCounts;
  /** For a partial caused by another worker's claim or an unclear write: seconds to wait before the next pass. */
  waitSeconds: number;
  /** Goals whose person or plan changed: a new goal was written, the old one left in HCM. */
  replaced?: Array<{ externalKey: string; previous: HcmIds }>;
}

type Planned =
  | { kind: 'settled'; outcome: RecordOutcome }
  | { kind: 'unchanged'; record: GoalRecord; hash: string; ids: HcmIds }
  | { kind: 'committed'; record: GoalRecord; hash: string; ids: HcmIds; action: DoneAction }
  | { kind: 'work'; record: GoalRecord; hash: string; state: RecordState; verify?: VerifyHint };

/**
 * A verify pass: is the goal the ledger calls written still in the listing, with this content? Only
 * for commits older than the listing (a newer one is newer evidence). Undefined: nothing to repair.
 */
function verifyFinding(
  record: GoalRecord,
  ids: { hcmGoalId: number },
  syncedAt: string | undefined,
  snapshot: GoalSnapshot | undefined,
  mapping: GoalMapping,
): VerifyHint | undefined {
  if (!snapshot?.verify) return undefined;
  if (syncedAt !== undefined && Date.parse(syncedAt) >= snapshot.readAt) return undefined;
  const mapped = mapGoal(record, mapping);
  if (!mapped.ok) return undefined;
  // The slice holds the goals whose natural key a record of the chunk has: one renamed by hand is
  // not in it (missing), and is corrected through its ledger link.
  const found = snapshot.goal(ids.hcmGoalId);
  const listed =
    found && found.personNumber === record.personNumber && found.ref.goalPlanId === record.goalPlanId
      ? found
      : undefined;
  if (listed && diffGoal(listed, mapped.payload) === null) return undefined;
  return listed ? { listed, readAt: snapshot.readAt } : { readAt: snapshot.readAt };
}

/** Decides from the checkpoint state alone what a record needs; only `work` touches HCM. */
function classify(
  record: GoalRecord,
  hash: string,
  state: RecordState,
  job: ChunkJob,
  mapping: GoalMapping,
  snapshot?: GoalSnapshot,
): Planned {
  const rec = state.record;
  const finding = rec?.verifyFinding ? { finding: rec.verifyFinding } : {};
  if (rec?.status === 'done')
    return { kind: 'settled', outcome: { kind: 'alreadyDone', action: rec.action, ...finding } };
  const ledger = state.ledger;
  const ids = committedIds(ledger);
  // The ledger holds what HCM got last time: same hash means same content, no HCM call needed.
  if (ids && ledger?.contentHash === hash && !needsReconcile(ledger)) {
    const verify = verifyFinding(record, ids, ledger.syncedAt, snapshot, mapping);
    if (verify) return { kind: 'work', record, hash, state, verify };
    // This run wrote it and stopped before marking the record: settle it as what it was.
    if (ledger.lastRunId === job.runId && ledger.lastAction)
      return { kind: 'committed', record, hash, ids, action: ledger.lastAction };
    return { kind: 'unchanged', record, hash, ids };
  }
  if (rec?.status === 'failed' && rec.runAttempt >= job.attempt) {
    return { kind: 'settled', outcome: { kind: 'failed', reason: rec.reason ?? 'failed', ...finding } };
  }
  // A later attempt (a resume) or the next run looks again; this attempt has said what it can.
  if (rec?.status === 'unsettled' && rec.runAttempt >= job.attempt) {
    return { kind: 'settled', outcome: { kind: 'unsettled', reason: rec.reason ?? 'unsettled', ...finding } };
  }
  return { kind: 'work', record, hash, state };
}

/**
 * One pass over one chunk (invariants 7-9). Safe to repeat any number of times: done records are
 * skipped, pending ones reconciled. Returns `partial` when time ran short or another worker holds a
 * claim; throws ReauthRequiredError / TransientError after letting in-flight records settle.
 */
export async function processChunk(
  job: ChunkJob,
  deps: EngineDeps,
  options: EngineOptions = {},
): Promise<ChunkResult> {
  const opts = { ...ENGINE_DEFAULTS, ...options };
  const mapping = opts.mapping ?? DEFAULT_GOAL_MAPPING;
  const clock = deps.clock ?? systemClock;
  const counts = emptyCounts();
  const valid: Array<{ record: GoalRecord; hash: string }> = [];
  for await (const entry of deps.source.readChunk(job.chunk)) {
    if ('record' in entry) valid.push({ record: entry.record, hash: contentHash(entry.record, mapping) });
    else counts.invalid += 1;
  }
  const states = await deps.records.loadStates(valid.map((v) => v.record.externalKey));
  // Goals of one key that two POSTs of ours made (a first one committed past the settle horizon).
  const twins = findTwins(
    valid.map((v) => v.record),
    (k) => states.get(k)?.ledger,
    deps.snapshot,
  );
  const planned = valid.map((v) =>
    classify(v.record, v.hash, states.get(v.record.externalKey) ?? {}, job, mapping, deps.snapshot),
  );

  const finalActions: Settled[] = [];
  const unchanged = planned.filter((p) => p.kind === 'unchanged');
  if (unchanged.length > 0) {
    await deps.records.markUnchanged(
      unchanged.map((u) => ({
        externalKey: u.record.externalKey,
        contentHash: u.hash,
        chunkIndex: job.chunk.index,
        runAttempt: job.attempt,
        ids: u.ids,
      })),
    );
    counts.unchanged += unchanged.length;
    finalActions.push(...unchanged.map(() => ({ action: 'unchanged' as const })));
  }
  for (const p of planned) {
    if (p.kind !== 'committed') continue;
    await deps.records.complete(p.record.externalKey, {
      contentHash: p.hash,
      chunkIndex: job.chunk.index,
      runAttempt: job.attempt,
      action: p.action,
      ids: p.ids,
    });
    counts.alreadyDone += 1;
    finalActions.push({ action: p.action });
  }
  for (const p of planned) {
    if (p.kind !== 'settled') continue;
    if (p.outcome.kind === 'failed') counts.alreadyFailed += 1;
    else tally(counts, p.outcome);
    if (p.outcome.kind !== 'waiting') finalActions.push(settledOf(p.outcome));
  }

  const work = planned.filter((p) => p.kind === 'work');
  const hcmCalls = { calls: 0 };
  // Bound to this invocation's clock: a throttled request is retried only while time is left.
  const hcm = countingHcm(deps.hcm.withTimeBudget?.(deps.remainingTimeMs) ?? deps.hcm, hcmCalls);
  const assignees = new AssigneeCache(
    (planId, page, person) => hcm.listPlanAssignees(planId, page, person),
    undefined,
    deps.snapshot,
  );
  const existing = new ExistingGoals(hcm, assignees, deps.snapshot);
  existing.expect(work.filter((w) => !committedIds(w.state.ledger)).map((w) => w.record));
  const budget = new TimeBudget(deps.remainingTimeMs, opts.minTimeMarginMs);
  let abort: unknown;
  let waitUntil = 0;
  // The connection is in a needs_reauth the broker clears by itself: start nothing more, come back then.
  let recoveringUntil = 0;
  const replaced: NonNullable<ChunkResult['replaced']> = [];
  const ledger =
    deps.ledger ??
    new GoalLedger(
      deps.records.doc,
      deps.records.table,
      {
        runId: job.runId,
        connectionId: job.connectionId,
        ...(job.generation !== undefined ? { generation: job.generation } : {}),
      },
      { ...WRITE_TIMING_DEFAULTS, ...opts.timing },
      { clock, ...(deps.fence ? { fence: deps.fence } : {}) },
    );
  const ctx = {
    hcm,
    records: deps.records,
    ledger,
    existing,
    owner: deps.workerId,
    runId: job.runId,
    runAttempt: job.attempt,
    chunkIndex: job.chunk.index,
    maxUnclearWrites: opts.maxUnclearWrites,
    clock,
    mapping,
  };
  // Records in flight: the configured number, or more when the HCM client needs more requests in
  // flight to use its rate at the latency it sees (a slow pod: ~600 ms answers need ~30 at 50 req/s).
  const inFlight = () => Math.max(opts.concurrency, deps.hcm.inFlightDemand?.() ?? 0);
  const { started } = await runPool(
    work,
    inFlight,
    () => abort === undefined && recoveringUntil === 0 && budget.canStart(),
    async (item) => {
      const t0 = clock.now();
      try {
        const outcome = await syncRecord(ctx, item.record, item.hash, item.verify);
        tally(counts, outcome);
        tallyVerify(counts, outcome);
        if (outcome.kind === 'waiting') waitUntil = Math.max(waitUntil, outcome.until);
        else finalActions.push(settledOf(outcome));
        if (outcome.kind === 'done' && outcome.replaced) {
          replaced.push({ externalKey: item.record.externalKey, previous: outcome.replaced });
        }
      } catch (err) {
        counts.remaining += 1;
        if (err instanceof ConnectionRecoveringError) {
          recoveringUntil = Math.max(recoveringUntil, err.retryAt);
          return;
        }
        // Re-auth outranks other errors: it is the one the state machine has a dedicated path for.
        if (
          abort === undefined ||
          (err instanceof ReauthRequiredError && !(abort instanceof ReauthRequiredError))
        ) {
          abort = err;
        }
      } finally {
        budget.observe(clock.now() - t0);
      }
    },
  );
  counts.remaining += work.length - started;
  counts.hcmRequests = hcmCalls.calls;
  const status = counts.remaining === 0 ? 'complete' : 'partial';

  if (deps.chunks) {
    const tallyOf = (a: DoneAction | 'failed' | 'unsettled') =>
      finalActions.filter((x) => x.action === a).length;
    const settled = finalActions.length;
    const found = (f: VerifyFinding) => finalActions.filter((x) => x.finding === f).length;
    await deps.chunks.saveChunkSummary(job.runId, {
      index: job.chunk.index,
      attempt: job.attempt,
      status,
      records: valid.length + counts.invalid,
      invalid: counts.invalid,
      created: tallyOf('created'),
      updated: tallyOf('updated'),
      unchanged: tallyOf('unchanged'),
      reconciled: tallyOf('reconciled'),
      failed: tallyOf('failed'),
      unsettled: tallyOf('unsettled'),
      settled,
      ...(twins.length > 0 ? { twins: twins.length, twinList: twins.slice(0, TWINS_KEPT_PER_CHUNK) } : {}),
      ...(deps.snapshot?.verify
        ? {
            verifyMissing: found('missing'),
            verifyDrifted: found('drifted'),
            verifyRepaired: finalActions.filter(
              (x) => x.finding && x.action !== 'failed' && x.action !== 'unsettled',
            ).length,
          }
        : {}),
    });
  }
  if (abort !== undefined) throw abort;
  // Out of time: loop back at once (a fresh invocation has a fresh budget). Another worker's claim or
  // an unclear write: wait until it expires or would be visible (1-60 s) rather than spinning on it.
  waitUntil = Math.max(waitUntil, recoveringUntil);
  const waitSeconds =
    waitUntil > 0 ? Math.min(60, Math.max(1, Math.ceil((waitUntil - clock.now()) / 1000))) : 0;
  return {
    index: job.chunk.index,
    status,
    counts,
    waitSeconds,
    ...(replaced.length > 0 ? { replaced } : {}),
  };
}
