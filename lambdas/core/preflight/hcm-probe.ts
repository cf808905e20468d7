import { maskSecrets } from '../mask.ts';

/** Oracle's REST root (ORACLE-FACTS: every farws page's paths). */
export const REST_ROOT = '/hcmRestApi/resources/11.13.18.05';
/** Framework 4: JSON error bodies and the row-match `q` syntax (`GoalId > 5`). */
const REST_FRAMEWORK_VERSION = '4';

/** One HTTP answer as the checks read it; `status` 0 is a network failure (`error` says which). */
export interface ProbeAnswer {
  status: number;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  json?: unknown;
  /** ADF's error text (framework 4 `detail` / `o:errorDetails`), or the first 300 chars of the body. */
  message: string;
  error?: string;
}

export interface ProbeRequest {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Under the REST root (`goalPlans/1`), or an absolute href taken from a `links` entry. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
}

/**
 * The preflight's view of HCM: raw answers (a 403 is a finding, not an error), one request at a time
 * and no faster than the configured ceiling, so a preflight never adds load a customer did not allow.
 */
export interface HcmProbe {
  send(req: ProbeRequest): Promise<ProbeAnswer>;
  /** Requests sent so far. */
  readonly requests: number;
}

export interface HcmProbeOptions {
  baseUrl: string;
  /** A bearer token, asked for before each request (the token source caches). */
  token: () => Promise<string>;
  /** The customer's ceiling (requests per second); the probe stays under it. */
  maxRequestsPerSecond: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export function createHcmProbe(o: HcmProbeOptions): HcmProbe {
  const base = o.baseUrl.replace(/\/+$/, '');
  const interval = 1000 / Math.max(o.maxRequestsPerSecond, 0.001);
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let nextAt = 0;
  let queue: Promise<unknown> = Promise.resolve();
  const probe = {
    requests: 0,
    send(req: ProbeRequest): Promise<ProbeAnswer> {
      // Serialized: the checks are few, and a preflight must not be the thing that loads the pod.
      const run = queue.then(async () => {
        const wait = nextAt - now();
        if (wait > 0) await sleep(wait);
        nextAt = now() + interval;
        probe.requests += 1;
        return exchange(base, req, await o.token(), o);
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
  return probe;
}

async function exchange(base: string, req: ProbeRequest, token: string, o: HcmProbeOptions) {
  const url = new URL(/^https?:\/\//.test(req.path) ? req.path : `${base}${REST_ROOT}/${req.path}`);
  for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = {
    Authorization: `Bearer ${token}`,
    'REST-Framework-Version': REST_FRAMEWORK_VERSION,
    Accept: 'application/json',
  };
  if (req.body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    const res = await (o.fetch ?? fetch)(url, {
      method: req.method ?? 'GET',
      headers,
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: AbortSignal.timeout(o.timeoutMs ?? 15_000),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json, message: errorText(json, text) };
  } catch (err) {
    const e = err as { name?: string; message?: string; cause?: { code?: string } };
    const why = e.cause?.code ?? e.name ?? 'error';
    return { status: 0, message: '', error: `${url.host}: ${why} ${maskSecrets(e.message ?? '')}`.trim() };
  }
}

/** ADF error bodies carry the human text in `detail` or `o:errorDetails[].detail`. */
function errorText(json: unknown, text: string): string {
  if (json && typeof json === 'object') {
    const j = json as { detail?: unknown; title?: unknown; 'o:errorDetails'?: Array<{ detail?: unknown }> };
    const details = (j['o:errorDetails'] ?? []).map((d) => d.detail).filter((d) => typeof d === 'string');
    if (details.length > 0) return maskSecrets(details.join('; ').slice(0, 300));
    if (typeof j.detail === 'string') return maskSecrets(j.detail.slice(0, 300));
    if (typeof j.title === 'string') return maskSecrets(j.title.slice(0, 300));
    return '';
  }
  return maskSecrets(text.replace(/\s+/g, ' ').slice(0, 300));
}

/** `items` of an ADF collection answer (empty when the body is not one). */
export function itemsOf(answer: ProbeAnswer): Record<string, unknown>[] {
  const items = (answer.json as { items?: unknown } | undefined)?.items;
  return Array.isArray(items)
    ? (items.filter((i) => i && typeof i === 'object') as Record<string, unknown>[])
    : [];
}

/** An item's href for `rel` (Oracle: keys come from links, never from bodies). */
export function linkOf(item: Record<string, unknown>, rel = 'self'): string | undefined {
  const links = item.links;
  if (!Array.isArray(links)) return undefined;
  const link = links.find((l) => l && typeof l === 'object' && (l as { rel?: unknown }).rel === rel) as
    | { href?: unknown }
    | undefined;
  return typeof link?.href === 'string' ? link.href : undefined;
}

/** "HTTP 403: message" or the network error: the part of a detail line that says what HCM answered. */
export function answered(a: ProbeAnswer): string {
  if (a.status === 0) return `no answer (${a.error ?? 'network error'})`;
  return a.message ? `HTTP ${a.status}: ${a.message}` : `HTTP ${a.status}`;
}
