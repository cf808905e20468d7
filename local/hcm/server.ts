import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { maskSecrets } from '../../lambdas/core/mask.ts';
import { HCM_AUDIENCE } from '../constants.ts';
import type { HcmTimeline } from '../timeline/types.ts';
import { TokenVerifier, UnauthorizedError } from './auth.ts';
import { runBatch } from './batch.ts';
import { simContext, type TenantOptions } from './context.ts';
import { MEDIA, REST_ROOT } from './contract/rest.ts';
import { handleControl, type SimGoalRow } from './control.ts';
import { dispatch, type OpMethod } from './dispatch.ts';
import { DEFAULT_FAULTS, FaultDice, type HcmFaults, mergeFaults } from './faults.ts';
import { EDITABLE_IN_UI, planGoalKey, type SimGoal, topGoalKey } from './goal.ts';
import { createDataLoader, handleDataSets, isDataSetsPath } from './hdl/index.ts';
import { isJsonMediaType, readJsonBody, SimHttpError, sendError, sendJson } from './http.ts';
import { StatePersister } from './persist.ts';
import { POD_REFUSAL_MESSAGE, PodCapacity } from './pod-capacity.ts';
import { RateLimiter } from './ratelimit.ts';
import { emptyTally, type OpResult } from './resources.ts';
import { parseRoute } from './routes.ts';
import { type HcmStats, SimCounters } from './stats.ts';
import { GoalStore, type StoredGoal } from './store.ts';
import { HcmTimelineRecorder, routeLabel } from './timeline.ts';
import { bearerIat } from './token-iat.ts';

/** `seed` also seeds the fault dice: same seed + same faults = same injected failures. */
export interface HcmSimOptions extends TenantOptions {
  host?: string;
  port?: number;
  /** The IdP's JWKS; every API request's bearer token is verified against it. */
  jwksUrl: string;
  /** Checked when given. */
  issuer?: string;
  /** Default HCM_AUDIENCE (local/constants.ts), what the local IdP puts in access tokens. */
  audience?: string;
  stateDir?: string;
  faults?: Partial<HcmFaults>;
  /** Ignored: every change is journaled before the response (kept so older callers still compile). */
  persistDebounceMs?: number;
  /** Leeway for token exp/iat checks (s). Default 0. */
  clockToleranceSeconds?: number;
}

export interface HcmSim {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** url + REST_ROOT */
  readonly restRoot: string;
  stats(): HcmStats;
  /** Requests and writes per second since the start or the last resetStats (the report's charts). */
  timeline(): HcmTimeline;
  resetStats(): void;
  setFaults(f: Partial<HcmFaults>): HcmFaults;
  faults(): HcmFaults;
  /** Every goal with both of its REST keys (a test's view; REST bodies never carry the keys). */
  goals(): SimGoalRow[];
  /**
   * A human's change in HCM, behind the pipeline's back (also `DELETE`/`PATCH /__sim/goals/{key}`);
   * `key` is either resource's item key.
   */
  deleteGoal(key: string): boolean;
  editGoal(key: string, fields: Partial<SimGoal>): SimGoalRow | undefined;
  flush(): Promise<void>;
  close(): Promise<void>;
}

const WRITE_METHODS = new Set(['POST', 'PATCH']);

export async function startHcmSim(options: HcmSimOptions): Promise<HcmSim> {
  let persister: StatePersister | undefined;
  const timeline = new HcmTimelineRecorder();
  const store = new GoalStore((change) => {
    persister?.record(change);
    if (change.next) timeline.write(Date.now());
  });
  if (options.stateDir) {
    persister = new StatePersister(options.stateDir, () => store.snapshot());
    const saved = persister.load();
    if (saved) store.load(saved);
    persister.open();
  }
  let faults = mergeFaults(DEFAULT_FAULTS, options.faults ?? {});
  const dice = new FaultDice(options.seed ?? 1);
  const limiter = new RateLimiter();
  const pod = new PodCapacity();
  const counters = new SimCounters();
  const lateWrites = new Map<NodeJS.Timeout, () => void>();
  const verifier = new TokenVerifier({
    jwksUrl: options.jwksUrl,
    ...(options.issuer ? { issuer: options.issuer } : {}),
    audience: options.audience ?? HCM_AUDIENCE,
    ...(options.clockToleranceSeconds !== undefined
      ? { clockToleranceSeconds: options.clockToleranceSeconds }
      : {}),
  });
  const ctx = simContext(options, store, () => faults);
  // HDL loads into the same store with the same rules as the REST resources (hdl/goal-lines.ts).
  const dataSets = createDataLoader(ctx, () => faults, {
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.stateDir ? { stateDir: options.stateDir } : {}),
  });

  const sim: HcmSim = {
    url: '',
    restRoot: '',
    stats: () =>
      withPod(
        counters.snapshot({
          goalsStored: store.size,
          duplicates: store.duplicates,
          duplicateKeys: store.duplicateKeys,
        }),
        pod,
      ),
    timeline: () => timeline.snapshot(),
    resetStats: () => {
      counters.reset();
      timeline.reset();
      pod.resetStats();
    },
    setFaults: (f) => {
      faults = mergeFaults(faults, f);
      return { ...faults };
    },
    faults: () => ({ ...faults }),
    goals: () => [...store.all()].map(goalRow),
    deleteGoal: (key) => {
      const current = byEitherKey(key);
      if (!current) return false;
      store.delete(current.goal.GoalId);
      return true;
    },
    editGoal: (key, fields) => {
      const current = byEitherKey(key);
      if (!current) return undefined;
      // Editable attributes only: identity (ids, person, plan) is what a human cannot change either.
      const edits = Object.fromEntries(
        Object.entries(fields).filter(([k]) => (EDITABLE_IN_UI as readonly string[]).includes(k)),
      );
      return goalRow(store.update(current.goal.GoalId, { ...current.goal, ...edits }, ctx.now()));
    },
    flush: async () => {
      // A flush stands for "the remote system keeps what it accepted": late writes land first.
      for (const [timer, apply] of [...lateWrites]) {
        clearTimeout(timer);
        apply();
      }
      await persister?.flush();
    },
    close: async () => {
      dataSets.close();
      // Writes Oracle already accepted commit even if nobody waits for them.
      for (const [timer, apply] of [...lateWrites]) {
        clearTimeout(timer);
        apply();
      }
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await persister?.close();
    },
  };

  function byEitherKey(key: string): StoredGoal | undefined {
    return store.byPlanChildKey(key) ?? store.byTopLevelKey(key);
  }

  /** The /hcmRestApi pipeline: count, delay, authenticate, throttle, inject errors, run, maybe drop. */
  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const route = parseRoute(url.pathname);
    let tokenIat: number | null = null;
    counters.request(method);
    res.once('finish', () => counters.response(res.statusCode));
    // 'close' also comes when the simulator drops the socket without an answer: status 0 then.
    res.once('close', () =>
      timeline.request(
        Date.now(),
        routeLabel(method, route),
        res.writableFinished ? res.statusCode : 0,
        tokenIat,
      ),
    );
    const delay = dice.delayMs(faults);
    if (delay > 0) await sleep(delay);
    let caller: Awaited<ReturnType<TokenVerifier['verify']>>;
    try {
      caller = await verifier.verify(req.headers.authorization, faults.tokenMaxAgeSeconds);
    } catch (err) {
      tokenIat = bearerIat(req.headers.authorization);
      if (err instanceof UnauthorizedError && err.reason === 'too_old') counters.tokenAgeRejections++;
      throw err;
    }
    tokenIat = typeof caller.claims.iat === 'number' ? caller.claims.iat : null;
    const waitSeconds = limiter.take(caller.clientId, faults.rateLimitPerSecond);
    if (waitSeconds > 0) {
      throw new SimHttpError(429, 'Too many requests for this client; retry later.', {
        'Retry-After': String(waitSeconds),
      });
    }
    await podQueue(pod, faults);
    if (dice.injectError(faults)) {
      throw new SimHttpError(
        faults.errorStatus,
        'The service is temporarily unable to process the request.',
        {},
        faults.errorBody === 'bare',
      );
    }
    const body = WRITE_METHODS.has(method) ? await readJsonBody(req) : undefined;
    if (WRITE_METHODS.has(method) && !isJsonMediaType(req.headers['content-type'])) {
      throw new SimHttpError(415, `Content-Type ${req.headers['content-type']} isn't supported; send JSON.`);
    }
    if (isDataSetsPath(url.pathname)) {
      const hdl = handleDataSets(
        dataSets,
        method,
        url.pathname,
        url.searchParams,
        body,
        ctx.baseUrl,
        faults.forbidden,
      );
      if (hdl.drop) {
        // Kept (the file, the data set); the client only sees a dead socket.
        req.socket.destroy();
        return;
      }
      return sendJson(res, hdl.status, hdl.body, {}, hdl.contentType);
    }
    const op = {
      method: method as OpMethod,
      route,
      params: url.searchParams,
      body,
      upsert: req.headers['upsert-mode']?.toString().toLowerCase() === 'true',
      ...optionalHeader('ifMatch', req.headers['if-match']),
      ...optionalHeader('ifNoneMatch', req.headers['if-none-match']),
    };
    if (WRITE_METHODS.has(method) && route.kind !== 'root' && dice.commitLate(faults)) {
      // The gateway answers 504 now; the write reaches the store later, as if Oracle finished it anyway.
      counters.lateCommits++;
      counters.lateCommitsPending++;
      const apply = () => {
        lateWrites.delete(timer);
        counters.lateCommitsPending--;
        const lateTally = emptyTally();
        try {
          dispatch(ctx, op, lateTally);
        } catch {
          // Refused when it finally ran (validation, a deleted goal): nothing committed, like Oracle.
        }
        counters.apply(lateTally);
      };
      const timer = setTimeout(apply, faults.lateCommitDelayMs);
      lateWrites.set(timer, apply);
      throw new SimHttpError(504, 'The gateway timed out waiting for the service.');
    }
    if (method === 'PATCH' && route.kind === 'planGoal' && dice.failPatchRule(faults)) {
      throw new SimHttpError(500, [
        {
          detail: 'The goal could not be updated: a goal management business rule rejected the change.',
          code: 'HRG-500-RULE',
        },
      ]);
    }
    const tally = emptyTally();
    let result: OpResult;
    let contentType: string;
    if (route.kind === 'root' && method === 'POST') {
      if (!req.headers['content-type']?.toLowerCase().startsWith(MEDIA.batch)) {
        throw new SimHttpError(415, `A batch request needs Content-Type ${MEDIA.batch}.`);
      }
      counters.batch();
      result = runBatch(ctx, body, tally);
      contentType = MEDIA.batch;
    } else {
      if (!['GET', 'POST', 'PATCH', 'DELETE'].includes(method)) {
        throw new SimHttpError(405, `The HTTP method ${method} is not supported.`);
      }
      result = dispatch(ctx, op, tally);
      contentType = contentTypeOf(route.kind, method);
    }
    counters.apply(tally);
    if (WRITE_METHODS.has(method) && result.status < 300 && dice.dropAfterCommit(faults)) {
      // The commit stands; the client only sees a dead socket and cannot tell whether it happened.
      counters.droppedAfterCommit++;
      req.socket.destroy();
      return;
    }
    const headers: Record<string, string> = {
      'REST-Framework-Version': String(req.headers['rest-framework-version'] ?? '1'),
      ...(result.etag ? { ETag: result.etag } : {}),
      ...(result.location ? { Location: result.location } : {}),
    };
    sendJson(res, result.status, result.body, headers, contentType);
  }

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', ctx.baseUrl);
      if (url.pathname.startsWith('/__sim/')) return await handleControl(sim, req, res, url.pathname);
      if (!url.pathname.startsWith(`${REST_ROOT}`)) {
        throw new SimHttpError(404, `Only ${REST_ROOT} is served here.`);
      }
      await api(req, res, url);
    } catch (err) {
      if (res.headersSent || res.destroyed) return;
      if (err instanceof SimHttpError) return sendError(res, err);
      process.stderr.write(`HCM simulator: ${maskSecrets(String((err as Error)?.stack ?? err))}\n`);
      sendError(res, new SimHttpError(500, 'Internal error in the HCM simulator.'));
    }
  }

  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => void onRequest(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  ctx.baseUrl = `http://${host}:${port}`;
  Object.assign(sim, { url: ctx.baseUrl, restRoot: ctx.baseUrl + REST_ROOT });
  return sim;
}

const COLLECTIONS = new Set(['planGoals', 'topGoals', 'associatedPlans', 'assignees', 'plans']);

function contentTypeOf(kind: string, method: string): string {
  if (kind === 'describe') return MEDIA.describe;
  return COLLECTIONS.has(kind) && method === 'GET' ? MEDIA.collection : MEDIA.item;
}

function goalRow(record: StoredGoal): SimGoalRow {
  return { ...record.goal, planChildKey: planGoalKey(record.goal), topLevelKey: topGoalKey(record.goal) };
}

/** The pod-capacity option (pod-capacity.ts): wait in the pod's queue, or a slow 503 without Retry-After. */
async function podQueue(pod: PodCapacity, faults: HcmFaults): Promise<void> {
  const admission = pod.admit(faults.podCapacityPerSecond, faults.podMaxQueueMs);
  if (admission.delayMs > 0) await sleep(admission.delayMs);
  if (!admission.served) throw new SimHttpError(503, POD_REFUSAL_MESSAGE);
}

function withPod(stats: HcmStats, pod: PodCapacity): HcmStats {
  const podStats = pod.stats();
  return podStats ? { ...stats, pod: podStats } : stats;
}

function optionalHeader<K extends string>(
  key: K,
  value: string | string[] | undefined,
): { [P in K]?: string } {
  if (value === undefined) return {};
  return { [key]: Array.isArray(value) ? value.join(',') : value } as { [P in K]?: string };
}
