import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type RunSeries, runSeries } from '../local/charts/series.ts';
import type { SourceFacts } from './bench-source.ts';
import { type ChildRun, runGoalSync } from './child.ts';
import { type GoalKey, type PeerSnapshot, startPeerProcess } from './peer-snapshots.ts';
import { type Scenario, scenarioId } from './scenarios.ts';

export type Mode = 'managed' | 'naive';

/** One process of a scenario run, and the peers' counters right after it ended. */
export interface Step {
  kind: 'first' | 'resume' | 'restart';
  child: ChildRun;
  after: PeerSnapshot;
}

/** Everything one scenario x mode produced; metrics.ts turns it into the results row. */
export interface ModeRun {
  scenario: Scenario;
  mode: Mode;
  facts: SourceFacts;
  start: PeerSnapshot;
  steps: Step[];
  /** Natural keys of the goals HCM holds at the end. */
  goals: GoalKey[];
  /** Peak RSS of the simulators' process (IdP, HCM, dynalite), for comparison with the pipeline's. */
  peersPeakRssMb: number;
  /** The charts' data: tokens, HCM answers and writes over the run, from the simulators' timelines. */
  series: RunSeries;
  /** Epoch ms: the first step's spawn and the last step's exit. */
  startedAtMs: number;
  endedAtMs: number;
  /** Goal count the crash / revoke faults were set to. */
  crashAfter?: number;
  revokeAfter?: number;
}

/** The scale rows' 100,000 requests/s is no limit worth a line on the chart. */
const NO_LIMIT_LINE_ABOVE = 10_000;

/** A managed run that stopped for re-auth is resumed after re-connecting, at most this many times. */
const MAX_RESUMES = 4;
export const CRASH_EXIT_CODE = 137;

const isCrash = (c: ChildRun) => c.exitCode === CRASH_EXIT_CODE;

function baseArgs(s: Scenario, facts: SourceFacts, peerArgs: string[], seed: number): string[] {
  return [
    ...peerArgs,
    '--source',
    facts.path,
    '--goals',
    String(facts.records),
    '--seed',
    String(seed),
    '--chunk-size',
    String(s.chunkSize),
    '--concurrency',
    String(s.concurrency),
    '--token-ttl',
    String(s.tokenTtlSeconds),
    '--rate-limit',
    String(s.rateLimit),
    '--latency',
    s.latencyP99Ms === undefined
      ? `${s.latencyMs[0]}-${s.latencyMs[1]}`
      : `lognormal:${s.latencyMs[0]}-${s.latencyP99Ms}`,
    ...(s.writeMode ? ['--write-mode', s.writeMode] : []),
  ];
}

const faultArgs = (spec: string[]): string[] => (spec.length > 0 ? ['--faults', spec.join(',')] : []);

/**
 * Runs one scenario in one mode on fresh simulators: the first process, then what an operator would
 * do next. Managed: resume the same runId after a crash or after a needs_reauth stop (the runner
 * re-connects the grant first, as `goal-sync connect` would). Naive: it has no checkpoints, so after a
 * crash the job is simply started again from zero, as the operators of the original job did.
 */
export async function runScenario(
  s: Scenario,
  mode: Mode,
  facts: SourceFacts,
  workDir: string,
  seed: number,
  onStep?: (step: Step) => void,
): Promise<ModeRun> {
  const peers = await startPeerProcess({ tokenTtlSeconds: s.tokenTtlSeconds, seed });
  try {
    const id = `${scenarioId(s)}-${mode}`;
    const stateDir = join(workDir, `${id}-state`);
    await mkdir(stateDir, { recursive: true });
    const base = baseArgs(s, facts, peers.args, seed);
    const faults = [
      ...(s.faults ? s.faults.split(',') : []),
      ...(s.podCapacity === undefined ? [] : [`hcm.podCapacityPerSecond=${s.podCapacity}`]),
    ];
    const valid = facts.validKeys.size;
    const crashAfter = s.crashAtShare === undefined ? undefined : Math.round(valid * s.crashAtShare);
    const revokeAfter = s.revokeAtShare === undefined ? undefined : Math.round(valid * s.revokeAtShare);
    const firstFaults = revokeAfter === undefined ? faults : [...faults, `revokeAfter=${revokeAfter}`];
    const crashArgs = crashAfter === undefined ? [] : ['--crash-after', String(crashAfter)];
    const runId = `bench-${id}`;
    // DynamoDB lives in the peers' process (it outlives a crashed child, as AWS would); the state dir
    // keeps what the pipeline process itself holds on disk (the broker's secrets, the chunk manifests),
    // needed only by runs that may have to resume.
    const resumable =
      s.crashAtShare !== undefined || s.revokeAtShare !== undefined || /\bidp\./.test(s.faults ?? '');
    const stateArgs = resumable ? ['--state-dir', stateDir] : [];
    const modeArgs = mode === 'naive' ? ['--naive'] : ['--run-id', runId, ...stateArgs];

    const start = await peers.snapshot();
    const steps: Step[] = [];
    const step = async (kind: Step['kind'], args: string[]) => {
      const child = await runGoalSync(args);
      const done: Step = { kind, child, after: await peers.snapshot() };
      steps.push(done);
      onStep?.(done);
      return child;
    };

    let last = await step('first', [...base, ...modeArgs, ...faultArgs(firstFaults), ...crashArgs]);
    if (mode === 'naive') {
      if (isCrash(last)) await step('restart', [...base, '--naive', ...faultArgs(faults)]);
    } else {
      for (let resumes = 0; resumable && resumes < MAX_RESUMES; resumes++) {
        const again = isCrash(last) || last.report?.status === 'needs_reauth';
        if (!again) break;
        last = await step('resume', [
          ...base,
          '--resume',
          runId,
          '--state-dir',
          stateDir,
          ...faultArgs(faults),
        ]);
      }
    }
    const startedAtMs = steps[0]?.child.startedAtMs ?? Date.now();
    const endedAtMs = steps.at(-1)?.child.endedAtMs ?? startedAtMs;
    const timeline = await peers.timeline();
    const series = runSeries({
      label: mode,
      startMs: startedAtMs,
      endMs: endedAtMs,
      ...(s.rateLimit <= NO_LIMIT_LINE_ABOVE ? { rateLimit: s.rateLimit } : {}),
      ...timeline,
      refreshes: steps.flatMap((st) => st.child.report?.tokenRefreshes ?? []),
      steps: steps.slice(1).map((st) => ({ atMs: st.child.startedAtMs, label: st.kind })),
    });
    return {
      scenario: s,
      mode,
      facts,
      start,
      steps,
      series,
      startedAtMs,
      endedAtMs,
      goals: await peers.goals(),
      peersPeakRssMb: await peers.peakRssMb(),
      ...(crashAfter === undefined ? {} : { crashAfter }),
      ...(revokeAfter === undefined ? {} : { revokeAfter }),
    };
  } finally {
    await peers.close();
  }
}
