import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HcmGoal } from '#core/hcm/index.ts';
import { HcmRequestError } from '../../lambdas/core/errors.ts';
import type { HcmFaults } from './faults.ts';
import { readJsonBody, SimHttpError, sendJson } from './http.ts';
import type { HcmStats } from './stats.ts';

/** The test surface under /__sim: no auth, not counted in the request stats. */
export interface SimControl {
  stats(): HcmStats;
  resetStats(): void;
  faults(): HcmFaults;
  setFaults(f: Partial<HcmFaults>): HcmFaults;
  goals(): HcmGoal[];
}

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
      throw new SimHttpError(404, `No simulator control endpoint ${route}.`);
  }
}

async function call<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new HcmRequestError(res.status, `simulator control ${url}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

const base = (url: string) => url.replace(/\/+$/, '');

/** Reads `GET {url}/__sim/stats`; `url` is the simulator's base URL (HcmSim.url). */
export function fetchHcmStats(url: string): Promise<HcmStats> {
  return call<HcmStats>(`${base(url)}/__sim/stats`);
}

/** Merges `f` into the running simulator's faults and returns the resulting set. */
export function postHcmFaults(url: string, f: Partial<HcmFaults>): Promise<HcmFaults> {
  return call<HcmFaults>(`${base(url)}/__sim/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(f),
  });
}
