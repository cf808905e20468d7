import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HcmTimeline } from '../timeline/types.ts';
import type { HcmFaults } from './faults.ts';
import type { SimGoal } from './goal.ts';
import { readJsonBody, SimHttpError, sendJson } from './http.ts';
import type { HcmStats } from './stats.ts';

/** A goal as the control surface shows it: its attributes and both REST item keys (tests only). */
export type SimGoalRow = SimGoal & { planChildKey: string; topLevelKey: string };

/** The control API answered other than 2xx. */
export class SimControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'SimControlError';
  }
}

/** The test surface under /__sim: no auth, not counted in the request stats. */
export interface SimControl {
  stats(): HcmStats;
  timeline(): HcmTimeline;
  resetStats(): void;
  faults(): HcmFaults;
  setFaults(f: Partial<HcmFaults>): HcmFaults;
  goals(): SimGoalRow[];
  /** Someone deletes or edits a goal in HCM by hand (what a verify pass must find and repair). */
  deleteGoal(key: string): boolean;
  editGoal(key: string, fields: Partial<SimGoal>): SimGoalRow | undefined;
}

const GOAL_ROUTE = /^\/__sim\/goals\/([^/]+)$/;

export async function handleControl(
  sim: SimControl,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  const route = `${req.method} ${path}`;
  switch (route) {
    case 'GET /__sim/health':
      return sendJson(res, 200, { ok: true });
    case 'GET /__sim/stats':
      return sendJson(res, 200, sim.stats());
    case 'GET /__sim/timeline':
      return sendJson(res, 200, sim.timeline());
    case 'POST /__sim/reset-stats':
      sim.resetStats();
      return sendJson(res, 200, sim.stats());
    case 'GET /__sim/faults':
      return sendJson(res, 200, sim.faults());
    case 'POST /__sim/faults':
      return sendJson(res, 200, sim.setFaults(((await readJsonBody(req)) ?? {}) as Partial<HcmFaults>));
    case 'GET /__sim/goals':
      return sendJson(res, 200, sim.goals());
    default:
      return handleGoalEdit(sim, req, res, path, route);
  }
}

/** `DELETE` / `PATCH /__sim/goals/{uniqId}`: a human's change in HCM, behind the pipeline's back. */
async function handleGoalEdit(
  sim: SimControl,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  route: string,
): Promise<void> {
  const match = GOAL_ROUTE.exec(path);
  const uniqId = match ? decodeURIComponent(match[1]!) : undefined;
  if (uniqId !== undefined && req.method === 'DELETE') {
    if (!sim.deleteGoal(uniqId)) throw new SimHttpError(404, `No goal ${uniqId}.`);
    return sendJson(res, 200, { deleted: uniqId });
  }
  if (uniqId !== undefined && req.method === 'PATCH') {
    const edited = sim.editGoal(uniqId, ((await readJsonBody(req)) ?? {}) as Partial<SimGoal>);
    if (!edited) throw new SimHttpError(404, `No goal ${uniqId}.`);
    return sendJson(res, 200, edited);
  }
  throw new SimHttpError(404, `No simulator control endpoint ${route}.`);
}

/** Deletes a goal through the control API (no auth, not counted in the request stats). */
export async function deleteHcmGoal(url: string, uniqId: string): Promise<void> {
  await call(`${base(url)}/__sim/goals/${encodeURIComponent(uniqId)}`, { method: 'DELETE' });
}

/** Edits a goal's attributes through the control API, as a person in HCM would. */
export function editHcmGoal(url: string, uniqId: string, fields: Partial<SimGoal>): Promise<SimGoalRow> {
  return call<SimGoalRow>(`${base(url)}/__sim/goals/${encodeURIComponent(uniqId)}`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(fields),
  });
}

async function call<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new SimControlError(res.status, `simulator control ${url}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

const base = (url: string) => url.replace(/\/+$/, '');

/** Reads `GET {url}/__sim/stats`; `url` is the simulator's base URL (HcmSim.url). */
export function fetchHcmStats(url: string): Promise<HcmStats> {
  return call<HcmStats>(`${base(url)}/__sim/stats`);
}

/** Reads `GET {url}/__sim/timeline`: requests and writes per second, for the run report's charts. */
export function fetchHcmTimeline(url: string): Promise<HcmTimeline> {
  return call<HcmTimeline>(`${base(url)}/__sim/timeline`);
}

/** Merges `f` into the running simulator's faults and returns the resulting set. */
export function postHcmFaults(url: string, f: Partial<HcmFaults>): Promise<HcmFaults> {
  return call<HcmFaults>(`${base(url)}/__sim/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(f),
  });
}
