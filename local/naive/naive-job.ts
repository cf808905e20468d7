import { hcmResources, mapGoal } from '#core/hcm/index.ts';
import type { GoalRecord, SourceRef } from '#core/source/index.ts';
import { openGoalSource } from '#core/source/index.ts';

/**
 * The original nightly job, reproduced honestly for side-by-side runs (`goal-sync local --naive`):
 * one token fetched at start, refreshed only after a 401 by whichever worker saw it (no lock, no
 * single-flight), plain POSTs with no lookup by natural key, no checkpoints. When authentication dies
 * the run is lost and, like the operators did, restarted from zero after a re-connect. Its payload is
 * one Oracle accepts (the worker's PersonId and AssignmentId from goalPlanAssignees, one query per
 * worker and plan), so a side-by-side run differs in tokens, retries and checkpoints, not in payload.
 */
export interface NaiveJobOptions {
  source: SourceRef;
  hcmBaseUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Obtains a fresh refresh token the way an operator re-connects after a lockout. */
  reconnect: () => Promise<string>;
  concurrency: number;
  /** How many times the job is restarted from zero after it lost authentication (default 1). */
  restarts?: number;
  onGoal?: () => void;
  onRefresh?: () => void;
  timeoutMs?: number;
}

export interface NaiveJobResult {
  status: 'completed' | 'auth_lost';
  attempts: number;
  created: number;
  failed: number;
  invalid: number;
  total: number;
  refreshes: number;
  unauthorized: number;
  failedRecords: Array<{ key: string; reason: string }>;
  invalidRecords: Array<{ key?: string; line: number; reason: string }>;
  error?: string;
}

class AuthLost extends Error {}

interface Session {
  accessToken: string;
  refreshToken: string;
}

async function tokenRequest(o: NaiveJobOptions, refreshToken: string): Promise<Session> {
  const res = await fetch(o.tokenUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${o.clientId}:${o.clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
    signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, string>;
  if (!res.ok || !body.access_token)
    throw new AuthLost(`token endpoint ${res.status} ${body.error ?? ''}`.trim());
  return { accessToken: body.access_token, refreshToken: body.refresh_token ?? refreshToken };
}

async function readAll(o: NaiveJobOptions): Promise<{ records: GoalRecord[]; result: NaiveJobResult }> {
  const source = openGoalSource(o.source);
  const plan = await source.plan(1000);
  const records: GoalRecord[] = [];
  for (const chunk of plan.chunks) {
    for await (const entry of source.readChunk(chunk)) if ('record' in entry) records.push(entry.record);
  }
  const result: NaiveJobResult = {
    status: 'completed',
    attempts: 0,
    created: 0,
    failed: 0,
    invalid: plan.invalid.length,
    total: plan.totalRecords,
    refreshes: 0,
    unauthorized: 0,
    failedRecords: [],
    invalidRecords: plan.invalid,
  };
  return { records, result };
}

export async function runNaiveJob(o: NaiveJobOptions): Promise<NaiveJobResult> {
  const { records, result } = await readAll(o);
  const maxAttempts = (o.restarts ?? 1) + 1;
  while (result.attempts < maxAttempts) {
    result.attempts++;
    // Restart from zero: no checkpoints, so every goal is posted again.
    result.created = 0;
    result.failed = 0;
    result.failedRecords = [];
    try {
      await runOnce(o, records, result);
      result.status = 'completed';
      delete result.error;
      return result;
    } catch (err) {
      if (!(err instanceof AuthLost)) throw err;
      result.status = 'auth_lost';
      result.error = `authentication lost on attempt ${result.attempts}: ${err.message}`;
    }
  }
  return result;
}

async function runOnce(o: NaiveJobOptions, records: GoalRecord[], result: NaiveJobResult): Promise<void> {
  const session: Session & { workers: Workers } = {
    ...(await tokenRequest(o, await o.reconnect())),
    workers: new Map(),
  };
  let next = 0;
  let lost: AuthLost | undefined;
  const worker = async (): Promise<void> => {
    while (!lost && next < records.length) {
      const record = records[next++]!;
      try {
        await postGoal(o, session, record, result);
        result.created++;
      } catch (err) {
        if (err instanceof AuthLost) {
          lost = err;
          return;
        }
        result.failed++;
        result.failedRecords.push({ key: record.externalKey, reason: (err as Error).message });
      }
      o.onGoal?.();
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  if (lost) throw lost;
}

/** (plan, person number) -> the worker's PersonId and AssignmentId, as the old job would cache it. */
type Workers = Map<string, Promise<Record<string, number>>>;

/** A request with the session's token; a first 401 refreshes (whoever saw it: the race) and retries. */
async function send(
  o: NaiveJobOptions,
  session: Session,
  result: NaiveJobResult,
  url: string,
  init: RequestInit,
): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url, {
      ...init,
      headers: { authorization: `Bearer ${session.accessToken}`, 'content-type': 'application/json' },
      signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
    });
    if (res.ok) return res;
    await res.arrayBuffer();
    if (res.status === 429) {
      // The one courtesy the old job had: wait as told and try again.
      await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
      continue;
    }
    if (res.status === 401 && attempt === 0) {
      result.unauthorized++;
      // Refresh after the 401, by whoever saw it, with whatever refresh token it has: the race.
      const renewed = await tokenRequest(o, session.refreshToken);
      result.refreshes++;
      o.onRefresh?.();
      Object.assign(session, renewed);
      continue;
    }
    if (res.status === 401) {
      result.unauthorized++;
      throw new AuthLost('HTTP 401: Token expired');
    }
    throw new Error(`HTTP ${res.status}`);
  }
}

/** The worker's assignment on the plan (the one the record names, or their only one). */
function workerOf(
  o: NaiveJobOptions,
  session: Session & { workers: Workers },
  result: NaiveJobResult,
  record: GoalRecord,
): Promise<Record<string, number>> {
  const key = `${record.goalPlanId}|${record.personNumber}`;
  let found = session.workers.get(key);
  if (!found) {
    const q = `GoalPlanId=${record.goalPlanId} and PersonNumber='${record.personNumber}'`;
    const url = `${o.hcmBaseUrl}${hcmResources.goalPlanAssignees}?onlyData=true&q=${encodeURIComponent(q)}`;
    found = send(o, session, result, url, { method: 'GET' }).then(async (res) => {
      const rows = ((await res.json()) as { items: Array<Record<string, unknown>> }).items;
      const row = rows.find(
        (r) => record.assignmentNumber === undefined || r.AssignmentNumber === record.assignmentNumber,
      );
      if (!row || (record.assignmentNumber === undefined && rows.length > 1))
        throw new Error(`worker ${record.personNumber}: no single assignment on plan ${record.goalPlanId}`);
      return { PersonId: Number(row.PersonId), AssignmentId: Number(row.AssignmentId) };
    });
    session.workers.set(key, found);
    found.catch(() => session.workers.delete(key));
  }
  return found;
}

async function postGoal(
  o: NaiveJobOptions,
  session: Session & { workers: Workers },
  record: GoalRecord,
  result: NaiveJobResult,
): Promise<void> {
  const mapped = mapGoal(record);
  if (!mapped.ok) throw new Error(mapped.reason);
  const worker = await workerOf(o, session, result, record);
  const url = `${o.hcmBaseUrl}${hcmResources.planGoals(record.goalPlanId)}`;
  await send(o, session, result, url, {
    method: 'POST',
    body: JSON.stringify({ ...mapped.payload, ...worker }),
  });
}
