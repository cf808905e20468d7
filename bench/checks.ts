import { PLAN_DEFAULTS } from '#core/sync/index.ts';
import type { ModeRun } from './execute.ts';
import {
  type BenchRow,
  formulaCeilingGoalsPerSec,
  peerDelta,
  physicalCeilingGoalsPerSec,
} from './row-metrics.ts';
import { SCENARIOS, scenarioId } from './scenarios.ts';

/** A claim of issue 7 checked against one run: pass/fail, or `info` for numbers with no threshold. */
export interface Check {
  scenario: string;
  mode: 'managed' | 'naive';
  claim: string;
  verdict: 'pass' | 'fail' | 'info';
  detail: string;
}

/** Issue 15's targets, all against the physical ceiling (rate limit / 1 request per goal). */
export const BASELINE_MIN_CEILING_RATIO = 0.9;
export const BASELINE_MAX_REQUESTS_PER_GOAL = 1.02;
export const REALISTIC_LATENCY_MIN_CEILING_RATIO = 0.85;
/** Issue 23: a pod of a given capacity is never sent more than this multiple of it in a sliding second ... */
export const POD_OVERLOAD_MAX_PEAK_RATIO = 1.2;
/** ... and still gets this share of what its capacity allows (one request per goal). */
export const POD_OVERLOAD_MIN_CEILING_RATIO = 0.85;
/** Issue 24's target for the HDL rows: the plans' reads and the data sets' calls, not one request per goal. */
export const HDL_MAX_REQUESTS_PER_GOAL = 0.01;
/** A failed HDL line's reason: the data set, the component and line, Oracle's message (hdl-outcomes.ts). */
const HDL_FAILED_LINE = /^HDL data set \d+: \S+ \(line \d+\): .+/;
/** Peak RSS of the pipeline process at the biggest scale row over the smallest. */
export const SCALE_MAX_RSS_GROWTH = 1.5;

const verdict = (ok: boolean): Check['verdict'] => (ok ? 'pass' : 'fail');

/**
 * The most token calls a run may make with one refresh per token lifetime (single flight): the first
 * token plus one per shortest legitimate refresh period. A token counts as stale 25% of its lifetime
 * early (buffer 120 s, capped at TTL/4), the proactive refresh fires up to 30% of the lifetime before
 * that, and JWT iat/exp are whole seconds (a token can look up to 1 s older on arrival):
 * period >= TTL x (1 - 0.25 - 0.30) - 1 s. A herd would instead cost one call per worker per window.
 */
export function maxTokenCalls(ttlSeconds: number, elapsedMs: number): number {
  const period = Math.max(0.5, ttlSeconds * (1 - 0.25 - 0.3) - 1);
  return 1 + Math.ceil(elapsedMs / 1000 / period);
}

/** Nominal token lifetimes a run spans (refresh every 0.75 x TTL), for the herd comparison. */
export function expiryWindows(ttlSeconds: number, elapsedMs: number): number {
  return 1 + Math.floor(elapsedMs / 1000 / (ttlSeconds * 0.75));
}

function invariants(run: ModeRun, row: BenchRow): Check[] {
  const id = scenarioId(run.scenario);
  const mk = (claim: string, ok: boolean, detail: string): Check => ({
    scenario: id,
    mode: 'managed',
    claim,
    verdict: verdict(ok),
    detail,
  });
  const last = run.steps.at(-1)?.child.report;
  // Under hdl.lineErrorRate a failed line is a reported record error, not a lost goal (HDL's contract).
  const failed = run.scenario.name === 'hdl-faults' ? (last?.failedRecords.length ?? 0) : 0;
  return [
    mk('zero duplicates in HCM', row.duplicates === 0, `${row.duplicates} duplicate goals`),
    failed > 0
      ? mk(
          'zero records lost (every goal missing from HCM is a reported failed line)',
          row.lost === failed,
          `${row.lost} valid source goals missing from HCM, ${failed} failed lines reported`,
        )
      : mk('zero records lost', row.lost === 0, `${row.lost} valid source goals missing from HCM`),
    mk('zero refresh-token reuse detections', row.reuseDetected === 0, `${row.reuseDetected} at the IdP`),
    failed > 0
      ? mk(
          'run ends completed, with the failed lines as record errors',
          last?.status === 'completed_with_failures',
          row.outcome,
        )
      : mk('run ends completed', last?.status === 'completed', row.outcome),
  ];
}

function specific(run: ModeRun, row: BenchRow): Check[] {
  const id = scenarioId(run.scenario);
  const mk = (claim: string, v: Check['verdict'], detail: string): Check => ({
    scenario: id,
    mode: 'managed',
    claim,
    verdict: v,
    detail,
  });
  const first = run.steps[0]!;
  const firstDelta = peerDelta(run.start, first.after);
  const total = peerDelta(run.start, run.steps.at(-1)!.after);
  switch (run.scenario.name) {
    case 'baseline': {
      return [
        ceilingCheck(run, row, BASELINE_MIN_CEILING_RATIO, total.throttled),
        mk(
          `HCM requests per goal <= ${BASELINE_MAX_REQUESTS_PER_GOAL} on a first sync`,
          verdict(row.hcmRequestsPerGoal <= BASELINE_MAX_REQUESTS_PER_GOAL),
          `${total.hcmRequests} requests for ${run.facts.validKeys.size} valid goals = ${row.hcmRequestsPerGoal}`,
        ),
      ];
    }
    case 'realistic-latency':
      return [ceilingCheck(run, row, REALISTIC_LATENCY_MIN_CEILING_RATIO, total.throttled)];
    case 'pod-overload': {
      const pod = run.steps.at(-1)!.after.hcm.pod;
      const capacity = run.scenario.podCapacity ?? 0;
      const bound = POD_OVERLOAD_MAX_PEAK_RATIO * capacity;
      return [
        mk(
          `HCM requests in any sliding second <= ${POD_OVERLOAD_MAX_PEAK_RATIO}x the pod's capacity`,
          verdict(pod !== undefined && pod.peakPerSlidingSecond <= bound),
          pod
            ? `peak ${pod.peakPerSlidingSecond} of ${capacity} req/s (bound ${bound}); ${pod.refused} slow 503s, ` +
                `longest queue wait ${Math.round(pod.maxQueueWaitMs)} ms`
            : 'the simulator reported no pod counts',
        ),
        ceilingCheck(run, row, POD_OVERLOAD_MIN_CEILING_RATIO, total.throttled),
      ];
    }
    case 'herd': {
      const ttl = run.scenario.tokenTtlSeconds;
      const windows = expiryWindows(ttl, row.wallMs);
      const bound = maxTokenCalls(ttl, row.wallMs);
      return [
        mk(
          'token endpoint calls = expiry windows (not workers x windows)',
          verdict(row.tokenEndpointCalls <= bound && total.refreshes === row.tokenEndpointCalls),
          `${row.tokenEndpointCalls} calls (all successful rotations: ${total.refreshes}) in ${(row.wallMs / 1000).toFixed(1)} s ` +
            `of ${ttl} s tokens: ~${windows} windows, single-flight bound ${bound}; ` +
            `a herd would be ${run.scenario.concurrency} workers x ${windows} = ${run.scenario.concurrency * windows}`,
        ),
      ];
    }
    case 'early-invalidation':
      return [
        mk(
          'early 401s answered by one refresh per wave',
          verdict(total.tokenAgeRejections > 0 && row.refreshes.afterUnauthorized >= 1),
          `${total.tokenAgeRejections} requests rejected for token age, ${row.refreshes.afterUnauthorized} ` +
            `after-401 refreshes, ${row.tokenEndpointCalls} token calls`,
        ),
      ];
    case 'crash-resume': {
      const afterCrash = first.after.hcm;
      const resumeWrites = total.creates + total.updates - firstDelta.creates - firstDelta.updates;
      const remaining = run.facts.validKeys.size - afterCrash.goalsStored;
      const reconciled = run.steps.slice(1).reduce((n, s) => n + (s.child.report?.goals.reconciled ?? 0), 0);
      return [
        mk(
          'resume writes the remaining goals only',
          verdict(first.child.exitCode === 137 && resumeWrites === remaining),
          `${afterCrash.goalsStored} in HCM at the crash, ${remaining} remaining, resume wrote ${resumeWrites} ` +
            `(${reconciled} pending intents reconciled by lookup)`,
        ),
      ];
    }
    case 'commit-then-drop':
      return [
        mk(
          'lost answers after commit did not cause second creates',
          verdict(total.droppedAfterCommit > 0 && row.duplicates === 0),
          `${total.droppedAfterCommit} answers dropped after commit, ${row.duplicates} duplicates`,
        ),
      ];
    case 'idp-flaky':
      return [
        mk(
          'flaky IdP: completed, or stopped cleanly as needs_reauth and resumed',
          'info',
          `${total.injectedErrors} injected 5xx, ${total.droppedResponses} answers dropped after issue; ${row.outcome}`,
        ),
      ];
    case 'revoked': {
      const events = first.child.report?.events.map((e) => e.type) ?? [];
      return [
        mk(
          'revocation stops the run as needs_reauth within one refresh',
          verdict(first.child.report?.status === 'needs_reauth' && firstDelta.invalidGrant === 1),
          `first run: ${first.child.report?.status}, ${firstDelta.invalidGrant} invalid_grant answer(s) from the IdP`,
        ),
        mk(
          'connection.needs_reauth event emitted',
          verdict(events.includes('connection.needs_reauth')),
          events.join(', ') || 'no events',
        ),
      ];
    }
    case 'hdl': {
      const hdl = run.steps.at(-1)?.child.report?.hdl;
      return [
        mk(
          `HCM requests per goal < ${HDL_MAX_REQUESTS_PER_GOAL} through HDL`,
          verdict(row.hcmRequestsPerGoal < HDL_MAX_REQUESTS_PER_GOAL),
          `${total.hcmRequests} requests for ${run.facts.validKeys.size} valid goals = ${row.hcmRequestsPerGoal}; ` +
            `${hdl?.dataSets ?? 0} data sets, ${hdl?.polls ?? 0} polls, ${hdl?.linesLoaded ?? 0} lines loaded`,
        ),
      ];
    }
    case 'hdl-faults': {
      const report = run.steps.at(-1)?.child.report;
      const failed = report?.failedRecords ?? [];
      const unexplained = failed.filter((f) => !HDL_FAILED_LINE.test(f.reason));
      return [
        mk(
          "every failed line reported with Oracle's message",
          verdict(failed.length > 0 && unexplained.length === 0),
          `${failed.length} failed lines, ${unexplained.length} without a data set message` +
            (failed[0] ? `; e.g. ${failed[0].key}: ${failed[0].reason}` : ''),
        ),
        mk(
          'every valid goal loaded or reported failed (lost answers settled by the data set name)',
          verdict(
            report?.hdl !== undefined &&
              report.hdl.linesLoaded + report.hdl.linesFailed === run.facts.validKeys.size,
          ),
          `${report?.hdl?.linesLoaded ?? 0} loaded + ${report?.hdl?.linesFailed ?? 0} failed of ${run.facts.validKeys.size}; ` +
            `${report?.hdl?.uploads ?? 0} uploads, ${report?.hdl?.submissions ?? 0} submissions, ${report?.hdl?.dataSets ?? 0} data sets`,
        ),
      ];
    }
    default:
      return [];
  }
}

/** goals/s against the physical ceiling (the check), with the per-person finder formula's beside it. */
function ceilingCheck(run: ModeRun, row: BenchRow, min: number, throttled: number): Check {
  const physical = physicalCeilingGoalsPerSec(run);
  const formula = formulaCeilingGoalsPerSec(run);
  return {
    scenario: scenarioId(run.scenario),
    mode: 'managed',
    claim: `goals/s >= ${Math.round(min * 100)}% of the physical ceiling (${run.scenario.podCapacity === undefined ? 'rate limit' : "the pod's capacity"} / 1 request per goal)`,
    verdict: verdict(row.ceilingRatio >= min),
    detail:
      `${row.goalsPerSec} goals/s of ${physical.toFixed(1)} = ${(row.ceilingRatio * 100).toFixed(1)}%; ` +
      `of the per-person finder formula's ${formula.toFixed(1)}: ${(row.formulaCeilingRatio * 100).toFixed(1)}% ` +
      `(HCM answered ${throttled} x 429)`,
  };
}

/** What the naive job did to HCM in the same scenario: numbers, no thresholds. */
function naive(run: ModeRun, row: BenchRow): Check[] {
  return [
    {
      scenario: scenarioId(run.scenario),
      mode: 'naive',
      claim: 'what the original job does here',
      verdict: 'info',
      detail: `${row.outcome}; ${row.duplicates} duplicates, ${row.lost} lost, ${row.unauthorized} x 401, ${row.reuseDetected} reuse detections`,
    },
  ];
}

export function checksFor(run: ModeRun, row: BenchRow): Check[] {
  if (run.mode === 'naive') return naive(run, row);
  return [...invariants(run, row), ...specific(run, row)];
}

/** The branch plan-sync must pick for a scale row: its chunk count against the inline limit. */
function expectedMap(row: BenchRow): 'inline' | 'distributed' {
  const s = SCENARIOS.find((x) => x.name === row.name && x.goals === row.goals);
  const chunks = Math.ceil(row.goals / (s?.chunkSize ?? 100));
  return chunks > PLAN_DEFAULTS.maxInlineChunks ? 'distributed' : 'inline';
}

/**
 * Scale: how time per goal and the pipeline process's memory grow from the smallest to the biggest
 * row, and which Map branch each row took (the biggest must need the distributed one).
 */
export function scaleChecks(rows: BenchRow[]): Check[] {
  const scale = rows
    .filter((r) => r.name === 'scale' && r.mode === 'managed')
    .sort((a, b) => a.goals - b.goals);
  if (scale.length < 2) return [];
  const [small, big] = [scale[0]!, scale.at(-1)!];
  const size = big.goals / small.goals;
  const growth = big.peakRssMb / Math.max(1, small.peakRssMb);
  return [
    {
      scenario: 'scale',
      mode: 'managed',
      claim: `pipeline peak RSS at ${big.goals} goals <= ${SCALE_MAX_RSS_GROWTH}x its RSS at ${small.goals}`,
      verdict: verdict(growth <= SCALE_MAX_RSS_GROWTH),
      detail:
        `${scale.map((r) => `${r.goals}: ${r.peakRssMb} MB`).join(', ')} (x${growth.toFixed(2)}); ` +
        `goals/s ${scale.map((r) => r.goalsPerSec).join(' -> ')}; wall x${(big.wallMs / small.wallMs).toFixed(1)} for x${size} goals`,
    },
    {
      scenario: 'scale',
      mode: 'managed',
      claim: `the default state machine sends runs of more than ${PLAN_DEFAULTS.maxInlineChunks} chunks to the Distributed Map, the rest inline`,
      verdict: verdict(scale.every((r) => r.map === expectedMap(r))),
      detail: scale.map((r) => `${r.goals}: ${r.map ?? 'unknown'} (expected ${expectedMap(r)})`).join(', '),
    },
  ];
}
