import {
  AmbiguousWriteError,
  ConnectionRecoveringError,
  HcmRequestError,
  TransientError,
} from '../errors.ts';
import type { IssuedToken, TokenProvider } from '../ports.ts';
import { nextDelay, parseRetryAfter, sleep } from '../retry.ts';
import { assigneeOf, NoSelfLink, planGoalOf, type RawItem } from './items.ts';
import { AdaptiveLimiter } from './limiter.ts';
import { type GoalPayload, type GoalRef, type HcmCollection, hcmResources, type PlanGoal } from './oracle.ts';
import type {
  AssigneesPage,
  GoalQuery,
  HcmGoals,
  PlanGoalsPage,
  PlanGoalsQuery,
  WriteGuard,
} from './port.ts';
import {
  type Answer,
  type Budget,
  capRetryAfter,
  classifyNetworkError,
  errorMessage,
  fitsBudget,
  hasErrorDetails,
  parseJson,
  throttlePauseMs,
} from './response.ts';
import { judgeUnauthorized, MAX_LATE_TOKEN_RETRIES } from './unauthorized.ts';
import { tokenThenGuard } from './write-order.ts';

export interface HcmClientStats {
  requests: number;
  unauthorized: number;
  throttled: number;
  serverErrors: number;
  networkErrors: number;
  retries: number;
  refreshesAfterUnauthorized: number;
}

export interface HcmClientOptions {
  baseUrl: string;
  connectionId: string;
  tokens: TokenProvider;
  /** Per request, body included (default 10 s). */
  timeoutMs?: number;
  /**
   * Attempts per call for 5xx answers and network failures, the first included (default 5). A 401
   * retry is extra, and so are 429 retries: see maxThrottledAttempts.
   */
  maxAttempts?: number;
  /**
   * A 429 is always safe to repeat (the server did not take the request on), so throttled attempts
   * go on until the time budget (remainingTimeMs) runs short; this caps them when no budget is
   * known, and as a backstop (default 60, each after at least its Retry-After).
   */
  maxThrottledAttempts?: number;
  /** Paces this client's requests (AIMD on the rate); shared by all calls of the client. */
  limiter?: AdaptiveLimiter;
  random?: () => number;
  /** Full-jitter backoff between attempts (defaults 200 ms base, 5 s cap); Retry-After wins up to its cap (30 s). */
  backoff?: { baseMs?: number; capMs?: number; maxRetryAfterMs?: number };
  /** Page size for finders (default 100). */
  pageSize?: number;
  sleep?: (ms: number) => Promise<void>;
  /**
   * Time left for the caller (e.g. Lambda's context.getRemainingTimeInMillis): no retry is started
   * that could not finish in it, so the error surfaces while there is still time to checkpoint.
   */
  remainingTimeMs?: () => number;
}

/**
 * REST-Framework-Version 4: errors come back as ADF error JSON, and `q` is a row-match expression
 * (`PersonId=300100001 and GoalName='It''s done'`).
 */
export const REST_FRAMEWORK_VERSION = '4';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

interface Request {
  method: Method;
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  headers?: Record<string, string>;
  guard?: WriteGuard;
}

export class HcmGoalsClient implements HcmGoals {
  readonly stats: HcmClientStats = {
    requests: 0,
    unauthorized: 0,
    throttled: 0,
    serverErrors: 0,
    networkErrors: 0,
    retries: 0,
    refreshesAfterUnauthorized: 0,
  };
  readonly limiter: AdaptiveLimiter;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly maxThrottledAttempts: number;
  private readonly pageSize: number;
  private readonly backoff: { baseMs: number; capMs: number; maxRetryAfterMs: number; random: () => number };
  private readonly wait: (ms: number) => Promise<void>;

  constructor(private readonly o: HcmClientOptions) {
    this.baseUrl = o.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.maxAttempts = Math.max(1, o.maxAttempts ?? 5);
    this.maxThrottledAttempts = Math.max(1, o.maxThrottledAttempts ?? 60);
    this.pageSize = o.pageSize ?? 100;
    this.limiter = o.limiter ?? new AdaptiveLimiter();
    this.backoff = {
      baseMs: o.backoff?.baseMs ?? 200,
      capMs: o.backoff?.capMs ?? 5_000,
      maxRetryAfterMs: o.backoff?.maxRetryAfterMs ?? 30_000,
      random: o.random ?? Math.random,
    };
    this.wait = o.sleep ?? sleep;
  }

  /** Requests this client needs in flight to use its pacer's rate at the latency it sees (limiter.demand). */
  inFlightDemand(): number {
    return this.limiter.demand;
  }

  withTimeBudget(remainingTimeMs: () => number): HcmGoals {
    return {
      inFlightDemand: () => this.inFlightDemand(),
      findGoals: (goalPlanId, query) => this.findGoals(goalPlanId, query, remainingTimeMs),
      listPlanGoals: (goalPlanId, page) => this.listPlanGoals(goalPlanId, page, remainingTimeMs),
      listPlanAssignees: (goalPlanId, page, personNumber) =>
        this.listPlanAssignees(goalPlanId, page, personNumber, remainingTimeMs),
      listPlanAssigneesIn: (goalPlanId, personNumbers, page) =>
        this.listPlanAssigneesIn(goalPlanId, personNumbers, page, remainingTimeMs),
      create: (goalPlanId, payload, guard) => this.createWithin(goalPlanId, payload, guard, remainingTimeMs),
      update: (ref, patch, etag, guard) => this.updateWithin(ref, patch, etag, guard, remainingTimeMs),
      withTimeBudget: (other) => this.withTimeBudget(other),
    };
  }

  /**
   * A JSON call on another resource of the same pod (HCM Data Loader's `dataLoadDataSets`, a goal
   * plan): the same pacer, token handling and retry rules as the goal calls, so a POST whose answer
   * is lost throws AmbiguousWriteError and the caller settles it (core/hdl). Answers the parsed body.
   */
  async request(
    method: 'GET' | 'POST',
    path: string,
    options: { query?: Record<string, string>; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<unknown> {
    const answer = await this.send({ method, path, ...options });
    return parseJson<unknown>(answer);
  }

  /**
   * A worker's goals in one plan, on the plan's child collection (never the top-level, read-only
   * `performanceGoals`: its items have keys of their own). Not onlyData: the keys are in the links.
   */
  async findGoals(goalPlanId: number, query: GoalQuery, budget?: Budget): Promise<PlanGoal[]> {
    const q =
      query.goalName === undefined
        ? `PersonId=${query.personId}`
        : `PersonId=${query.personId} and GoalName=${quote(query.goalName)}`;
    const goals: PlanGoal[] = [];
    for (let offset = 0; ; ) {
      const params = { q, limit: String(this.pageSize), offset: String(offset) };
      const page = parseJson<HcmCollection<RawItem>>(
        await this.send({ method: 'GET', path: hcmResources.planGoals(goalPlanId), query: params }, budget),
      );
      goals.push(...page.items.map((item) => this.planGoal(item, goalPlanId, 'GET')));
      // An empty page that claims more would loop forever.
      if (!page.hasMore || page.items.length === 0) break;
      offset += page.items.length;
    }
    // The finder's matching rules are Oracle's (case, whitespace); the natural key is exact.
    return goals.filter(
      (g) =>
        (g.PersonId === undefined || g.PersonId === query.personId) &&
        (query.goalName === undefined || g.GoalName === query.goalName),
    );
  }

  /**
   * One page of a plan's goals, on the plan's own child collection ("Get all performance goals").
   * Not onlyData: each item's self link holds its key and its `changeIndicator` (the ETag).
   */
  async listPlanGoals(goalPlanId: number, page: PlanGoalsQuery, budget?: Budget): Promise<PlanGoalsPage> {
    const query: Record<string, string> = { limit: String(page.limit), offset: String(page.offset) };
    if (page.totalResults) query.totalResults = 'true';
    if (page.keyset) {
      query.orderBy = 'GoalId:asc';
      if (page.keyset.after !== undefined) query.q = `GoalId > ${page.keyset.after}`;
    }
    const body = parseJson<HcmCollection<RawItem>>(
      await this.send({ method: 'GET', path: hcmResources.planGoals(goalPlanId), query }, budget),
    );
    return {
      items: body.items.map((item) => this.planGoal(item, goalPlanId, 'GET')),
      hasMore: body.hasMore === true,
      ...(typeof body.totalResults === 'number' ? { totalResults: body.totalResults } : {}),
    };
  }

  /** One page of the workers' assignments on a plan (`goalPlanAssignees`; onlyData: no key needed). */
  async listPlanAssignees(
    goalPlanId: number,
    page: PlanGoalsQuery,
    personNumber?: string,
    budget?: Budget,
  ): Promise<AssigneesPage> {
    const q =
      personNumber === undefined
        ? `GoalPlanId=${goalPlanId}`
        : `GoalPlanId=${goalPlanId} and PersonNumber=${quote(personNumber)}`;
    return this.assigneesPage(
      goalPlanId,
      q,
      personNumber === undefined ? undefined : [personNumber],
      page,
      budget,
    );
  }

  /** One page of the named workers' assignments on a plan, in one `IN` list (port.listPlanAssigneesIn). */
  listPlanAssigneesIn(
    goalPlanId: number,
    personNumbers: readonly string[],
    page: PlanGoalsQuery,
    budget?: Budget,
  ): Promise<AssigneesPage> {
    const q = `GoalPlanId=${goalPlanId} and PersonNumber IN (${personNumbers.map(quote).join(', ')})`;
    return this.assigneesPage(goalPlanId, q, personNumbers, page, budget);
  }

  /** Rows of other plans or workers than asked (a pod that ignored part of `q`) are dropped, not trusted. */
  private async assigneesPage(
    goalPlanId: number,
    q: string,
    personNumbers: readonly string[] | undefined,
    page: PlanGoalsQuery,
    budget?: Budget,
  ): Promise<AssigneesPage> {
    const asked = personNumbers && new Set(personNumbers);
    const query = {
      q,
      limit: String(page.limit),
      offset: String(page.offset),
      onlyData: 'true',
      ...(page.totalResults ? { totalResults: 'true' } : {}),
    };
    const body = parseJson<HcmCollection<RawItem>>(
      await this.send({ method: 'GET', path: hcmResources.goalPlanAssignees, query }, budget),
    );
    const items = body.items
      .filter((item) => item.GoalPlanId === undefined || item.GoalPlanId === goalPlanId)
      .filter((item) => asked === undefined || asked.has(String(item.PersonNumber)))
      .flatMap((item) => assigneeOf(item) ?? []);
    return {
      items,
      read: body.items.length,
      hasMore: body.hasMore === true && body.items.length > 0,
      ...(typeof body.totalResults === 'number' ? { totalResults: body.totalResults } : {}),
    };
  }

  create(goalPlanId: number, payload: GoalPayload, guard?: WriteGuard): Promise<PlanGoal> {
    return this.createWithin(goalPlanId, payload, guard);
  }

  update(ref: GoalRef, patch: Partial<GoalPayload>, etag?: string, guard?: WriteGuard): Promise<PlanGoal> {
    return this.updateWithin(ref, patch, etag, guard);
  }

  /**
   * DELETE of the goal at `ref`: the twins command's, on a person's word (no run deletes a goal). With
   * the ETag the goal was listed with, a goal edited since is refused (412), not deleted. Repeatable: a
   * DELETE taken twice removes one goal, and one already gone answers 404 (`gone`).
   */
  async remove(ref: GoalRef, etag?: string): Promise<'deleted' | 'gone'> {
    const headers: Record<string, string> = etag ? { 'If-Match': etag } : {};
    try {
      await this.send({ method: 'DELETE', path: ref.path, headers });
      return 'deleted';
    } catch (err) {
      if (err instanceof HcmRequestError && err.status === 404) return 'gone';
      throw err;
    }
  }

  private async createWithin(
    goalPlanId: number,
    payload: GoalPayload,
    guard?: WriteGuard,
    budget?: Budget,
  ): Promise<PlanGoal> {
    // null means "not set", which a new goal is anyway.
    const body = Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== null && v !== undefined));
    const path = hcmResources.planGoals(goalPlanId);
    const answer = await this.send({ method: 'POST', path, body, ...(guard ? { guard } : {}) }, budget);
    return this.planGoal(parseJson<RawItem>(answer), goalPlanId, 'POST');
  }

  private async updateWithin(
    ref: GoalRef,
    patch: Partial<GoalPayload>,
    etag?: string,
    guard?: WriteGuard,
    budget?: Budget,
  ): Promise<PlanGoal> {
    const headers: Record<string, string> = etag ? { 'If-Match': etag } : {};
    const answer = await this.send(
      { method: 'PATCH', path: ref.path, body: patch, headers, ...(guard ? { guard } : {}) },
      budget,
    );
    return this.planGoal(parseJson<RawItem>(answer), ref.goalPlanId, 'PATCH');
  }

  /**
   * An item of the plan child: without a self link the goal cannot be addressed. After a POST that
   * means a goal may exist that we cannot name: an unclear write (the next pass finds it first).
   */
  private planGoal(item: RawItem, goalPlanId: number, method: Method): PlanGoal {
    try {
      return planGoalOf(item, goalPlanId, this.baseUrl);
    } catch (err) {
      if (!(err instanceof NoSelfLink)) throw err;
      const what = `${method} ${hcmResources.planGoals(goalPlanId)}`;
      if (method === 'POST') throw new AmbiguousWriteError(what, err.message, { cause: err });
      throw new HcmRequestError(200, `${what}: ${err.message}`, { cause: err });
    }
  }

  /**
   * One logical call: pacer slot, then the token (taken inside the slot: a request may queue behind
   * the pacer longer than a short-lived token stays fresh), timeout, then by answer: 2xx done; 401
   * replace that token version and retry (unauthorized.ts: bounded retries while tokens expire on the
   * way, one for a token refused while fresh); 429 pause the pacer for Retry-After and retry (until
   * the time budget runs short); 503 and 504 slow the pacer too (a pod's overload); 5xx answers and
   * network failures retry only where repeating is harmless (GET), a POST or PATCH throws
   * AmbiguousWriteError (a 503 too: the write may have been taken on); other 4xx, and a 500 with
   * o:errorDetails (a business rule), throw HcmRequestError. Retries go to the head of the queue.
   */
  private async send(req: Request, budget: Budget | undefined = this.o.remainingTimeMs): Promise<Answer> {
    const what = `${req.method} ${req.path}`;
    // Only a read is repeated blind. A write is repeated only where it provably was not taken (a
    // refused connection, a 401, a 429); any other failure of a POST or PATCH may still land.
    const repeatable = req.method === 'GET' || req.method === 'DELETE';
    let replace: { minVersion: number; trigger: 'afterUnauthorized' } | undefined;
    let refusedFresh = false;
    let lateTokens = 0;
    let throttles = 0;
    let sentAny = false;
    for (let attempt = 1, retry = false; ; retry = true) {
      let used: IssuedToken | undefined;
      let sentAt: number | undefined;
      const answer = await this.limiter.run(
        async () => {
          // When the pacer released this attempt: a 429 for it belongs to the rate of that moment.
          sentAt = this.limiter.clock();
          // The token first, then the claim check (write-order.ts): a token failure marks nothing. A
          // guard that throws means this attempt is never sent.
          used = await tokenThenGuard(
            () =>
              this.o.tokens.getToken(this.o.connectionId, replace).catch((err: unknown) => {
                throw sentAny ? err : notSentYet(err);
              }),
            req.guard,
          );
          sentAny = true;
          return this.exchange(req, what, used, repeatable);
        },
        { first: retry },
      );
      replace = undefined;
      let failure: TransientError;
      if (answer instanceof TransientError) {
        failure = answer;
      } else if (answer.status >= 200 && answer.status < 300) {
        this.limiter.onSuccess();
        return answer;
      } else if (answer.status === 401) {
        this.stats.unauthorized += 1;
        const message = errorMessage(answer.text, 'unauthorized');
        // A 401 means the request was not taken on, so a retry is safe for every method.
        if (judgeUnauthorized(used!, Date.now()) === 'late') {
          lateTokens += 1;
          if (lateTokens > MAX_LATE_TOKEN_RETRIES || !fitsBudget(this.timeoutMs, budget))
            throw new TransientError(
              `${what}: HTTP 401 ${lateTokens} times in a row on tokens that expired on the way (the run is slow against the token lifetime): ${message}`,
              undefined,
              { status: 401 },
            );
        } else if (refusedFresh) {
          throw new HcmRequestError(
            401,
            `${what}: ${message} (a token that was fresh when sent was refused again after a refresh: the grant is not allowed this request)`,
          );
        } else {
          refusedFresh = true;
        }
        this.stats.refreshesAfterUnauthorized += 1;
        // Invalidate-if-same: replace exactly the version that failed; a newer one is taken as is.
        replace = { minVersion: used!.version + 1, trigger: 'afterUnauthorized' };
        continue;
      } else if (answer.status === 429) {
        throttles += 1;
        const giveUp = this.throttled(what, answer, throttles, budget, sentAt);
        if (giveUp) throw giveUp;
        // The wait is the pacer's pause (every request of this client waits it out), not a sleep here.
        this.stats.retries += 1;
        continue;
      } else {
        if (answer.status === 503 || answer.status === 504) this.overloaded(answer, sentAt);
        failure = this.classifyStatus(what, answer, repeatable);
      }
      if (attempt >= this.maxAttempts) throw failure;
      const delayMs = nextDelay(
        attempt - 1,
        capRetryAfter(failure, this.backoff.maxRetryAfterMs),
        this.backoff,
      );
      if (!fitsBudget(delayMs + this.timeoutMs, budget)) throw failure;
      attempt += 1;
      this.stats.retries += 1;
      await this.wait(delayMs);
    }
  }

  /**
   * A 429: pauses the pacer for Retry-After (or a full-jitter backoff without one) and slows it.
   * Returns the error to give up with when no further attempt fits the budget or the backstop.
   */
  private throttled(
    what: string,
    answer: Answer,
    throttles: number,
    budget: Budget | undefined,
    sentAt: number | undefined,
  ): TransientError | undefined {
    this.stats.throttled += 1;
    const message = errorMessage(answer.text, 'HTTP 429');
    const retryAfterMs = parseRetryAfter(answer.headers.get('retry-after'));
    this.limiter.onOverload(throttlePauseMs(retryAfterMs, throttles, this.backoff), sentAt);
    const failure = new TransientError(`${what}: throttled: ${message}`, retryAfterMs, { status: 429 });
    if (throttles >= this.maxThrottledAttempts) return failure;
    if (!fitsBudget(this.limiter.pausedForMs + this.timeoutMs, budget)) return failure;
    return undefined;
  }

  /**
   * A 503 or 504: the pod is overloaded (Oracle shows overload as these, not as 429). Slows the pacer
   * once per overload like a 429, pausing it for a Retry-After when the answer has one.
   */
  private overloaded(answer: Answer, sentAt: number | undefined): void {
    const retryAfterMs = parseRetryAfter(answer.headers.get('retry-after'));
    const pauseMs =
      retryAfterMs === undefined ? undefined : Math.min(retryAfterMs, this.backoff.maxRetryAfterMs);
    this.limiter.onOverload(pauseMs, sentAt);
  }

  /** A non-2xx, non-401, non-429 answer: returns the error to retry on, or throws the one to give up with. */
  private classifyStatus(what: string, answer: Answer, repeatable: boolean): TransientError {
    const { status } = answer;
    const message = errorMessage(answer.text, `HTTP ${status}`);
    const retryAfterMs = parseRetryAfter(answer.headers.get('retry-after'));
    if (status < 500) throw new HcmRequestError(status, `${what}: ${message}`);
    this.stats.serverErrors += 1;
    // Oracle reports a business-rule failure as a 500 with o:errorDetails: refused, not unclear.
    if (status === 500 && hasErrorDetails(answer.text))
      throw new HcmRequestError(status, `${what}: ${message}`, { businessRule: true });
    const failure = new TransientError(`${what}: HTTP ${status}: ${message}`, retryAfterMs, { status });
    // Any 5xx may come after the write committed: Oracle documents no 503 that promises otherwise, and
    // a gateway's 503 or 504 says nothing about the pod behind it. Only a repeatable request is retried.
    if (repeatable) return failure;
    throw new AmbiguousWriteError(what, `HTTP ${status}: ${message}`, { status });
  }

  /** One HTTP exchange. A network failure comes back as a TransientError to retry, or is thrown. */
  private async exchange(
    req: Request,
    what: string,
    token: IssuedToken,
    repeatable: boolean,
  ): Promise<Answer | TransientError> {
    const url = new URL(this.baseUrl + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token.accessToken}`,
      'REST-Framework-Version': REST_FRAMEWORK_VERSION,
      Accept: 'application/json',
      ...(req.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...req.headers,
    };
    this.stats.requests += 1;
    try {
      const res = await fetch(url, {
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // The body is read under the same timeout: a stalled body is as ambiguous as a stalled header.
      return { status: res.status, text: await res.text(), headers: res.headers };
    } catch (err) {
      this.stats.networkErrors += 1;
      const failure = classifyNetworkError(err, this.timeoutMs);
      const error = new TransientError(`${what}: ${failure.detail}`, undefined, { cause: err });
      if (repeatable || failure.kind === 'not_sent') return error;
      throw new AmbiguousWriteError(what, failure.detail, { cause: err });
    }
  }
}

/** A token failure before any attempt of the call left: said so, for the caller's claim bookkeeping. */
function notSentYet(err: unknown): unknown {
  if (!(err instanceof ConnectionRecoveringError)) return err;
  return new ConnectionRecoveringError(err.connectionId, err.reason, err.retryAt, {
    cause: err,
    notSent: true,
  });
}

/** A quoted row-match literal: single quotes doubled. */
function quote(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
