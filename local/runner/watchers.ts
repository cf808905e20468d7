import type { LocalRunOptions } from './options.ts';
import type { HcmPeer, IdpPeer } from './peers.ts';
import type { StatsBaseline } from './report-builder.ts';
import type { RunIo } from './run-io.ts';

/** Exit status of a simulated crash (what a SIGKILLed process reports). */
export const CRASH_EXIT_CODE = 137;

/**
 * Fault drivers that watch the HCM simulator's committed writes: `--crash-after N` ends the process
 * abruptly once N goals are committed (no cleanup of ours runs; the simulators, being remote systems,
 * keep what they committed), and `revokeAfter=N` revokes the grant like an admin would.
 */
export function startWatchers(a: {
  o: LocalRunOptions;
  peers: { hcm: HcmPeer; idp: IdpPeer };
  baseline: StatsBaseline;
  io: RunIo;
  /** secondRunAfter=N: starts a second run of the same connection (resolves when it has ended). */
  startSecondRun?: () => Promise<void>;
}): { stop(): void; settled(): Promise<void> } {
  const { o, peers, baseline } = a;
  let second: Promise<void> | undefined;
  const settled = async () => {
    await second;
  };
  if (
    o.crashAfter === undefined &&
    o.faults.revokeAfter === undefined &&
    o.faults.secondRunAfter === undefined
  ) {
    return { stop: () => undefined, settled };
  }
  let revoked = false;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const s = await peers.hcm.stats();
      const committed = s.creates + s.updates - baseline.hcm.creates - baseline.hcm.updates;
      if (o.faults.revokeAfter !== undefined && !revoked && committed >= o.faults.revokeAfter) {
        revoked = true;
        await peers.idp.revokeAll();
        a.io.note(`fault: grant revoked after ${committed} committed goals`);
      }
      if (
        o.faults.secondRunAfter !== undefined &&
        !second &&
        a.startSecondRun &&
        committed >= o.faults.secondRunAfter
      ) {
        second = a.startSecondRun().catch(() => undefined);
      }
      if (o.crashAfter !== undefined && committed >= o.crashAfter) {
        await peers.hcm.flush();
        a.io.note(`fault: crashing after ${committed} committed goals (exit ${CRASH_EXIT_CODE})`);
        process.exit(CRASH_EXIT_CODE);
      }
    } finally {
      busy = false;
    }
  }, 20);
  return { stop: () => clearInterval(timer), settled };
}
