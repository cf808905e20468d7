import { type DevTokenIssuer, startDevTokenIssuer } from '../../local/hcm/dev-tokens.ts';
import { GOAL_PLANS, type HcmSim, type HcmSimOptions, startHcmSim } from '../../local/hcm/index.ts';

/**
 * The HCM simulator over HTTP for its own tests, with Oracle's paths written out as the pages give
 * them (never taken from the client's code), a token from a throwaway issuer, and helpers to read
 * item keys the only way Oracle offers: from `links`.
 */
export const ROOT = '/hcmRestApi/resources/11.13.18.05';
export const FY26 = GOAL_PLANS[0]!;
export const FY27 = GOAL_PLANS[1]!;
export const planGoals = (planId: number) => `${ROOT}/goalPlans/${planId}/child/performanceGoals`;
export const topGoals = `${ROOT}/performanceGoals`;
export const assignees = `${ROOT}/goalPlanAssignees`;

/** Person index (0-based) -> ids, as seed.ts lays them out. */
export const personId = (index: number) => 300_000_000_000_000 + index;
export const assignmentId = (index: number, second = false) =>
  300_000_100_000_000 + (second ? 50_000_000 : 0) + index;

export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected field by field in assertions
  body: any;
}

export interface SimHarness {
  sim: HcmSim;
  call(
    path: string,
    init?: { method?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Answer>;
  close(): Promise<void>;
}

export async function startSimHarness(options: Partial<HcmSimOptions> = {}): Promise<SimHarness> {
  const idp: DevTokenIssuer = await startDevTokenIssuer();
  let sim: HcmSim;
  try {
    sim = await startHcmSim({
      jwksUrl: idp.jwksUrl,
      issuer: idp.issuer,
      persons: 500,
      ...options,
      faults: { rateLimitPerSecond: 0, ...options.faults },
    });
  } catch (err) {
    await idp.close();
    throw err;
  }
  const token = await idp.mint();
  return {
    sim,
    async call(path, init = {}) {
      const res = await fetch(sim.url + path, {
        method: init.method ?? 'GET',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...init.headers },
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
    },
    async close() {
      await sim.close();
      await idp.close();
    },
  };
}

let seq = 0;
/** A valid FY2026 goal body for the worker at `index` (0-based, one assignment). */
export function goalBody(index = 0, over: Record<string, unknown> = {}) {
  return {
    GoalName: `Goal ${++seq}`,
    PersonId: personId(index),
    StartDate: '2026-02-01',
    TargetCompletionDate: '2026-11-30',
    StatusCode: 'NOT_STARTED',
    PriorityCode: 'HIGH',
    Weighting: 25,
    ...over,
  };
}

/** The href of an item's `rel` link (self by default). */
export function linkOf(item: { links?: Array<{ rel: string; href: string }> }, rel = 'self'): string {
  const href = item.links?.find((l) => l.rel === rel)?.href;
  if (!href) throw new Error(`item has no ${rel} link`);
  return href;
}

/** The path part of an item's self link, to call it again. */
export const selfPath = (item: { links?: Array<{ rel: string; href: string }> }) =>
  new URL(linkOf(item)).pathname;
