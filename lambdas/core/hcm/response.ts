import { HcmRequestError, TransientError } from '../errors.ts';
import { fullJitterDelay } from '../retry.ts';
import type { HcmErrorBody } from './oracle.ts';

const MAX_MESSAGE = 500;

/** The server's own words from an error body: ADF error JSON (framework 4+), other JSON, or text. */
export function errorMessage(text: string, fallback: string): string {
  const trimmed = text.trim();
  if (!trimmed) return fallback;
  try {
    const body = JSON.parse(trimmed) as Partial<HcmErrorBody> & { message?: unknown };
    const details = (body['o:errorDetails'] ?? [])
      .map((d) => (d['o:errorPath'] ? `${d['o:errorPath']}: ${d.detail}` : d.detail))
      .filter(Boolean);
    const message =
      details.length > 0
        ? details.join(' ')
        : (body.detail ?? (typeof body.message === 'string' ? body.message : body.title));
    if (message) return clip(message);
  } catch {
    // Not JSON: Oracle answers plain text at framework version 1 and from gateways.
  }
  return clip(trimmed);
}

/** An ADF error body (framework 4+) that itemises its causes: HCM looked at the request and refused it. */
export function hasErrorDetails(text: string): boolean {
  try {
    const body = JSON.parse(text) as Partial<HcmErrorBody>;
    const details = body['o:errorDetails'];
    return Array.isArray(details) && details.some((d) => typeof d?.detail === 'string' && d.detail !== '');
  } catch {
    return false;
  }
}

function clip(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

/** Network failure codes that prove the request never reached the server (so even a POST is safe to retry). */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export interface NetworkFailure {
  kind: 'timeout' | 'not_sent' | 'network';
  detail: string;
}

export function classifyNetworkError(err: unknown, timeoutMs: number): NetworkFailure {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return { kind: 'timeout', detail: `no answer within ${timeoutMs} ms` };
  }
  const code = e?.cause?.code;
  if (code && NOT_SENT.has(code)) return { kind: 'not_sent', detail: code };
  return { kind: 'network', detail: code ?? e?.cause?.message ?? e?.message ?? 'network error' };
}

/** One HTTP answer, body read. */
export interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

export function parseJson<T>(answer: Answer): T {
  try {
    return JSON.parse(answer.text) as T;
  } catch (err) {
    throw new HcmRequestError(answer.status, `answer is not JSON: ${answer.text.slice(0, 200)}`, {
      cause: err,
    });
  }
}

/** Time left for the caller, in ms (Lambda's getRemainingTimeInMillis); none means unbounded. */
export type Budget = () => number;

export function fitsBudget(ms: number, budget: Budget | undefined): boolean {
  return budget === undefined || ms <= budget();
}

export function capRetryAfter(err: TransientError, maxMs: number): TransientError {
  if (err.retryAfterMs === undefined || err.retryAfterMs <= maxMs) return err;
  return new TransientError(err.message, maxMs, { status: err.status });
}

/**
 * How long a 429 holds the client's pacer: the server's Retry-After (capped), else a full-jitter
 * backoff growing with the call's consecutive throttles.
 */
export function throttlePauseMs(
  retryAfterMs: number | undefined,
  throttles: number,
  backoff: { baseMs: number; capMs: number; maxRetryAfterMs: number; random: () => number },
): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, backoff.maxRetryAfterMs);
  return fullJitterDelay(throttles - 1, backoff.baseMs, backoff.capMs, backoff.random);
}
