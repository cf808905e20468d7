import { createHash } from 'node:crypto';
import { maskSecrets } from '../../mask.ts';
import type { GrantType, RefreshTrigger } from '../../ports.ts';
import { CONNECTION_DUE_INDEX, DUE_SHARDS } from '../../tables.ts';
import {
  type ConnectionItem,
  type ConnectionStatus,
  type OutboxEvent,
  TRIGGER_COUNTER,
} from './connection-item.ts';

/**
 * The UpdateItem expressions of every write to a connection item (pure: no I/O). The store sends them;
 * their conditions (lease owner, version, current status) are what fences one holder from another.
 */

/** A refreshed pair, already encrypted, ready to be committed under the lease. */
export interface CommitInput {
  connectionId: string;
  expectedVersion: number;
  /** The status the holder read: the commit is a transition from it (needs_reauth -> active = reactivation). */
  expectedStatus: ConnectionStatus;
  owner: string;
  commitId: string;
  accessTokenEnvelope: string;
  /** Replaces the stored refresh token in the same write (rotation); undefined keeps the stored one. */
  refreshTokenEnvelope?: string;
  /** connect with a bootstrap refresh token: remember which one was spent. */
  bootstrapFingerprint?: string;
  expiresAt: number;
  issuedAt: number;
  trigger: RefreshTrigger;
  nextProactiveAt: number;
  /** The transition's event (reactivation), written to the outbox in the same write. */
  event?: OutboxEvent;
  now: number;
}

/** A move to needs_reauth by the lease holder: owner- and status-conditioned, event in the same write. */
export interface ReauthTransition {
  connectionId: string;
  owner: string;
  from: ConnectionStatus;
  reason: string;
  /** Nothing rotating was consumed: the sweeper retries at `retryAt` and reactivates on success. */
  retry?: { at: number; count: number };
  /** Absent when the status does not change (needs_reauth stays needs_reauth): no second event. */
  event?: OutboxEvent;
  /** Fingerprint of a refresh token that may have reached the IdP: kept, so `connect` never resends it. */
  spentFingerprint?: string;
  transitionId: string;
  now: number;
}

/** The in-flight marker of a refresh_token request about to be sent. */
export interface MarkerInput {
  connectionId: string;
  owner: string;
  expectedVersion: number;
  fingerprint: string;
  now: number;
}

/** A transient failure recorded by the lease holder as it gives the lease up. */
export interface FailureRecord {
  connectionId: string;
  owner: string;
  message: string;
  now: number;
  clearMarker: boolean;
  retry?: { at: number; count: number };
}

export interface Expr {
  UpdateExpression: string;
  ConditionExpression?: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
}

/** `connect`: creates the item (version 0, not yet usable) or updates its secret and grant. */
export function upsertConfigExpr(config: { secretId: string; grant: GrantType }, now: number): Expr {
  return {
    UpdateExpression:
      'SET #secretId = :secretId, #grant = :grant, #updatedAt = :now, #status = if_not_exists(#status, :initial), ' +
      '#version = if_not_exists(#version, :zero), #createdAt = if_not_exists(#createdAt, :now)',
    ExpressionAttributeNames: {
      '#secretId': 'secretId',
      '#grant': 'grant',
      '#updatedAt': 'updatedAt',
      '#status': 'status',
      '#version': 'version',
      '#createdAt': 'createdAt',
    },
    ExpressionAttributeValues: {
      ':secretId': config.secretId,
      ':grant': config.grant,
      ':now': now,
      ':initial': 'needs_reauth',
      ':zero': 0,
    },
  };
}

/** Owner- and version-fenced: the marker is written only by the holder of the version it read. */
export function markerExpr(input: MarkerInput): Expr {
  return {
    UpdateExpression: 'SET #inflight = :me, #inflightAt = :now, #inflightFp = :fp',
    ConditionExpression: '#owner = :me AND #version = :expected',
    ExpressionAttributeNames: {
      '#inflight': 'refreshInFlight',
      '#inflightAt': 'refreshInFlightAt',
      '#inflightFp': 'refreshInFlightFingerprint',
      '#owner': 'leaseOwner',
      '#version': 'version',
    },
    ExpressionAttributeValues: {
      ':me': input.owner,
      ':now': input.now,
      ':fp': input.fingerprint,
      ':expected': input.expectedVersion,
    },
  };
}

/** Fenced on version, lease owner and status; removes the lease and the marker in the same write. */
export function commitExpr(input: CommitInput): Expr {
  const names: Record<string, string> = {
    '#status': 'status',
    '#at': 'accessToken',
    '#expiresAt': 'expiresAt',
    '#issuedAt': 'issuedAt',
    '#version': 'version',
    '#owner': 'leaseOwner',
    '#leaseExp': 'leaseExpiresAt',
    '#lastRefreshAt': 'lastRefreshAt',
    '#count': 'refreshCount',
    '#trigger': TRIGGER_COUNTER[input.trigger],
    '#next': 'nextProactiveAt',
    '#commitId': 'lastCommitId',
    '#updatedAt': 'updatedAt',
    ...CLEARED_BY_SUCCESS,
  };
  const values: Record<string, unknown> = {
    ':active': 'active',
    ':from': input.expectedStatus,
    ':at': input.accessTokenEnvelope,
    ':expiresAt': input.expiresAt,
    ':issuedAt': input.issuedAt,
    ':expected': input.expectedVersion,
    ':next': input.expectedVersion + 1,
    ':me': input.owner,
    ':now': input.now,
    ':one': 1,
    ':nextProactiveAt': input.nextProactiveAt,
    ':commitId': input.commitId,
  };
  let set =
    'SET #status = :active, #at = :at, #expiresAt = :expiresAt, #issuedAt = :issuedAt, #version = :next, ' +
    '#lastRefreshAt = :now, #next = :nextProactiveAt, #commitId = :commitId, #updatedAt = :now';
  if (input.refreshTokenEnvelope !== undefined) {
    names['#rt'] = 'refreshToken';
    values[':rt'] = input.refreshTokenEnvelope;
    set += ', #rt = :rt';
  }
  if (input.bootstrapFingerprint !== undefined) {
    names['#bootstrap'] = 'bootstrapFingerprint';
    values[':bootstrap'] = input.bootstrapFingerprint;
    set += ', #bootstrap = :bootstrap';
  }
  // Due for the sweeper at expiry; at once while an event waits in the outbox.
  set += due(names, values, input.connectionId, input.event ? input.now : input.expiresAt);
  if (input.event !== undefined) {
    set += `${withEvent(names, values, input.event)}, #tid = :tid`;
    names['#tid'] = 'lastTransitionId';
    values[':tid'] = input.event.eventId;
  }
  return {
    UpdateExpression: `${set} ADD #count :one, #trigger :one REMOVE ${Object.keys(CLEARED_BY_SUCCESS).join(', ')}`,
    ConditionExpression: '#version = :expected AND #owner = :me AND #status = :from',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** `leaseOwner = me AND status = from`, the lease and marker removed, the event in the outbox. */
export function reauthExpr(t: ReauthTransition): Expr {
  const names: Record<string, string> = {
    '#status': 'status',
    '#lastError': 'lastError',
    '#lastErrorAt': 'lastErrorAt',
    '#updatedAt': 'updatedAt',
    '#tid': 'lastTransitionId',
    '#next': 'nextProactiveAt',
    ...LEASE_MARKER_AND_RETRY,
  };
  const values: Record<string, unknown> = {
    ':status': 'needs_reauth',
    ':from': t.from,
    ':reason': maskSecrets(t.reason),
    ':now': t.now,
    ':tid': t.transitionId,
    ':me': t.owner,
  };
  let set =
    'SET #status = :status, #lastError = :reason, #lastErrorAt = :now, #updatedAt = :now, #tid = :tid';
  const remove = ['#next', '#owner', '#leaseExp', '#inflight', '#inflightAt', '#inflightFp'];
  if (t.retry) {
    set += ', #autoRetry = :true, #retryAt = :retryAt, #retryCount = :retryCount';
    Object.assign(values, { ':true': true, ':retryAt': t.retry.at, ':retryCount': t.retry.count });
  } else {
    remove.push('#autoRetry', '#retryAt', '#retryCount');
  }
  if (t.event !== undefined) set += withEvent(names, values, t.event);
  if (t.spentFingerprint !== undefined) {
    names['#spent'] = 'spentFingerprints';
    values[':spent'] = [t.spentFingerprint];
    values[':emptyList'] = [];
    set += ', #spent = list_append(if_not_exists(#spent, :emptyList), :spent)';
  }
  const dueAt = t.event !== undefined ? t.now : t.retry?.at;
  if (dueAt !== undefined) set += due(names, values, t.connectionId, dueAt);
  else {
    names['#dueAt'] = 'dueAt'; // terminal: out of the sweeper's index
    remove.push('#dueAt');
  }
  return setAndRemove(set, remove, '#owner = :me AND #status = :from', names, values);
}

/** Owner-conditioned; the marker is cleared only when nothing rotating may have been consumed. */
export function failureExpr(f: FailureRecord): Expr {
  const names: Record<string, string> = {
    '#lastError': 'lastError',
    '#lastErrorAt': 'lastErrorAt',
    '#updatedAt': 'updatedAt',
    '#owner': 'leaseOwner',
    '#leaseExp': 'leaseExpiresAt',
  };
  const values: Record<string, unknown> = { ':msg': maskSecrets(f.message), ':now': f.now, ':me': f.owner };
  let set = 'SET #lastError = :msg, #lastErrorAt = :now, #updatedAt = :now';
  const remove = ['#owner', '#leaseExp'];
  if (f.retry) {
    Object.assign(names, { '#retryAt': 'retryAt', '#retryCount': 'retryCount' });
    Object.assign(values, { ':retryAt': f.retry.at, ':retryCount': f.retry.count });
    set += `, #retryAt = :retryAt, #retryCount = :retryCount${due(names, values, f.connectionId, f.retry.at)}`;
  }
  if (f.clearMarker) {
    Object.assign(names, {
      '#inflight': 'refreshInFlight',
      '#inflightAt': 'refreshInFlightAt',
      '#inflightFp': 'refreshInFlightFingerprint',
    });
    remove.push('#inflight', '#inflightAt', '#inflightFp');
  }
  return setAndRemove(set, remove, '#owner = :me', names, values);
}

/** Back to the item's own due time (expiry, retry) or out of the index, once its outbox is empty. */
export function settleDueExpr(item: ConnectionItem): Expr {
  const names: Record<string, string> = { '#outbox': 'outbox' };
  const values: Record<string, unknown> = {};
  const at = item.status === 'active' ? item.expiresAt : item.autoRetry ? item.retryAt : undefined;
  let update: string;
  if (at === undefined) {
    names['#dueAt'] = 'dueAt';
    update = 'REMOVE #dueAt';
  } else {
    update = `SET ${due(names, values, item.connectionId, at).slice(2)}`;
  }
  return {
    UpdateExpression: update,
    ConditionExpression: 'size(#outbox) = :zero',
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: { ...values, ':zero': 0 },
  };
}

/** What a successful commit removes: the lease, the marker, the last error and any auto-retry state. */
/** What a transition takes off the item: the lease, the in-flight marker and the auto-retry state. */
const LEASE_MARKER_AND_RETRY: Record<string, string> = {
  '#owner': 'leaseOwner',
  '#leaseExp': 'leaseExpiresAt',
  '#inflight': 'refreshInFlight',
  '#inflightAt': 'refreshInFlightAt',
  '#inflightFp': 'refreshInFlightFingerprint',
  '#autoRetry': 'autoRetry',
  '#retryAt': 'retryAt',
  '#retryCount': 'retryCount',
};

const CLEARED_BY_SUCCESS: Record<string, string> = {
  ...LEASE_MARKER_AND_RETRY,
  '#lastError': 'lastError',
  '#lastErrorAt': 'lastErrorAt',
};

/** The item's place in the due index: its shard (stable per connection) and when it is due. */
function due(
  names: Record<string, string>,
  values: Record<string, unknown>,
  connectionId: string,
  at: number,
): string {
  names['#dueShard'] = CONNECTION_DUE_INDEX.partitionKey;
  names['#dueAt'] = CONNECTION_DUE_INDEX.sortKey;
  values[':dueShard'] = `due#${createHash('sha256').update(connectionId).digest()[0]! % DUE_SHARDS}`;
  values[':dueAt'] = at;
  return ', #dueShard = :dueShard, #dueAt = :dueAt';
}

/** Appends the transition's event to the outbox, in the transition's own write. */
function withEvent(
  names: Record<string, string>,
  values: Record<string, unknown>,
  event: OutboxEvent,
): string {
  names['#outbox'] = 'outbox';
  values[':event'] = [event];
  values[':emptyList'] = [];
  return ', #outbox = list_append(if_not_exists(#outbox, :emptyList), :event)';
}

/** One conditional UpdateItem of SET clauses plus REMOVE clauses. */
function setAndRemove(
  set: string,
  remove: string[],
  condition: string,
  names: Record<string, string>,
  values: Record<string, unknown>,
): Expr {
  return {
    UpdateExpression: `${set} REMOVE ${remove.join(', ')}`,
    ConditionExpression: condition,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}
