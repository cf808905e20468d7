import type { IdpTimeline } from '../timeline/types.ts';
import type { IdpClient, IdpFaults, IdpStats } from './idp-types.ts';

/** Tiny HTTP helpers for processes that only know the simulator's base URL. */

async function call<T>(url: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(new URL(path, url), {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? undefined : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`IdP simulator ${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

export function fetchIdpStats(url: string): Promise<IdpStats> {
  return call(url, '/__sim/stats');
}

export function fetchIdpTimeline(url: string): Promise<IdpTimeline> {
  return call(url, '/__sim/timeline');
}

export function postIdpFaults(url: string, faults: Partial<IdpFaults>): Promise<IdpFaults> {
  return call(url, '/__sim/faults', faults);
}

export function resetIdpStats(url: string): Promise<IdpStats> {
  return call(url, '/__sim/reset-stats', {});
}

export function revokeIdpGrants(
  url: string,
  target: { grantId: string } | { clientId: string },
): Promise<{ revoked: number }> {
  return call(url, '/__sim/revoke', target);
}

export function fetchIdpClients(url: string): Promise<IdpClient[]> {
  return call(url, '/__sim/clients');
}

export function issueIdpRefreshToken(
  url: string,
  opts: { clientId: string; subject?: string; scope?: string },
): Promise<{ refreshToken: string; grantId: string }> {
  return call(url, '/__sim/refresh-tokens', opts);
}
