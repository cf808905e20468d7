import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unlessConditionFails } from '../aws-errors.ts';
import { CheckpointConflictError, ClaimLostError, RunLeaseLostError } from '../errors.ts';
import { type Clock, systemClock } from '../ports.ts';
import { protocolGuards } from '../protocol-guards.ts';
import { dynamoCall } from './batch-io.ts';
import { LEDGER_SK, ledgerPk } from './item-keys.ts';
import type { RunFence } from './run-lease.ts';
import type { DoneAction, HcmIds, LedgerItem } from './run-types.ts';

/** Timing of the write protocol (docs/invariants.md, invariant 7). */
export interface WriteTiming {
  /** How long a claim shuts other writers out; renewed before every write request. */
  claimTtlMs: number;
  /** The HCM client's per-request timeout: a write is sent only with at least this much claim left. */
  requestTimeoutMs: number;
  /** How long after an unclear write (or a writer that vanished) HCM may still commit it. */
  visibilityMs: number;
  /** Allowance for clock differences between workers and for the renewal's own round trip. */
  marginMs: number;
  /**
   * How long a worker that met another's live claim waits before it looks again (default 5 s): a
   * live holder usually finishes in well under a second, so this is not the claim's expiry.
   */
  claimRecheckMs?: number;
  /**
   * How long after an unclear POST a record whose goal no read has shown stays `unsettled` instead of
   * being created again (default 24 h): far beyond any gateway or commit delay, so a second POST
   * never races a first one that may still land (invariant 7).
   */
  settleHorizonMs?: number;
}

/** The settle horizon's default: a day, far beyond Oracle's request and gateway timeouts. */
export const SETTLE_HORIZON_DEFAULT_MS = 24 * 60 * 60_000;

export const WRITE_TIMING_DEFAULTS: WriteTiming = {
  claimTtlMs: 120_000,
  requestTimeoutMs: 10_000,
  // Longer than Oracle's own gateway/request timeouts, so a write that is still in Oracle's hands
  // after the client gave up has committed (or died) before anyone looks for it.
  visibilityMs: 60_000,
  marginMs: 2_000,
  claimRecheckMs: 5_000,
  settleHorizonMs: SETTLE_HORIZON_DEFAULT_MS,
};

export type LedgerClaim =
  | { claimed: true; previous?: LedgerItem }
  | { claimed: false; current?: LedgerItem; until: number };

const CLAIM_FIELDS = 'claimOwner, claimRunId, claimExpiresAt';
const WRITE_FIELDS = 'writeStartedAt, visibleAfter, ambiguous, unclearWrites, postStartedAt, patchStartedAt';

/**
 * Claims and commits on the ledger item of (connection, external key). One item holds both, so a
 * writer's commit (ids + content hash) is a single conditional write that requires its claim: there
 * is no window in which the ledger can point at a goal written by a worker that no longer owned it.
 */
export class GoalLedger {
  private readonly clock: Clock;
  private readonly fence: RunFence | undefined;

  /**
   * `scope.generation`: the run generation the pass's plan got (invariant 10). With it, a claim takes
   * only items no later generation has claimed (and stamps `runGeneration`), and the write guard and
   * the commit require the item still at it; `fence` checks the connection's run lease before every
   * claim and write request. Without them (tests of the ledger alone) no generation is checked.
   */
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly scope: { runId: string; connectionId: string; generation?: number },
    private readonly timing: WriteTiming = WRITE_TIMING_DEFAULTS,
    options: { clock?: Clock; fence?: RunFence } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.fence = options.fence;
    const room = timing.claimTtlMs - timing.requestTimeoutMs - 2 * timing.marginMs;
    if (room <= 0) {
      throw new CheckpointConflictError(
        `claim TTL ${timing.claimTtlMs} ms leaves no room for a ${timing.requestTimeoutMs} ms request`,
      );
    }
  }

  private key(externalKey: string, owner?: string) {
    return { pk: ledgerPk(this.claimScope(owner), externalKey), sk: LEDGER_SK };
  }

  /** The connection; mutations O3/O4 give each run (or each invocation) claims of its own, as before the fix. */
  private claimScope(owner: string | undefined): string {
    const { connectionId, runId } = this.scope;
    if (!protocolGuards.noTakeoverWithinRun && owner !== undefined)
      return `${connectionId}~${runId}~${owner}`;
    if (!protocolGuards.noTakeoverAcrossRuns) return `${connectionId}~${runId}`;
    return connectionId;
  }

  /** How long after an unclear POST its record is not created again (WriteTiming.settleHorizonMs). */
  get settleHorizonMs(): number {
    return this.timing.settleHorizonMs ?? SETTLE_HORIZON_DEFAULT_MS;
  }

  async get(externalKey: string): Promise<LedgerItem | undefined> {
    const out = await dynamoCall('GetItem', () =>
      this.doc.send(
        new GetCommand({ TableName: this.table, Key: this.key(externalKey), ConsistentRead: true }),
      ),
    );
    return out.Item as LedgerItem | undefined;
  }

  /**
   * Takes the record for `owner` unless another invocation holds an unexpired claim, or a write that
   * may still commit is not visible yet. Claims of earlier attempts and other runs expire like any
   * other: they are never taken over early.
   */
  async claim(externalKey: string, owner: string): Promise<LedgerClaim> {
    // A claim is no write to HCM: a check of the last second stands (one read per second per pass).
    if (this.fence) await this.fence.check({ maxAgeMs: 1_000 });
    const gen = this.generation();
    const now = this.clock.now();
    const out = await unlessConditionFails('DynamoDB UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(externalKey, owner),
          ConditionExpression:
            '(attribute_not_exists(claimOwner) OR claimOwner = :owner OR claimExpiresAt < :now) AND ' +
            '(attribute_not_exists(visibleAfter) OR visibleAfter <= :now)' +
            (gen !== undefined ? ' AND (attribute_not_exists(runGeneration) OR runGeneration <= :gen)' : ''),
          UpdateExpression:
            'SET claimOwner = :owner, claimRunId = :run, claimExpiresAt = :exp, externalKey = :key, connectionId = :conn' +
            (gen !== undefined ? ', runGeneration = :gen' : ''),
          ExpressionAttributeValues: {
            ':owner': owner,
            ':now': now,
            ':run': this.scope.runId,
            ':exp': now + this.timing.claimTtlMs,
            ':key': externalKey,
            ':conn': this.scope.connectionId,
            ...(gen !== undefined ? { ':gen': gen } : {}),
          },
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    if (out) {
      const previous = out.Attributes as LedgerItem | undefined;
      return previous ? { claimed: true, previous } : { claimed: true };
    }
    const current = await this.get(externalKey);
    if (gen !== undefined && (current?.runGeneration ?? 0) > gen) this.superseded(current?.runGeneration);
    // Look again soon rather than at the claim's expiry; a write not visible yet is waited out in full.
    const recheck = this.timing.claimRecheckMs ?? WRITE_TIMING_DEFAULTS.claimRecheckMs ?? 5_000;
    const claimUntil = Math.min(current?.claimExpiresAt ?? 0, now + recheck);
    const until = Math.max(claimUntil, current?.visibleAfter ?? 0, now + 1_000);
    return { claimed: false, current, until };
  }

  /**
   * Right before a write request: renews the claim (owner-checked, not expired) and records that a
   * write is starting, so whoever comes next waits until it is visible and looks before creating.
   * Throws ClaimLostError when the claim is gone or the renewal took so long that the request could
   * outlive it.
   */
  async beginWrite(externalKey: string, owner: string, method: 'POST' | 'PATCH'): Promise<void> {
    const t = this.timing;
    // Fresh, right before the request: a run that lost the connection sends nothing more.
    if (this.fence) await this.fence.check();
    const gen = this.generation();
    const started = this.clock.now();
    // Which write left, and when (gone only with a commit or a refusal): an unclear POST means no
    // second POST before a read sees the goal or the settle horizon passes; an unclear PATCH means the
    // next writer moves the goal's ETag on even when the content is already ours.
    const post = method === 'POST' ? ', postStartedAt = :now' : ', patchStartedAt = :now';
    const renewed = await unlessConditionFails('DynamoDB UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(externalKey, owner),
          ConditionExpression: `claimOwner = :owner AND claimExpiresAt > :live${gen !== undefined ? ' AND runGeneration = :gen' : ''}`,
          UpdateExpression: `SET claimExpiresAt = :exp, writeStartedAt = :now, visibleAfter = :visible${post}`,
          ExpressionAttributeValues: {
            ':owner': owner,
            ':live': started + t.marginMs,
            ':exp': started + t.claimTtlMs,
            ':now': started,
            ':visible': started + t.requestTimeoutMs + t.visibilityMs,
            ...(gen !== undefined ? { ':gen': gen } : {}),
          },
        }),
      ),
    );
    if (!renewed)
      throw new ClaimLostError(`record ${externalKey} is no longer claimed by this worker; not writing`);
    const left = started + t.claimTtlMs - this.clock.now();
    if (left < t.requestTimeoutMs + t.marginMs) {
      throw new ClaimLostError(
        `claim renewal of ${externalKey} took too long (${t.claimTtlMs - left} ms); not writing`,
      );
    }
  }

  /**
   * The confirmed write: ids + content hash + the goal's ETag as HCM answered it (every later PATCH
   * carries it as If-Match; none given: the next update reads the goal first), and the claim
   * released, in one owner-checked write.
   */
  async commit(
    externalKey: string,
    owner: string,
    c: {
      contentHash: string;
      ids: HcmIds;
      personNumber: string;
      action: DoneAction;
      etag?: string;
      /** The goal was loaded through HDL under this SourceSystemOwner: HCM holds our source key for it. */
      sourceSystemOwner?: string;
    },
  ): Promise<void> {
    const update =
      'SET contentHash = :hash, hcmGoalId = :gid, performanceGoalsUniqID = :uid, goalPlanId = :plan, goalPath = :path, ' +
      `personNumber = :person, lastRunId = :run, lastAction = :action, syncedAt = :at${c.etag ? ', etag = :etag' : ''}` +
      `${c.sourceSystemOwner ? ', hdlSourceOwner = :owner_key' : ''}` +
      `${c.action === 'created' ? ', postsSent = if_not_exists(postsSent, :zero) + :one' : ''} ` +
      `REMOVE ${CLAIM_FIELDS}, ${WRITE_FIELDS}${c.etag ? '' : ', etag'}`;
    // The claim implies the generation (a claim stamps it); the commit says so in its own condition.
    const gen = this.generation();
    const done = await this.ownedUpdate(
      externalKey,
      owner,
      update,
      {
        ':hash': c.contentHash,
        ':gid': c.ids.hcmGoalId,
        ':uid': c.ids.performanceGoalsUniqID,
        ':plan': c.ids.goalPlanId,
        ':path': c.ids.goalPath,
        ':person': c.personNumber,
        ':run': this.scope.runId,
        ':action': c.action,
        ':at': new Date(this.clock.now()).toISOString(),
        ...(c.etag ? { ':etag': c.etag } : {}),
        ...(c.sourceSystemOwner ? { ':owner_key': c.sourceSystemOwner } : {}),
        ...(c.action === 'created' ? { ':zero': 0, ':one': 1 } : {}),
        ...(gen !== undefined ? { ':gen': gen } : {}),
      },
      gen !== undefined ? 'runGeneration = :gen' : undefined,
    );
    if (!done)
      throw new ClaimLostError(`record ${externalKey} was claimed by another worker before the commit`);
  }

  /**
   * The write's outcome is unknown: release the claim, but nobody may claim the record before HCM has
   * had time to commit a late write; the next claimant reconciles with a finder first. Returns when
   * the record becomes claimable again and how many writes in a row ended unclear.
   */
  async markUnclear(
    externalKey: string,
    owner: string,
    post = false,
  ): Promise<{ visibleAfter: number; unclearWrites: number }> {
    const visibleAfter = this.clock.now() + this.timing.visibilityMs;
    // postsSent (kept by every commit) counts the creates that reached HCM or may have: a committed one
    // (commit, action created) or an unclear POST (here). Two of them and two goals of the key in HCM
    // tell a twin of ours from a duplicate a person made (sync/twins.ts); a POST refused or provably
    // not taken (a 429, a refused connection) counts nothing.
    const update =
      'SET ambiguous = :true, visibleAfter = :visible, unclearWrites = if_not_exists(unclearWrites, :zero) + :one' +
      `${post ? ', postsSent = if_not_exists(postsSent, :zero) + :one' : ''} REMOVE ${CLAIM_FIELDS}`;
    const after = await this.ownedUpdate(externalKey, owner, update, {
      ':true': true,
      ':visible': visibleAfter,
      ':zero': 0,
      ':one': 1,
    });
    // Not ours any more: whoever holds it waits out the visibility our beginWrite set.
    return { visibleAfter, unclearWrites: (after?.unclearWrites as number | undefined) ?? 1 };
  }

  /**
   * Gives the claim back. `settled`: no write of ours or an earlier one can still commit (a finder
   * after the visibility wait found nothing, then HCM refused our write), so the reconcile flags go too.
   */
  async release(externalKey: string, owner: string, settled: boolean): Promise<void> {
    // Already released or taken over after expiry: nothing of ours to give back.
    await this.ownedUpdate(
      externalKey,
      owner,
      `REMOVE ${CLAIM_FIELDS}${settled ? `, ${WRITE_FIELDS}` : ''}`,
      {},
    );
  }

  /**
   * Gives the claim back after a write that never left (the token could not be had, or the claim's
   * renewal took too long to send after it): the marks our beginWrite set return to what the claim
   * found, so the next claimant does not look for a write that was never sent.
   */
  async releaseUnsent(
    externalKey: string,
    owner: string,
    found:
      | { writeStartedAt?: number; visibleAfter?: number; postStartedAt?: number; patchStartedAt?: number }
      | undefined,
  ): Promise<void> {
    const set: string[] = [];
    const remove = [CLAIM_FIELDS];
    const values: Record<string, unknown> = {};
    for (const field of ['writeStartedAt', 'visibleAfter', 'postStartedAt', 'patchStartedAt'] as const) {
      const value = found?.[field];
      if (value === undefined) remove.push(field);
      else {
        set.push(`${field} = :${field}`);
        values[`:${field}`] = value;
      }
    }
    const update = `${set.length > 0 ? `SET ${set.join(', ')} ` : ''}REMOVE ${remove.join(', ')}`;
    await this.ownedUpdate(externalKey, owner, update, values);
  }

  /** An update conditioned on `owner` holding the claim: the new item, or undefined when it does not. */
  private async ownedUpdate(
    externalKey: string,
    owner: string,
    update: string,
    values: Record<string, unknown>,
    alsoRequire?: string,
  ): Promise<Record<string, unknown> | undefined> {
    const out = await unlessConditionFails('DynamoDB UpdateItem', () =>
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(externalKey, owner),
          ConditionExpression: alsoRequire ? `claimOwner = :owner AND ${alsoRequire}` : 'claimOwner = :owner',
          UpdateExpression: update,
          ExpressionAttributeValues: { ':owner': owner, ...values },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    return out ? (out.Attributes ?? {}) : undefined;
  }

  /** The pass's run generation when it is fenced by one (the mutation check turns the fence off). */
  private generation(): number | undefined {
    return protocolGuards.runGenerationFence ? this.scope.generation : undefined;
  }

  private superseded(current: number | undefined): never {
    const { connectionId, runId, generation } = this.scope;
    throw new RunLeaseLostError(connectionId, runId, undefined, generation, current);
  }
}
