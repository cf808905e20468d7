import type { EventType, GrantType, RefreshTrigger } from '../../ports.ts';

export type ConnectionStatus = 'active' | 'needs_reauth' | 'disabled';

/**
 * One DynamoDB item per connection (table CONNECTION_TABLE, partition key `connectionId`). It holds the
 * token pair (as envelopes, never plaintext), the fencing number and the refresh lease.
 */
export interface ConnectionItem {
  connectionId: string;
  status: ConnectionStatus;
  secretId: string;
  grant: GrantType;
  /** Envelope (crypto/envelope.ts) of the current access token. */
  accessToken?: string;
  /** Envelope of the current refresh token (refresh_token grant only). */
  refreshToken?: string;
  /** Epoch ms, our clock. */
  expiresAt?: number;
  issuedAt?: number;
  /** Fencing number: +1 per committed token; IssuedToken.version. */
  version: number;
  leaseOwner?: string;
  leaseExpiresAt?: number;
  lastRefreshAt?: number;
  refreshCount: number;
  refreshesProactive: number;
  refreshesJit: number;
  refreshesAfterUnauthorized: number;
  refreshesSweep: number;
  refreshesConnect: number;
  /** Times a caller found the lease taken and waited instead of refreshing. */
  leaseContention: number;
  /** Masked. */
  lastError?: string;
  lastErrorAt?: number;
  /** When the one-time proactive schedule should fire (epoch ms). */
  nextProactiveAt?: number;
  /** Random id of the commit that produced `version`: lets a retried commit recognise its own write. */
  lastCommitId?: string;
  /** Short SHA-256 of the bootstrap refresh token `connect` last used: a spent one is never replayed. */
  bootstrapFingerprint?: string;
  /**
   * Durable in-flight marker (invariant 2): the lease owner that is sending the stored refresh token
   * right now. Written before the POST, removed by the commit or the failure record. A new lease holder
   * that finds one knows a refresh_token request may have reached the IdP with an unknown outcome.
   */
  refreshInFlight?: string;
  refreshInFlightAt?: number;
  /** Fingerprint of the refresh token that marker is about (the bootstrap one on `connect`). */
  refreshInFlightFingerprint?: string;
  /**
   * Fingerprints of refresh tokens that may have reached the IdP when the connection went to
   * needs_reauth: they outlive the marker, so `connect` with the same secret never replays one.
   */
  spentFingerprints?: string[];
  /** needs_reauth that a later success can undo (no rotating secret consumed): the sweeper retries it. */
  autoRetry?: boolean;
  retryAt?: number;
  retryCount?: number;
  /** Id of the event of the last status transition: a retried transition write recognises itself. */
  lastTransitionId?: string;
  /** Transactional outbox: events written with the transition, published (at least once) then removed. */
  outbox: OutboxEvent[];
  updatedAt: number;
  createdAt?: number;
}

/** One event waiting in a connection's outbox; `eventId` is stable, so consumers can drop a redelivery. */
export interface OutboxEvent {
  eventId: string;
  type: EventType;
  detail: Record<string, unknown>;
  at: number;
}

export const TRIGGER_COUNTER = {
  proactive: 'refreshesProactive',
  jit: 'refreshesJit',
  afterUnauthorized: 'refreshesAfterUnauthorized',
  sweep: 'refreshesSweep',
  connect: 'refreshesConnect',
} as const satisfies Record<RefreshTrigger, keyof ConnectionItem>;

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Reads an item as stored, defaulting counters an older item may not have. */
export function toConnectionItem(raw: Record<string, unknown>): ConnectionItem {
  return {
    connectionId: String(raw.connectionId),
    status: (str(raw.status) as ConnectionStatus | undefined) ?? 'needs_reauth',
    secretId: str(raw.secretId) ?? '',
    grant: (str(raw.grant) as GrantType | undefined) ?? 'refresh_token',
    accessToken: str(raw.accessToken),
    refreshToken: str(raw.refreshToken),
    expiresAt: num(raw.expiresAt),
    issuedAt: num(raw.issuedAt),
    version: num(raw.version) ?? 0,
    leaseOwner: str(raw.leaseOwner),
    leaseExpiresAt: num(raw.leaseExpiresAt),
    lastRefreshAt: num(raw.lastRefreshAt),
    refreshCount: num(raw.refreshCount) ?? 0,
    refreshesProactive: num(raw.refreshesProactive) ?? 0,
    refreshesJit: num(raw.refreshesJit) ?? 0,
    refreshesAfterUnauthorized: num(raw.refreshesAfterUnauthorized) ?? 0,
    refreshesSweep: num(raw.refreshesSweep) ?? 0,
    refreshesConnect: num(raw.refreshesConnect) ?? 0,
    leaseContention: num(raw.leaseContention) ?? 0,
    lastError: str(raw.lastError),
    lastErrorAt: num(raw.lastErrorAt),
    nextProactiveAt: num(raw.nextProactiveAt),
    lastCommitId: str(raw.lastCommitId),
    bootstrapFingerprint: str(raw.bootstrapFingerprint),
    refreshInFlight: str(raw.refreshInFlight),
    refreshInFlightAt: num(raw.refreshInFlightAt),
    refreshInFlightFingerprint: str(raw.refreshInFlightFingerprint),
    spentFingerprints: Array.isArray(raw.spentFingerprints)
      ? raw.spentFingerprints.filter((f): f is string => typeof f === 'string')
      : undefined,
    autoRetry: raw.autoRetry === true ? true : undefined,
    retryAt: num(raw.retryAt),
    retryCount: num(raw.retryCount),
    lastTransitionId: str(raw.lastTransitionId),
    outbox: Array.isArray(raw.outbox) ? (raw.outbox as OutboxEvent[]) : [],
    updatedAt: num(raw.updatedAt) ?? 0,
    createdAt: num(raw.createdAt),
  };
}

/** What `status` lists: everything operators need, no token and no envelope. */
export interface ConnectionView {
  connectionId: string;
  status: ConnectionStatus;
  grant: GrantType;
  secretId: string;
  version: number;
  hasAccessToken: boolean;
  hasRefreshToken: boolean;
  expiresAt?: string;
  expiresInSeconds?: number;
  lastRefreshAt?: string;
  nextProactiveAt?: string;
  refreshCount: number;
  refreshes: Record<keyof typeof TRIGGER_COUNTER, number>;
  leaseContention: number;
  leaseHeld: boolean;
  /** A refresh_token request whose outcome is not recorded yet (never the token itself). */
  refreshInFlight: boolean;
  autoRetry: boolean;
  pendingEvents: number;
  lastError?: string;
  updatedAt: string;
}

const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

export function toConnectionView(item: ConnectionItem, now: number): ConnectionView {
  return {
    connectionId: item.connectionId,
    status: item.status,
    grant: item.grant,
    secretId: item.secretId,
    version: item.version,
    hasAccessToken: item.accessToken !== undefined,
    hasRefreshToken: item.refreshToken !== undefined,
    expiresAt: iso(item.expiresAt),
    expiresInSeconds: item.expiresAt === undefined ? undefined : Math.round((item.expiresAt - now) / 1000),
    lastRefreshAt: iso(item.lastRefreshAt),
    nextProactiveAt: iso(item.nextProactiveAt),
    refreshCount: item.refreshCount,
    refreshes: {
      proactive: item.refreshesProactive,
      jit: item.refreshesJit,
      afterUnauthorized: item.refreshesAfterUnauthorized,
      sweep: item.refreshesSweep,
      connect: item.refreshesConnect,
    },
    leaseContention: item.leaseContention,
    leaseHeld: item.leaseOwner !== undefined && (item.leaseExpiresAt ?? 0) > now,
    refreshInFlight: item.refreshInFlight !== undefined,
    autoRetry: item.autoRetry === true,
    pendingEvents: item.outbox.length,
    lastError: item.lastError,
    updatedAt: iso(item.updatedAt) ?? new Date(0).toISOString(),
  };
}

/**
 * The connection item's attributes that hold no token (everything toConnectionView reads except the
 * two envelopes). People read the connection's state with exactly these: the run-operator policy
 * allows GetItem on the connection table for these attributes only (dynamodb:Attributes).
 */
export const CONNECTION_PUBLIC_ATTRIBUTES = [
  'connectionId',
  'status',
  'grant',
  'secretId',
  'version',
  'expiresAt',
  'lastRefreshAt',
  'nextProactiveAt',
  'refreshCount',
  'refreshesProactive',
  'refreshesJit',
  'refreshesAfterUnauthorized',
  'refreshesSweep',
  'refreshesConnect',
  'leaseContention',
  'leaseOwner',
  'leaseExpiresAt',
  'refreshInFlight',
  'autoRetry',
  'outbox',
  'lastError',
  'updatedAt',
] as const;

/** toConnectionView of an item read with CONNECTION_PUBLIC_ATTRIBUTES only (no envelope to look at). */
export function toPublicConnectionView(
  item: Partial<ConnectionItem> & Pick<ConnectionItem, 'connectionId'>,
  now: number,
): Omit<ConnectionView, 'hasAccessToken' | 'hasRefreshToken'> {
  const {
    hasAccessToken: _a,
    hasRefreshToken: _r,
    ...view
  } = toConnectionView({ outbox: [], refreshCount: 0, ...item } as ConnectionItem, now);
  return view;
}
