import type { HdlPartItem, HdlPartStore, HdlSendFence, HdlSendMark } from '#core/checkpoint/index.ts';
import type { HdlDataSets } from '#core/hdl/index.ts';
import { AmbiguousWriteError, HdlLoadStuckError } from '../errors.ts';
import { type Clock, systemClock } from '../ports.ts';
import { protocolGuards } from '../protocol-guards.ts';
import type { IndexObjects } from './goal-index-objects.ts';
import { hdlObjectKey } from './hdl-build.ts';

export interface HdlSubmitDeps {
  parts: HdlPartStore;
  objects: IndexObjects;
  dataSets: HdlDataSets;
  /**
   * The run generation's fence for sends (guard H2): absent only where no run lease exists (tests of
   * the protocol alone). The state machine's steps always have one.
   */
  sendFence?: HdlSendFence;
  clock?: Clock;
}

export interface HdlSubmitResult {
  submitted: number;
  /** Parts left unsubmitted because an earlier take of the lease may still load one of its own. */
  held: number;
  /** When `held`: how long to wait before trying again (the poll loop's Wait does it). */
  holdSeconds: number;
}

/** How long to wait before looking again at an earlier take's data set that is still loading. */
const EARLIER_LOAD_RECHECK_SECONDS = 30;

/**
 * Submits every part of the run that has no RequestId yet (issue 24 item 3). Each part: look its data
 * set up by name first (a crash after createFileDataSet, or a lost answer, left one running: its
 * RequestId is taken, nothing is sent again), else upload the zip under the part's name as content id
 * (a repeated upload replaces the same content) and create the data set under the same name. A lost
 * createFileDataSet answer is settled by the same lookup before the one resubmission.
 */
export async function submitHdlParts(runId: string, deps: HdlSubmitDeps): Promise<HdlSubmitResult> {
  const todo = (await deps.parts.list(runId)).filter((p) => p.requestId === undefined);
  if (todo.length === 0) return { submitted: 0, held: 0, holdSeconds: 0 };
  const fence = protocolGuards.hdlSendUnderRunGeneration ? deps.sendFence : undefined;
  if (fence) {
    const holdSeconds = await earlierSendHold(await fence.earlierMark(), deps);
    if (holdSeconds > 0) return { submitted: 0, held: todo.length, holdSeconds };
  }
  for (const part of todo) await submitPart(runId, part, { ...deps, sendFence: fence });
  return { submitted: todo.length, held: 0, holdSeconds: 0 };
}

/**
 * Seconds to hold this take's parts back for an earlier take's sends (0: none). The mark names the
 * earlier take's run and its last part sent: while any data set of that run is loading, hold (older
 * content must land first); while the marked part has no data set yet and its request may still reach
 * Oracle (`until`), hold. A part of an older run sent, or loaded, after a newer run's would put older
 * content back (window H2). A run that ended normally left only loaded data sets: nothing is held.
 */
async function earlierSendHold(mark: HdlSendMark | undefined, deps: HdlSubmitDeps): Promise<number> {
  if (mark === undefined) return 0;
  for (const p of await deps.parts.list(mark.runId)) {
    const marked = p.name === mark.part;
    if (p.requestId === undefined && !marked) continue;
    const state =
      p.requestId !== undefined
        ? await deps.dataSets.status(p.requestId)
        : await deps.dataSets.findByName(p.name);
    if (state?.phase === 'running') return EARLIER_LOAD_RECHECK_SECONDS;
    const now = (deps.clock ?? systemClock).now();
    if (state === undefined && marked && now < mark.until) return Math.ceil((mark.until - now) / 1000);
  }
  return 0;
}

async function submitPart(runId: string, part: HdlPartItem, deps: HdlSubmitDeps): Promise<number> {
  const lookup = async () =>
    protocolGuards.hdlLookupBeforeResubmit ? await deps.dataSets.findByName(part.name) : undefined;
  const found = await lookup();
  if (found) return deps.parts.setSubmitted(runId, part.part, found.requestId);
  const body = await deps.objects.get(hdlObjectKey(runId, part.name, 'zip'));
  if (body === undefined) throw new HdlLoadStuckError(`HDL part ${part.name} has no stored file`, []);
  const zip = Buffer.from(body, 'base64');
  const contentId = await once(
    () => deps.dataSets.upload(part.name, part.name, zip),
    async () => part.name,
  );
  const requestId = await once(
    async () => {
      // Refused (RunLeaseLostError) once a later take of the lease exists: nothing older leaves.
      await deps.sendFence?.beforeSend(part.name);
      return deps.dataSets.create(contentId, part.name);
    },
    async () => (await lookup())?.requestId,
  );
  return deps.parts.setSubmitted(runId, part.part, requestId);
}

/**
 * Runs a POST whose answer may be lost; on AmbiguousWriteError asks `settle` whether it took effect
 * (undefined: it did not) and repeats it once when it did not. A second lost answer is a TransientError
 * for the state machine's retry, which starts again from the lookup.
 */
async function once<T>(send: () => Promise<T>, settle: () => Promise<T | undefined>): Promise<T> {
  try {
    return await send();
  } catch (err) {
    if (!(err instanceof AmbiguousWriteError)) throw err;
    const settled = await settle();
    if (settled !== undefined) return settled;
    return send();
  }
}

export interface HdlPollOptions {
  /** Longest wait between polls (default 300 s): a long load is polled every few minutes. */
  maxWaitSeconds?: number;
  /** First wait (default 5 s), doubled per poll round. */
  firstWaitSeconds?: number;
  /** How long a part may stay in progress after its submission before the run fails (default 5 h). */
  budgetSeconds?: number;
}

export const HDL_POLL_DEFAULTS = {
  maxWaitSeconds: 300,
  firstWaitSeconds: 5,
  budgetSeconds: 5 * 3600,
} as const;

export interface HdlPollResult {
  /** Parts still loading, or not yet submitted. */
  pending: number;
  /** The Wait state's next wait: grows with each round, up to maxWaitSeconds. */
  waitSeconds: number;
  round: number;
}

/**
 * One poll round (the state machine waits between rounds, no Lambda sleeps): reads each submitted
 * part's data set once and marks those that ended `loaded`. A part in progress past the budget fails
 * the run with HdlLoadStuckError naming its RequestIds; a resume polls the same data sets.
 */
export async function pollHdlParts(
  runId: string,
  round: number,
  deps: Pick<HdlSubmitDeps, 'parts' | 'dataSets'> & { clock: Clock },
  options: HdlPollOptions = {},
): Promise<HdlPollResult> {
  const o = { ...HDL_POLL_DEFAULTS, ...options };
  const stuck: HdlPartItem[] = [];
  let pending = 0;
  for (const part of await deps.parts.list(runId)) {
    if (part.requestId === undefined) {
      // Held back by an earlier take's send (H2): the poll step submits it once that has settled.
      pending += 1;
      continue;
    }
    if (part.status !== 'submitted') continue;
    const state = await deps.dataSets.status(part.requestId);
    if (state.phase === 'running') {
      pending += 1;
      const since = part.submittedAt ? Date.parse(part.submittedAt) : deps.clock.now();
      if (deps.clock.now() - since > o.budgetSeconds * 1000) stuck.push(part);
      continue;
    }
    await deps.parts.update(runId, part.part, { status: 'loaded', statusCode: state.statusCode });
  }
  if (stuck.length > 0) {
    const ids = stuck.map((p) => p.requestId!);
    throw new HdlLoadStuckError(
      `HDL data sets still in progress ${o.budgetSeconds} s after submission: RequestId ${ids.join(', ')}; resume the run to poll them again`,
      ids,
    );
  }
  const waitSeconds = Math.min(o.maxWaitSeconds, o.firstWaitSeconds * 2 ** Math.min(round, 16));
  return { pending, waitSeconds, round: round + 1 };
}
