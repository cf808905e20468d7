import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HCM_AUDIENCE } from '../local/constants.ts';
import { type HcmSim, type HcmStats, type HcmTimeline, startHcmSim } from '../local/hcm/index.ts';
import { type IdpSim, type IdpStats, type IdpTimeline, startIdp } from '../local/idp/index.ts';

/**
 * The outside peers of one run hosted by the calling process (the fault-campaign tests use this; the
 * bench uses startPeerProcess below, which also hosts dynalite, in a process of its own). The pipeline under test
 * runs in a child process and reaches them over HTTP (`--idp-url/--hcm-url`): the peers outlive a
 * crashed child (they are remote systems), their counters are read here directly, and the child's
 * peak RSS is the pipeline's alone.
 */
export interface BenchPeers {
  idp: IdpSim;
  hcm: HcmSim;
  /** Arguments that point `goal-sync local` at these peers. */
  args: string[];
  snapshot(): PeerSnapshot;
  close(): Promise<void>;
}

export interface PeerSnapshot {
  idp: IdpStats;
  hcm: HcmStats;
}

export async function startBenchPeers(o: { tokenTtlSeconds: number; seed: number }): Promise<BenchPeers> {
  // IDCS "Oracle Apps" token rate (40/s, the simulator's default) stays on: a refresh herd would meet it.
  const idp = await startIdp({ accessTokenTtlSeconds: o.tokenTtlSeconds });
  try {
    const hcm = await startHcmSim({
      jwksUrl: idp.jwksUrl,
      issuer: idp.issuer,
      audience: HCM_AUDIENCE,
      seed: o.seed,
    });
    return {
      idp,
      hcm,
      args: ['--idp-url', idp.url, '--hcm-url', hcm.url],
      snapshot: () => ({ idp: idp.stats(), hcm: hcm.stats() }),
      close: async () => {
        await hcm.close();
        await idp.close();
      },
    };
  } catch (err) {
    await idp.close();
    throw err;
  }
}

/** The natural key of a stored goal: all the bench needs to judge lost goals. */
export type GoalKey = { PersonNumber: string; GoalPlanId: number; GoalName: string };

export type PeerRequest = { type: 'snapshot' } | { type: 'goals' } | { type: 'timeline' } | { type: 'close' };
export type PeerMessage =
  | { type: 'ready'; idpUrl: string; hcmUrl: string; dynamoUrl: string }
  | { type: 'snapshot'; snapshot: PeerSnapshot; peakRssMb: number }
  | { type: 'goals'; goals: GoalKey[] }
  | { type: 'timeline'; idp: IdpTimeline; hcm: HcmTimeline };

/** The peers in their own process (bench/peer-process.ts): what `npm run bench` uses. */
export interface PeerProcess {
  /** Arguments that point `goal-sync local` at these peers, DynamoDB included. */
  args: string[];
  snapshot(): Promise<PeerSnapshot>;
  goals(): Promise<GoalKey[]>;
  /** The simulators' timelines (the report's charts). */
  timeline(): Promise<{ idp: IdpTimeline; hcm: HcmTimeline }>;
  /** Peak RSS of the peers' process so far (MB). */
  peakRssMb(): Promise<number>;
  close(): Promise<void>;
}

const RUN_TS = fileURLToPath(new URL('../bin/run-ts.js', import.meta.url));
const PEER_PROCESS = fileURLToPath(new URL('./peer-process.ts', import.meta.url));

/**
 * Starts IdP, HCM simulator and dynalite in one child process: the pipeline child then holds no
 * simulator state, so its peak RSS is the pipeline's own, and the bench process stays light.
 */
export async function startPeerProcess(o: { tokenTtlSeconds: number; seed: number }): Promise<PeerProcess> {
  const child = fork(RUN_TS, [PEER_PROCESS, String(o.tokenTtlSeconds), String(o.seed)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<never>((_, fail) =>
    child.once('exit', (code, signal) => fail(new Error(`bench peers exited (${code ?? signal})`))),
  );
  exited.catch(() => undefined);
  // One request at a time: answers come back in order, each matched by its type.
  const ask = <T extends PeerMessage['type']>(type: T, request?: PeerRequest) =>
    Promise.race([
      new Promise<Extract<PeerMessage, { type: T }>>((resolve) => {
        const on = (m: PeerMessage) => {
          if (m.type !== type) return;
          child.off('message', on);
          resolve(m as Extract<PeerMessage, { type: T }>);
        };
        child.on('message', on);
        if (request) child.send(request);
      }),
      exited,
    ]);
  const ready = await ask('ready');
  return {
    args: ['--idp-url', ready.idpUrl, '--hcm-url', ready.hcmUrl, '--dynamo-url', ready.dynamoUrl],
    snapshot: async () => (await ask('snapshot', { type: 'snapshot' })).snapshot,
    goals: async () => (await ask('goals', { type: 'goals' })).goals,
    timeline: async () => {
      const { idp, hcm } = await ask('timeline', { type: 'timeline' });
      return { idp, hcm };
    },
    peakRssMb: async () => (await ask('snapshot', { type: 'snapshot' })).peakRssMb,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.send({ type: 'close' } satisfies PeerRequest);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
