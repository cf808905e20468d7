import { compareWithHcm } from './bench-source.ts';
import type { ChildRun } from './child.ts';
import { CRASH_EXIT_CODE, type ModeRun, type Step } from './execute.ts';
import type { PeerSnapshot } from './peer-snapshots.ts';

/** One row of bench/results/latest.json (DESIGN.md section 5, exactly these fields). */
export interface BenchRow {
  name: string;
  mode: 'managed' | 'naive';
  goals: number;
  goalsPerSec: number;
  /**
   * goals/s over the physical ceiling: the HCM rate limit (or a smaller pod capacity) at one request
   * per goal written. The headline.
   */
  ceilingRatio: number;
  /**
   * goals/s over the ceiling of the current request pattern (one POST per goal plus one finder per
   * person: rate limit / (1 + persons / valid goals)). Kept beside the physical one, never instead of it.
   */
  formulaCeilingRatio: number;
  hcmRequestsPerGoal: number;
  tokenEndpointCalls: number;
  refreshes: { proactive: number; jit: number; afterUnauthorized: number };
  unauthorized: number;
  reuseDetected: number;
  grantRevocations: number;
  duplicates: number;
  lost: number;
  /** Peak RSS of the pipeline process alone (the largest of its steps); the simulators run elsewhere. */
  peakRssMb: number;
  /** Peak RSS of the simulators' process (IdP, HCM simulator, dynalite), for scale. */
  simulatorsPeakRssMb: number;
  wallMs: number;
  outcome: string;
  /** Managed runs: the Map branch the state machine took (the last step's report). */
  map?: 'inline' | 'distributed';
  /** What the overlap faults did (scenario `overlap`): from the run reports of the managed steps. */
  overlap?: { lateCommits: number; duplicateInvocations: number; refusedSecondRuns: number };
}

/**
 * The physical ceiling: every HCM request spent on anything but a goal's own write is a goal not
 * written, so the rate limit at one request per goal is what no request pattern can beat.
 */
export function physicalCeilingGoalsPerSec(run: Pick<ModeRun, 'scenario'>): number {
  return Math.min(run.scenario.rateLimit, run.scenario.podCapacity ?? Number.POSITIVE_INFINITY);
}

/**
 * HCM requests per goal of the per-person finder pattern: its POST, plus one existing-goal finder per
 * person in the source, amortized over that person's goals.
 */
export function formulaRequestsPerGoal(run: Pick<ModeRun, 'facts'>): number {
  const valid = run.facts.validKeys.size;
  return valid > 0 ? 1 + run.facts.persons / valid : 1;
}

/** Goals per second the HCM rate limit allows at the per-person finder pattern's cost. */
export function formulaCeilingGoalsPerSec(run: Pick<ModeRun, 'facts' | 'scenario'>): number {
  return physicalCeilingGoalsPerSec(run) / formulaRequestsPerGoal(run);
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Counter deltas between two snapshots of the peers: only what this run did. */
export function peerDelta(from: PeerSnapshot, to: PeerSnapshot) {
  return {
    hcmRequests: to.hcm.requests.total - from.hcm.requests.total,
    creates: to.hcm.creates - from.hcm.creates,
    updates: to.hcm.updates - from.hcm.updates,
    reads: to.hcm.reads - from.hcm.reads,
    unauthorized: to.hcm.unauthorized - from.hcm.unauthorized,
    throttled: to.hcm.throttled - from.hcm.throttled,
    droppedAfterCommit: to.hcm.droppedAfterCommit - from.hcm.droppedAfterCommit,
    tokenAgeRejections: to.hcm.tokenAgeRejections - from.hcm.tokenAgeRejections,
    goalsStored: to.hcm.goalsStored,
    duplicates: to.hcm.duplicates,
    tokenRequests: to.idp.tokenRequests - from.idp.tokenRequests,
    refreshes: to.idp.refreshes - from.idp.refreshes,
    reuseDetections: to.idp.reuseDetections - from.idp.reuseDetections,
    revocations: to.idp.revocations - from.idp.revocations,
    invalidGrant: (to.idp.errors.invalid_grant ?? 0) - (from.idp.errors.invalid_grant ?? 0),
    injectedErrors: to.idp.injectedErrors - from.idp.injectedErrors,
    droppedResponses: to.idp.droppedResponses - from.idp.droppedResponses,
  };
}

/** Time the pipeline spent syncing: the runner's own execution time, or a crashed process's whole life. */
export const syncMs = (child: ChildRun): number => child.report?.durationMs ?? child.wallMs;

function describeStep(step: Step, run: ModeRun): string {
  const c = step.child;
  if (c.exitCode === CRASH_EXIT_CODE) return `crashed after ${run.crashAfter ?? '?'} committed`;
  if (!c.report) return `exit ${c.exitCode ?? c.signal} without a report`;
  const failed = c.report.goals.failed;
  const map = c.report.map ? `, ${c.report.map} Map` : '';
  return `${c.report.status}${failed > 0 ? ` (${failed} failed)` : ''}${map}`;
}

/** e.g. "needs_reauth -> re-connected, resumed: completed", "crashed after 1485 committed -> restarted from zero: completed". */
export function describeOutcome(run: ModeRun): string {
  return run.steps
    .map((step) => {
      const what = describeStep(step, run);
      if (step.kind === 'resume') return `resumed: ${what}`;
      if (step.kind === 'restart') return `restarted from zero: ${what}`;
      return what;
    })
    .join(' -> ');
}

export function toRow(run: ModeRun): BenchRow {
  const end = run.steps.at(-1)?.after ?? run.start;
  const d = peerDelta(run.start, end);
  const valid = run.facts.validKeys.size;
  const { lost, present } = compareWithHcm(run.facts, run.goals);
  const seconds = run.steps.reduce((ms, s) => ms + syncMs(s.child), 0) / 1000;
  const goalsPerSec = seconds > 0 ? present / seconds : 0;
  const refreshes = { proactive: 0, jit: 0, afterUnauthorized: 0 };
  for (const s of run.steps) {
    const t = s.child.report?.tokens;
    if (!t) continue;
    refreshes.proactive += t.proactive;
    refreshes.jit += t.jit;
    refreshes.afterUnauthorized += t.afterUnauthorized;
  }
  const rss = run.steps.map((s) => s.child.maxRssKb ?? 0);
  const map = run.steps.findLast((s) => s.child.report?.map)?.child.report?.map;
  const overlaps = run.steps.flatMap((s) => (s.child.report?.overlap ? [s.child.report.overlap] : []));
  const overlap =
    overlaps.length === 0
      ? undefined
      : {
          lateCommits: overlaps.reduce((n, o) => n + o.lateCommits, 0),
          duplicateInvocations: overlaps.reduce((n, o) => n + o.duplicateInvocations, 0),
          refusedSecondRuns: overlaps.reduce(
            (n, o) => n + o.secondRuns.filter((r) => r.outcome === 'refused').length,
            0,
          ),
        };
  return {
    name: run.scenario.name,
    mode: run.mode,
    goals: run.facts.records,
    goalsPerSec: round(goalsPerSec, 1),
    ceilingRatio: round(goalsPerSec / physicalCeilingGoalsPerSec(run), 3),
    formulaCeilingRatio: round(goalsPerSec / formulaCeilingGoalsPerSec(run), 3),
    hcmRequestsPerGoal: round(valid > 0 ? d.hcmRequests / valid : 0, 3),
    tokenEndpointCalls: d.tokenRequests,
    refreshes,
    unauthorized: d.unauthorized,
    reuseDetected: d.reuseDetections,
    grantRevocations: d.revocations,
    duplicates: d.duplicates,
    lost,
    peakRssMb: round(Math.max(0, ...rss) / 1024, 0),
    simulatorsPeakRssMb: run.peersPeakRssMb,
    wallMs: Math.round(run.steps.reduce((ms, s) => ms + s.child.wallMs, 0)),
    outcome: describeOutcome(run),
    ...(map ? { map } : {}),
    ...(overlap ? { overlap } : {}),
  };
}
